from __future__ import annotations

from tests.conftest_db import db_url, engine, postgres_admin, store  # noqa: F401

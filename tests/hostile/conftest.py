from __future__ import annotations

from tests.conftest_db import db_url, postgres_admin  # noqa: F401

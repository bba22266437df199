from __future__ import annotations

from tests.conftest_db import postgres_admin  # noqa: F401

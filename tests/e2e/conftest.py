from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service, running_service


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:  # noqa: F811
    with running_service(db_url) as running:
        yield running

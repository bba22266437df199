"""One running service (Jira sandbox, and SQLite or PostgreSQL) per test module: the inbox
tests share it and keep to their own actions (each test submits what it looks at)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import DB_KINDS, database_url
from tests.conftest_db import postgres_admin  # noqa: F401
from tests.helpers.service import Service, running_service
from tests.web.browser import browser, new_page  # noqa: F401  (the browser fixtures)
from tests.web.helpers import Browserless, inbox_overrides


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("inbox")
    with (
        database_url(request, request.param, directory) as url,
        running_service(url, **inbox_overrides()) as running,
    ):
        yield running


@pytest.fixture
def alice(service: Service) -> Iterator[Browserless]:
    reviewer = Browserless(service)
    assert reviewer.signin("lead-alice").status_code == 303
    yield reviewer
    reviewer.close()


@pytest.fixture
def carol(service: Service) -> Iterator[Browserless]:
    reviewer = Browserless(service)
    assert reviewer.signin("pm-carol").status_code == 303
    yield reviewer
    reviewer.close()

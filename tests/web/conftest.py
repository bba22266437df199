"""One running service (SQLite, Jira sandbox) per test module: the inbox tests share it and
keep to their own actions (each test submits what it looks at)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.service import Service, running_service
from tests.web.helpers import Browserless, inbox_overrides


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    db: Path = tmp_path_factory.mktemp("inbox") / "jiragate.db"
    with running_service(f"sqlite:///{db}", **inbox_overrides()) as running:
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

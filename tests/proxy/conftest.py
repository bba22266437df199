from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import KEYS, Service, running_service

AGENT_KEY = KEYS["log-triage-bot"]


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:  # noqa: F811
    # A short hold, so the tests see both "decided in time" and "still pending".
    with running_service(db_url, proxy_wait_seconds=0.5) as running:
        yield running


@pytest.fixture
def jira(service: Service) -> Iterator[httpx.Client]:
    """The proxy as a Jira client sees it: the service's root, the agent key as a PAT."""
    with httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {AGENT_KEY}"}, timeout=30
    ) as client:
        yield client

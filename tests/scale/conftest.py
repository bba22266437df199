"""Fixtures for multi-process tests: a Jira sandbox every process reaches over loopback, and
fresh databases (a PostgreSQL schema, or a SQLite file) that separate processes can share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.api.support import database_url
from tests.conftest_db import postgres_admin  # noqa: F401
from tests.helpers.servers import serve_app


@pytest.fixture
def sandbox() -> Iterator[tuple[str, SandboxState]]:
    """A Jira sandbox in a uvicorn thread of the test process: every replica and worker
    reaches it at its loopback URL; the test inspects its state directly."""
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[tuple[str, SandboxState]]:
    """One Jira sandbox for the processes a module shares (see `shared_cluster`); its tests
    ask for `reset_sandbox` to see only their own requests."""
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


@pytest.fixture
def reset_sandbox(module_sandbox: tuple[str, SandboxState]) -> tuple[str, SandboxState]:
    """The module's sandbox back at its seed data, with no faults and an empty request log."""
    module_sandbox[1].reset()
    return module_sandbox


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request, "postgres", tmp_path) as url:
        yield url

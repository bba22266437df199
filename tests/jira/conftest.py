"""Shared Jira fixtures: one sandbox server per session, reset before each test that uses it.

`sandbox` gives `(base_url, state)`; `jira` the same as a `Site` that accepts only the
adapter tests' credentials (`EMAIL`/`API_TOKEN` on Cloud, `PAT` on Data Center).
`jira_http` is an httpx client (Cloud Basic auth) whose hooks check the contract on every
call: each response body against Atlassian's spec (`validate_response`), and each request
body the sandbox *accepted* (2xx) against the spec (`validate_request`). Problems fail the
test at teardown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from jiragate.jira import spec
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app

SANDBOX_EMAIL = "alice@example.com"
SANDBOX_TOKEN = "sandbox-token-not-a-secret"
EMAIL = "alice@example.com"
API_TOKEN = "sandbox-token-not-a-secret"
PAT = "sandbox-pat-not-a-secret"


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as base_url:
        yield base_url, state


@pytest.fixture
def sandbox(_sandbox_server: tuple[str, SandboxState]) -> tuple[str, SandboxState]:
    base_url, state = _sandbox_server
    state.reset()
    state.basic_auth = None
    state.bearer_token = None
    return base_url, state


@dataclass
class Site:
    url: str
    state: SandboxState


@pytest.fixture
def jira(sandbox: tuple[str, SandboxState]) -> Site:
    """The shared sandbox, reset, accepting only the adapter tests' credentials."""
    base_url, state = sandbox
    state.basic_auth = (EMAIL, API_TOKEN)
    state.bearer_token = PAT
    return Site(base_url, state)


class ContractRecorder:
    """Collects contract problems seen by the client hooks."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked = 0

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if path.startswith("/_sandbox") or response.headers.get("X-Sandbox-Fault"):
            return  # control calls and injected faults are not Jira's answers
        response.read()
        body = response.json() if response.content else None
        where = f"{request.method} {path} -> {response.status_code}"
        for problem in spec.validate_response(request.method, path, response.status_code, body):
            self.problems.append(f"{where}: {problem}")
        if response.is_success:
            sent: Any = json.loads(request.content) if request.content else None
            query = dict(request.url.params.multi_items())
            for problem in spec.validate_request(request.method, path, query=query, body=sent):
                self.problems.append(f"{where} accepted an invalid request: {problem}")
        self.checked += 1


@pytest.fixture
def contract() -> ContractRecorder:
    return ContractRecorder()


@pytest.fixture
def jira_http(
    sandbox: tuple[str, SandboxState], contract: ContractRecorder
) -> Iterator[httpx.Client]:
    base_url, _ = sandbox
    with httpx.Client(
        base_url=base_url,
        auth=(SANDBOX_EMAIL, SANDBOX_TOKEN),
        event_hooks={"response": [contract.check]},
        timeout=10.0,
    ) as client:
        yield client
    assert contract.problems == []

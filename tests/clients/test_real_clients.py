"""Real Jira clients that no one here wrote, unchanged, against the sandbox.

pycontribs `jira`, `atlassian-python-api` and the `mcp-atlassian` MCP server (driven over
stdio by the official `mcp` client) run their common reads and writes against a sandbox served
by uvicorn in this process, once per site profile: Cloud (Basic email + API token) and Data
Center (a bearer personal access token). Their dependencies conflict with ours, so they live in
`.venv-clients/` (built by `.ci/install-test-deps` from `requirements/clients.txt`) and run as
subprocesses (tests/clients/scripts/). Each script prints what every call did; the test wants
every call to succeed and then checks the writes in the sandbox's state.

Without `.venv-clients/` these tests skip with the reason locally and fail in CI (`CI` set).
Every subprocess gets a proxy that does not exist for anything but 127.0.0.1, so no client can
reach the internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
CLIENTS_PYTHON = Path(
    os.environ.get("JIRAGATE_CLIENTS_PYTHON", REPO_ROOT / ".venv-clients/bin/python")
)
BOB = "5b10a2844c20165700ede21b"
MODES = {"cloud": "cloud", "server": "datacenter"}  # the clients' word -> the sandbox profile


@pytest.fixture(scope="module")
def clients_python() -> Path:
    if not CLIENTS_PYTHON.exists():
        reason = f"{CLIENTS_PYTHON} is missing: run .ci/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CLIENTS_PYTHON


@pytest.fixture(params=sorted(MODES))
def site(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, SandboxState]]:
    mode = str(request.param)
    state = SandboxState(profile=MODES[mode])
    with serve_app(create_sandbox_app(state)) as url:
        yield mode, url, state


def loopback_env() -> dict[str, str]:
    """The environment of a client subprocess: no route but loopback, only its own venv."""
    env = {
        **os.environ,
        # Anything but loopback goes to a proxy that is not there.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    # The scripts import only the clients' venv (and common.py beside them, on sys.path[0]).
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def run_client(python: Path, script: str, url: str, mode: str, tag: str) -> dict[str, str]:
    env = loopback_env()
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), url, mode, tag],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"{script} exited {done.returncode}:\n{done.stderr}"
    report: dict[str, str] = json.loads(lines[-1])
    failed = {name: outcome for name, outcome in report.items() if outcome != "ok"}
    print(f"{script} {mode}: {len(report) - len(failed)}/{len(report)} calls succeeded")
    assert failed == {}, (
        f"{len(failed)} of {len(report)} calls failed: {failed}\n{done.stderr[-4000:]}"
    )
    return report


def tagged(state: SandboxState, tag: str) -> Any:
    with state.lock:
        found = [issue for issue in state.issues.values() if tag in issue.labels]
    assert len(found) == 1, f"expected one issue labelled {tag}, found {found}"
    return found[0]


def test_pycontribs_jira(clients_python: Path, site: tuple[str, str, SandboxState]) -> None:
    mode, url, state = site
    tag = f"pyc-{uuid.uuid4().hex[:8]}"
    report = run_client(clients_python, "pycontribs_jira.py", url, mode, tag)
    assert len(report) >= 29
    issue = tagged(state, tag)
    with state.lock:
        assert issue.summary == f"updated by pycontribs {tag}"
        assert issue.status == "In Progress"
        assert (issue.assignee, issue.sprint_id) == (BOB, 102)
        assert [c for c in issue.comments if f"comment {tag}" in json.dumps(c.body)]
        assert [w["timeSpentSeconds"] for w in issue.worklogs] == [5400]
        assert issue.watchers == [BOB]
        assert [(link["type"], link.get("outwardIssue")) for link in issue.links] == [
            ("10000", "ENG-2")
        ]
    # The Cloud client spoke v2 to a Cloud site, the DC client v2 with a bearer token.
    schemes = {entry.auth for entry in state.logged()}
    assert schemes == ({"basic"} if mode == "cloud" else {"bearer"})


def test_atlassian_python_api(clients_python: Path, site: tuple[str, str, SandboxState]) -> None:
    mode, url, state = site
    tag = f"apa-{uuid.uuid4().hex[:8]}"
    report = run_client(clients_python, "atlassian_api.py", url, mode, tag)
    assert len(report) >= 26
    issue = tagged(state, tag)
    with state.lock:
        assert issue.summary == f"updated by atlassian {tag}"
        assert issue.status == "In Progress"
        assert (issue.assignee, issue.sprint_id) == (BOB, 102)
        assert [w["timeSpentSeconds"] for w in issue.worklogs] == [3600]
        assert len(issue.comments) == 1


@pytest.mark.parametrize("mode", ["cloud", "server"], ids=["basic-auth", "personal-token"])
def test_mcp_atlassian(clients_python: Path, mode: str) -> None:
    """mcp-atlassian takes every loopback URL for Server/Data Center (it decides by host
    name), so both of its runs are against the datacenter profile: with Cloud-style Basic
    credentials (JIRA_USERNAME + JIRA_API_TOKEN) and with a personal access token."""
    state = SandboxState(profile="datacenter")
    tag = f"mcp-{uuid.uuid4().hex[:8]}"
    with serve_app(create_sandbox_app(state)) as url:
        report = run_client(clients_python, "mcp_server.py", url, mode, tag)
    assert len(report) >= 25
    issue = tagged(state, tag)
    with state.lock:
        assert issue.summary == f"updated by mcp {tag}"
        assert issue.status == "In Progress"
        assert [c for c in issue.comments if f"mcp {tag}" in json.dumps(c.body)]
        assert issue.description is not None
        assert [w["timeSpentSeconds"] for w in issue.worklogs] == [7200]
        assert issue.watchers == ["5b10a2844c20165700ede21b"]
        assert [link.get("outwardIssue") for link in issue.links] == ["ENG-2"]
        assert issue.sprint_id == 102
        # Its Jira Service Management tools read OPS's desk and raised a request there.
        (request,) = [i for i in state.issues.values() if i.summary == f"raised by mcp {tag}"]
        assert (request.project_key, request.request_type_id) == ("OPS", 11)
    assert {entry.auth for entry in state.logged()} == (
        {"basic"} if mode == "cloud" else {"bearer"}
    )


def test_clients_venv_comes_from_the_lock() -> None:
    """The lock pins the three clients the suite runs."""
    lock = (REPO_ROOT / "requirements/clients.txt").read_text(encoding="utf-8")
    for name in ("jira", "atlassian-python-api", "mcp-atlassian", "mcp"):
        assert any(line.startswith(f"{name}==") for line in lock.splitlines()), name
    assert sys.version_info >= (3, 11)

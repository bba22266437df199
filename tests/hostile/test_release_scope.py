"""Releases stay inside the project the policy saw, and a release is created once.

Found by the attack run against real `jiragate serve` processes:

- `jira_update_release` and `jira_release_version` name a `projectKey` (what policies and
  reviewers see) and a `versionId` (what the adapter changes). Nothing tied the two: with
  `project: OPS` denied, an agent sent `projectKey: ENG` with the id of an OPS version; an
  engineering reviewer approved "an ENG release edit", and the OPS version was renamed,
  described or released. Only Jira knows a version's project, so the adapter now checks it
  before the write and refuses a version of another project (the action ends `failed`, the
  version untouched).
- `jira_create_release` after a dropped answer asked `GET /project/{key}/versions` whether
  the version existed; the sandbox had no such endpoint (Jira has), so the check failed, the
  action was retried, the POST went to Jira a second time and the action ended `failed`
  although its release existed. The sandbox now serves it (and `GET /version/{id}`), and the
  release is created once and reported `executed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from tests.conftest_db import DB_KINDS, postgres_admin  # noqa: F401
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.scale.cluster import AGENT, Cluster, shared_cluster, wait_until
from tests.scale.conftest import module_sandbox, reset_sandbox  # noqa: F401

OPS_PROJECT_ID = 10001
PM = "pm-carol"  # releases are routed to project managers


@pytest.fixture(scope="module", params=DB_KINDS)
def replica(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_sandbox: tuple[str, SandboxState],  # noqa: F811
) -> Iterator[tuple[Cluster, Any]]:
    """A real `jiragate serve` (with its worker) per database, shared by the module's tests:
    starting it is most of a test's time. Each test waits for its action to end."""
    directory: Path = tmp_path_factory.mktemp("release-scope")
    with shared_cluster(
        request,
        directory,
        module_sandbox[0],
        policy_dir=str(copy_policies_denying_ops(directory)),
        execution_retry_seconds=0.2,
    ) as c:
        yield c, c.serve("replica", worker=True)


@pytest.fixture
def sandbox(reset_sandbox: tuple[str, SandboxState]) -> tuple[str, SandboxState]:  # noqa: F811
    """The module's sandbox, reset for each test: it sees only its own requests."""
    return reset_sandbox


@pytest.fixture
def gate(replica: tuple[Cluster, Any], sandbox: tuple[str, SandboxState]) -> tuple[Cluster, Any]:
    return replica


def _ops_version(jira_url: str, name: str) -> str:
    created = httpx.post(
        f"{jira_url}/rest/api/3/version",
        json={"name": name, "projectId": OPS_PROJECT_ID, "description": "OPS owns this"},
        auth=("carol@example.com", "token"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _approved_and_final(c: Cluster, replica: Any, action: str, details: dict[str, Any]) -> Any:
    agent, pm = c.client(replica, AGENT), c.client(replica, PM)
    submitted = agent.post(
        "/v1/actions", json={"action": action, "summary": "s", "details": details}
    )
    assert submitted.status_code == 202, submitted.text
    action_id = submitted.json()["id"]
    decided = pm.post(f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"})
    assert decided.status_code == 200, decided.text

    def final() -> Any:
        view = agent.get(f"/v1/actions/{action_id}").json()
        return view if view["status"] not in ("approved", "executing") else None

    return wait_until(final, timeout=30, what=f"{action} to end")


@pytest.mark.parametrize(
    ("action", "change"),
    [
        ("jira_update_release", {"description": "rewritten through ENG"}),
        ("jira_update_release", {"name": "renamed-through-eng"}),
        ("jira_release_version", {"releaseDate": "2030-01-01"}),
    ],
)
def test_a_version_of_another_project_is_never_changed(
    gate: tuple[Cluster, Any],
    sandbox: tuple[str, SandboxState],
    action: str,
    change: dict[str, Any],
) -> None:
    c, replica = gate
    jira_url, state = sandbox
    version_id = _ops_version(jira_url, "ops-2.0")
    agent = c.client(replica, AGENT)
    direct = agent.post(
        "/v1/actions",
        json={
            "action": action,
            "summary": "s",
            "details": {"projectKey": "OPS", "versionId": version_id, **change},
        },
    )
    assert direct.status_code == 403  # the rule works when the project is named honestly

    final = _approved_and_final(
        c, replica, action, {"projectKey": "ENG", "versionId": version_id, **change}
    )
    assert final["status"] == "failed", final
    assert f"version {version_id} is not in project ENG" in final["error"] + str(final["result"])
    with state.lock:
        version = state.versions[int(version_id)]
    assert (version.name, version.description) == ("ops-2.0", "OPS owns this")
    assert version.released is False
    # The version was never written to; the adapter only looked at it.
    writes = [r for r in state.logged() if r.method == "PUT" and "/version/" in r.path]
    assert writes == []


def test_an_own_project_version_is_still_changed(
    gate: tuple[Cluster, Any],
    sandbox: tuple[str, SandboxState],
) -> None:
    c, replica = gate
    _, state = sandbox
    final = _approved_and_final(
        c, replica, "jira_release_version", {"projectKey": "ENG", "versionId": "10101"}
    )
    assert final["status"] == "executed", final
    with state.lock:
        assert state.versions[10101].released is True


def test_a_release_whose_answer_was_lost_is_created_once(
    gate: tuple[Cluster, Any],
    sandbox: tuple[str, SandboxState],
) -> None:
    c, replica = gate
    jira_url, state = sandbox
    armed = httpx.post(
        f"{jira_url}/_sandbox/faults",
        json={
            "match": {"method": "POST", "path": "/rest/api/3/version"},
            "fault": {"kind": "drop", "when": "after"},
        },
    )
    assert armed.status_code in (200, 201), armed.text
    final = _approved_and_final(
        c, replica, "jira_create_release", {"projectKey": "ENG", "name": "3.0-lost-answer"}
    )
    assert final["status"] == "executed", final
    with state.lock:
        named = [v for v in state.versions.values() if v.name == "3.0-lost-answer"]
        posts = [
            r for r in state.logged() if r.method == "POST" and r.path == "/rest/api/3/version"
        ]
    assert len(named) == 1
    assert len(posts) == 1, posts  # never sent again
    assert final["result"]["data"]["version"]["id"] == str(named[0].id)

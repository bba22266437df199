"""Workers killed with SIGKILL at the worst moments: after claiming an action while Jira is
still answering, and between an approval and any claim. After a restart every action
completes exactly once, no approval is lost, and the status tells the truth.

The module shares one `jiragate serve --no-worker` replica per database; each test starts,
kills and restarts its own workers (stopped when it ends) against a sandbox reset for it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.jira.sandbox.state import adf_to_text
from jiragate.store import Store, make_engine
from tests.conftest_db import DB_KINDS
from tests.scale.cluster import AGENT, Cluster, Proc, cluster, shared_cluster, wait_until
from tests.scale.conftest import module_sandbox, reset_sandbox  # noqa: F401

pytestmark = pytest.mark.slow

#: Short enough that a dead worker's claim is taken back quickly, long enough that a live
#: worker's heartbeat (every lease/3) keeps it.
LEASE_SECONDS = 3


@pytest.fixture(scope="module", params=DB_KINDS)
def shared(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_sandbox: tuple[str, SandboxState],  # noqa: F811
) -> Iterator[tuple[Cluster, Proc]]:
    """The replica, per database (starting it was most of each test's time)."""
    directory: Path = tmp_path_factory.mktemp("crashes")
    with shared_cluster(
        request, directory, module_sandbox[0], lease_seconds=LEASE_SECONDS
    ) as running:
        yield running, running.serve("replica")


@pytest.fixture
def sandbox(reset_sandbox: tuple[str, SandboxState]) -> tuple[str, SandboxState]:  # noqa: F811
    """The module's sandbox, reset for each test: it sees only its own requests."""
    return reset_sandbox


def tickets(label: str, count: int = 2) -> dict[str, Any]:
    return {
        "action": "jira_create_tickets",
        "summary": f"crash test: {count} tickets",
        "details": {
            "projectKey": "ENG",
            "issueCount": count,
            "issueType": "Bug",
            "priority": "High",
            "labels": ["ai-generated", label],
        },
    }


def arm(jira_url: str, fault: dict[str, Any]) -> None:
    response = httpx.post(f"{jira_url}/_sandbox/faults", json=fault, timeout=10)
    assert response.status_code in (200, 201), response.text


def labelled(state: SandboxState, label: str) -> list[Any]:
    with state.lock:
        return [issue for issue in state.issues.values() if label in issue.labels]


def audit_types(client: httpx.Client, action_id: str) -> list[str]:
    page = client.get("/v1/audit", params={"action_id": action_id, "limit": 1000})
    assert page.status_code == 200, page.text
    return [event["type"] for event in page.json()["items"]]


def test_a_worker_killed_while_jira_is_answering_is_taken_over_once(
    shared: tuple[Cluster, Proc], sandbox: tuple[str, SandboxState]
):
    jira_url, state = sandbox
    label = f"crash-{uuid.uuid4().hex[:8]}"
    c, replica = shared
    with c.scope():  # the workers this test starts are stopped when it ends
        doomed = c.worker("doomed")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        auditor = c.client(replica, "auditor")
        # Jira takes its time over the bulk create: the worker claims, sends, and dies waiting.
        arm(
            jira_url,
            {
                "match": {"method": "POST", "path": "/rest/api/3/issue/bulk"},
                "times": 1,
                "fault": {"kind": "delay", "seconds": 1.5},
            },
        )
        action = agent.post("/v1/actions", json=tickets(label)).json()
        assert (
            lead.post(
                f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
            ).status_code
            == 200
        )

        def bulk_create_in_flight() -> bool:
            return any(
                e.method == "POST" and e.path.endswith("/issue/bulk") for e in state.logged()
            )

        wait_until(bulk_create_in_flight, what="the worker's bulk create")
        assert agent.get(f"/v1/actions/{action['id']}").json()["status"] == "executing"
        doomed.kill()

        # Jira finishes the lost request; the action stays claimed by a dead worker until its
        # lease runs out, then a new worker takes it over and finds what was created.
        c.worker("successor")
        final = wait_until(
            lambda: (
                view
                if (view := agent.get(f"/v1/actions/{action['id']}").json())["status"]
                in ("executed", "partially_executed", "failed")
                else None
            ),
            what="the successor to finish",
        )
        assert final["status"] == "executed", final
        issues = labelled(state, label)
        assert len(issues) == 2  # the marker check: nothing created twice
        assert sorted(k["key"] for k in final["result"]["created"]) == sorted(i.key for i in issues)
        types = audit_types(auditor, action["id"])
        assert types.count("action.claimed") == 2
        assert "action.lease_expired" in types
        assert types.count("action.executed") == 1
        engine = make_engine(c.settings["database_url"])
        try:
            executions = Store(engine).list_executions(action["id"])
        finally:
            engine.dispose()
        assert [e.attempt for e in executions] == [1, 2]
        assert executions[0].finished_at is None  # the dead worker never came back
        assert executions[1].outcome == "succeeded"


def test_an_approval_with_no_live_worker_waits_and_runs_once_after_restart(
    shared: tuple[Cluster, Proc], sandbox: tuple[str, SandboxState]
):
    _, state = sandbox
    label = f"crash-{uuid.uuid4().hex[:8]}"
    c, replica = shared
    with c.scope():  # the workers this test starts are stopped when it ends
        # Every worker is dead (or none was started yet) when the approval lands.
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-bob")
        action = agent.post("/v1/actions", json=tickets(label, 1)).json()
        lead.post(f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"})
        view = agent.get(f"/v1/actions/{action['id']}").json()
        assert view["status"] == "approved"  # recorded, not lost, not executed
        assert labelled(state, label) == []

        c.worker("successor")
        wait_until(
            lambda: agent.get(f"/v1/actions/{action['id']}").json()["status"] == "executed",
            what="the restarted worker",
        )
        assert len(labelled(state, label)) == 1


CLAIM_AND_HANG = """
import sys, time
from sqlmodel import Session, select
from jiragate.store import make_engine
from jiragate.store.models import ActionRecord, ActionStatus
engine = make_engine(sys.argv[1])
with Session(engine) as session, session.begin():
    record = session.exec(
        select(ActionRecord).where(ActionRecord.status == ActionStatus.APPROVED)
        .limit(1).with_for_update(skip_locked=True)
    ).one()
    record.status = ActionStatus.EXECUTING
    record.claimed_by = "half-dead"
    session.add(record)
    session.flush()
    print("claimed", record.id, flush=True)
    time.sleep(600)
"""


@pytest.mark.postgres
def test_a_worker_killed_inside_its_claim_transaction_loses_nothing(
    tmp_path: Path, postgres_url: str, sandbox: tuple[str, SandboxState]
):
    """The claim is one transaction: killed before COMMIT, PostgreSQL rolls it back, and the
    row its SKIP LOCKED claim held goes to the next worker."""
    jira_url, state = sandbox
    label = f"crash-{uuid.uuid4().hex[:8]}"
    # A cluster of its own on PostgreSQL (whose SKIP LOCKED the claim relies on).
    with cluster(tmp_path, postgres_url, jira_url, lease_seconds=LEASE_SECONDS) as c:
        replica = c.serve("replica")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        action = agent.post("/v1/actions", json=tickets(label, 1)).json()
        lead.post(f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"})
        half = subprocess.Popen(
            [sys.executable, "-c", CLAIM_AND_HANG, postgres_url],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert half.stdout is not None
            line = half.stdout.readline()
            assert line.split() == ["claimed", action["id"]], line
            c.worker("other")  # skips the locked row while the claim is open
            assert agent.get(f"/v1/actions/{action['id']}").json()["status"] == "approved"
        finally:
            half.kill()
            half.wait(timeout=15)
            if half.stdout is not None:
                half.stdout.close()
        wait_until(
            lambda: agent.get(f"/v1/actions/{action['id']}").json()["status"] == "executed",
            what="the other worker after the rollback",
        )
        assert len(labelled(state, label)) == 1


def test_a_worker_killed_while_jira_posts_a_comment_leaves_exactly_one_comment(
    shared: tuple[Cluster, Proc], sandbox: tuple[str, SandboxState]
):
    """A comment has no natural key: the successor must find the dead worker's comment by
    the gateway's marker property instead of posting it again."""
    jira_url, state = sandbox
    text = f"crash note {uuid.uuid4().hex[:8]}"
    c, replica = shared
    with c.scope():  # the workers this test starts are stopped when it ends
        doomed = c.worker("doomed")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        arm(
            jira_url,
            {
                "match": {"method": "POST", "path": "/rest/api/3/issue/ENG-9/comment"},
                "times": 1,
                "fault": {"kind": "delay", "seconds": 1.5},
            },
        )
        envelope = {
            "action": "jira_add_comment",
            "summary": "a note that must appear once",
            "details": {"issueKey": "ENG-9", "body": text},
        }
        action = agent.post("/v1/actions", json=envelope).json()
        decided = lead.post(f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"})
        assert decided.status_code == 200, decided.text

        def comment_in_flight() -> bool:
            return any(
                e.method == "POST" and e.path.endswith("/ENG-9/comment") for e in state.logged()
            )

        wait_until(comment_in_flight, what="the worker's comment POST")
        doomed.kill()  # SIGKILL while Jira is still answering; Jira posts the comment anyway

        c.worker("successor")
        final = wait_until(
            lambda: (
                view
                if (view := agent.get(f"/v1/actions/{action['id']}").json())["status"]
                in ("executed", "failed")
                else None
            ),
            what="the successor to finish",
        )
        assert final["status"] == "executed", final
        with state.lock:
            posted = [c for c in state.issues["ENG-9"].comments if adf_to_text(c.body) == text]
        assert len(posted) == 1, posted
        assert final["result"]["data"] == {"commentId": str(posted[0].id), "recovered": True}
        posts = [e for e in state.logged() if e.method == "POST" and e.path.endswith("/comment")]
        assert len(posts) == 1  # the successor looked, found it, and sent nothing

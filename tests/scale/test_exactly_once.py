"""Several replicas and workers on one PostgreSQL behave as one service: 200 gated actions,
submitted and approved through different replicas at once (two leads racing on every one),
are executed exactly once each, by whichever worker claims them first."""

from __future__ import annotations

import collections
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.store import Store, make_engine
from tests.scale.cluster import AGENT, LEADS, Cluster, cluster, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACTIONS = 200


def one_ticket(label: str, number: int) -> dict[str, Any]:
    return {
        "action": "jira_create_tickets",
        "summary": f"scale test ticket {number}",
        "details": {
            "projectKey": "ENG",
            "issueCount": 1,
            "issueType": "Bug",
            "priority": "High",
            "labels": ["ai-generated", label],
        },
    }


def audit_export(client: httpx.Client) -> list[dict[str, Any]]:
    import json

    response = client.get("/v1/audit/export")
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def start(c: Cluster) -> list[Any]:
    # Three replicas (one also runs the in-process worker) and two dedicated workers.
    replicas = [
        c.serve("replica-0", worker=True, wait=False),
        c.serve("replica-1", wait=False),
        c.serve("replica-2", wait=False),
    ]
    workers = [c.worker("worker-a", wait=False), c.worker("worker-b", wait=False)]
    for replica in replicas:  # started together, so they also race on the migrations
        c.wait_ready(replica)
    for worker in workers:
        c.wait_worker(worker)
    return replicas


def test_200_approvals_through_3_replicas_execute_exactly_once(
    tmp_path: Path, postgres_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, state = sandbox
    label = f"scale-{uuid.uuid4().hex[:8]}"
    with cluster(tmp_path, postgres_url, jira_url) as c:
        replicas = start(c)
        agents = [c.client(r, AGENT) for r in replicas]
        reviewers = {(i, lead): c.client(r, lead) for i, r in enumerate(replicas) for lead in LEADS}

        def submit(n: int) -> str:
            response = agents[n % 3].post("/v1/actions", json=one_ticket(label, n))
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "pending_approval"
            return str(response.json()["id"])

        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(submit, range(ACTIONS)))
        assert len(set(ids)) == ACTIONS

        def vote(job: tuple[int, str, str]) -> tuple[str, int, dict[str, Any]]:
            replica, lead, action_id = job
            response = reviewers[(replica, lead)].post(
                f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
            )
            return action_id, response.status_code, response.json()

        # Both leads approve every action at the same moment, each through another replica.
        jobs = []
        for n, action_id in enumerate(ids):
            jobs.append(((n + 1) % 3, "lead-alice", action_id))
            jobs.append(((n + 2) % 3, "lead-bob", action_id))
        with ThreadPoolExecutor(max_workers=24) as pool:
            votes = list(pool.map(vote, jobs))

        by_action: dict[str, list[tuple[int, dict[str, Any]]]] = collections.defaultdict(list)
        for action_id, status, body in votes:
            by_action[action_id].append((status, body))
        for action_id, answers in by_action.items():
            statuses = sorted(status for status, _ in answers)
            # One vote decides; the other finds the action already decided and is refused.
            assert statuses == [200, 409], (action_id, answers)
            refused = next(body for status, body in answers if status == 409)
            assert refused["error"] == "decision_refused"

        def all_executed() -> bool:
            page = agents[0].get("/v1/actions", params={"limit": 200, "status": "executed"})
            return len(page.json()["items"]) == ACTIONS

        wait_until(all_executed, timeout=120, what="200 executions")

        created = [issue for issue in list(state.issues.values()) if label in issue.labels]
        assert len(created) == ACTIONS
        markers = collections.Counter(
            lab for issue in created for lab in issue.labels if lab.startswith("jiragate-act")
        )
        for action_id in ids:
            assert markers[f"jiragate-{action_id}"] == 1, action_id

        engine = make_engine(postgres_url)
        try:
            store = Store(engine)
            executors = collections.Counter()
            for action_id in ids:
                executions = store.list_executions(action_id)
                assert len(executions) == 1, (action_id, executions)
                assert executions[0].outcome == "succeeded"
                executors[executions[0].worker.rsplit(":", 1)[0]] += 1
                record = store.get_action(action_id)
                assert record is not None and record.attempts == 1
        finally:
            engine.dispose()

        auditor = c.client(replicas[1], "auditor")
        assert auditor.get("/v1/audit/verify").json()["ok"] is True
        events = audit_export(auditor)
        per_action = collections.Counter(
            (e["action_id"], e["type"]) for e in events if e["action_id"] in set(ids)
        )
        for action_id in ids:
            assert per_action[(action_id, "action.submitted")] == 1
            assert per_action[(action_id, "approval.approved")] == 1
            assert per_action[(action_id, "action.claimed")] == 1
            assert per_action[(action_id, "action.executed")] == 1
        for proc in c.procs:
            assert proc.alive, proc.log()
            assert "Traceback" not in proc.log(), proc.log()

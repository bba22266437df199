"""Drift between approval and execution, with real processes: a `jiragate serve` replica
(no worker) records the approval; someone then moves ENG-3 in Jira; only then does a
`jiragate worker` process start. It must not run the stale approval: the action goes back to
its reviewers marked "changed since approval", and replaying the old approval is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.api.support import copy_policies
from tests.helpers.servers import serve_app
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN
from tests.scale.cluster import AGENT, cluster, wait_until

TRANSITION = {
    "action": "jira_transition_issues",
    "summary": "close ENG-3, fixed overnight",
    "details": {"issueKeys": ["ENG-3"], "targetStatus": "Done"},
}


@pytest.fixture
def sandbox() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


def _view(client: httpx.Client, action_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/actions/{action_id}")
    response.raise_for_status()
    return response.json()


def test_a_worker_started_after_eng3_moved_sends_it_back(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
) -> None:
    jira_url, state = sandbox
    with cluster(tmp_path, db_url, jira_url, attribution="property") as c:
        replica = c.serve("replica")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        action = agent.post("/v1/actions", json=TRANSITION).json()
        assert action["status"] == "pending_approval", action
        seen = action["approval"]["snapshot"]
        assert seen["issues"]["ENG-3"]["status"] == "In Progress"
        approval = {"verdict": "approve", "snapshot": seen["hash"]}
        decided = lead.post(f"/v1/approvals/{action['id']}/decision", json=approval)
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "approved"  # no worker yet: it waits, approved

        with httpx.Client(base_url=jira_url, auth=(JIRA_EMAIL, JIRA_TOKEN)) as someone:
            options = someone.get("/rest/api/3/issue/ENG-3/transitions").json()["transitions"]
            review = next(t for t in options if t["to"]["name"] == "In Review")
            moved = someone.post(
                "/rest/api/3/issue/ENG-3/transitions", json={"transition": {"id": review["id"]}}
            )
            assert moved.status_code == 204, moved.text

        c.worker("worker")
        back = wait_until(
            lambda: (
                (v := _view(agent, action["id"]))["status"] not in ("approved", "executing") and v
            ),
            what="the worker to take the approved action",
        )
        assert back["status"] == "pending_approval", back
        assert back["approval"]["changed_since_approval"] == [
            {"target": "ENG-3", "field": "status", "before": "In Progress", "after": "In Review"}
        ]
        with state.lock:
            assert state.issues["ENG-3"].status == "In Review"  # it did not run
            assert "jiragate.attribution" not in state.issues["ENG-3"].properties

        # Replaying the approval that was given on the old snapshot is refused.
        replay = lead.post(f"/v1/approvals/{action['id']}/decision", json=approval)
        assert replay.status_code == 409, replay.text
        assert "stale snapshot" in replay.json()["message"]

        # Approved again on what Jira is now, it runs once and is attributed in Jira.
        fresh = {"verdict": "approve", "snapshot": back["approval"]["snapshot"]["hash"]}
        again = lead.post(f"/v1/approvals/{action['id']}/decision", json=fresh)
        assert again.status_code == 200, again.text
        done = wait_until(
            lambda: (v := _view(agent, action["id"]))["status"] in ("executed", "failed") and v,
            what="the execution",
        )
        assert done["status"] == "executed", done
        with state.lock:
            assert state.issues["ENG-3"].status == "Done"
            assert state.issues["ENG-3"].properties["jiragate.attribution"] == {
                "agent": AGENT,
                "approvers": ["lead-alice"],
                "action_id": action["id"],
            }


def test_an_approval_does_not_carry_over_to_a_policy_that_now_denies_it(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
) -> None:
    jira_url, state = sandbox
    policy_dir = copy_policies(tmp_path)
    with cluster(tmp_path, db_url, jira_url, policy_dir=str(policy_dir)) as c:
        replica = c.serve("replica")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        action = agent.post("/v1/actions", json=TRANSITION).json()
        decided = lead.post(f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"})
        assert decided.json()["status"] == "approved", decided.text

        # The approval was given under one revision; a stricter one is deployed before it runs.
        path = policy_dir / "workflow.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rule = next(r for r in data["rules"] if r["id"] == "transitions")
        rule["decision"] = "deny"
        rule.pop("route_to")
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        reloaded = c.client(replica, "auditor").post("/v1/policies/reload")
        assert reloaded.status_code == 200, reloaded.text

        c.worker("worker")
        done = wait_until(
            lambda: (v := _view(agent, action["id"]))["status"] in ("executed", "failed") and v,
            what="the worker to take the approved action",
        )
        assert done["status"] == "failed", done
        assert "the policy changed since approval" in done["error"]
        assert "now denied by rule 'transitions'" in done["error"]
        with state.lock:
            assert state.issues["ENG-3"].status == "In Progress"

"""A hostile agent moving issues across projects, end to end through the running service.

The policies see a move's source project (`project`) and decide it again for its target
(policy/engine.py): an agent kept out of OPS (`copy_policies_denying_ops`) can neither move an
ENG issue into OPS nor an OPS issue out, however it spells the key, and nothing reaches Jira.
A legitimate move is approved by a project manager, runs once, and nobody (reviewer included)
can turn it into a move elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import envelope
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.helpers.service import Service, running_service

PM = "pm-carol"


def bulk_calls(service: Service) -> list[str]:
    return [f"{r.method} {r.path}" for r in service.sandbox.logged() if "/bulk/" in r.path]


@pytest.fixture
def denying_ops(db_url: str, tmp_path: Path) -> Iterator[Service]:
    with running_service(db_url, policy_dir=copy_policies_denying_ops(tmp_path)) as running:
        yield running


@pytest.fixture
def shipped(db_url: str) -> Iterator[Service]:
    with running_service(db_url) as running:
        yield running


@pytest.mark.parametrize(
    ("issue", "target"),
    [("ENG-2", "OPS"), ("OPS-1", "ENG")],
    ids=["into-ops", "out-of-ops"],
)
def test_an_agent_kept_out_of_ops_cannot_move_an_issue_across_it(
    denying_ops: Service, issue: str, target: str
) -> None:
    answer = denying_ops.agent.post(
        "/v1/actions", json=envelope("jira_move_issue", issueKey=issue, targetProjectKey=target)
    )
    assert answer.status_code == 403, answer.text
    assert "deny-ops" in answer.text
    assert bulk_calls(denying_ops) == []
    with denying_ops.sandbox.lock:
        assert denying_ops.sandbox.issues[issue].project_key == issue.split("-")[0]


@pytest.mark.parametrize("target", ["ops", "Ops", "OPS ", "OP\u0405"], ids=repr)
def test_spelling_the_forbidden_project_otherwise_is_refused_not_routed(
    denying_ops: Service, target: str
) -> None:
    answer = denying_ops.agent.post(
        "/v1/actions", json=envelope("jira_move_issue", issueKey="ENG-2", targetProjectKey=target)
    )
    assert answer.status_code in (400, 422), answer.text
    assert "targetProjectKey" in answer.text
    assert bulk_calls(denying_ops) == []


def test_a_move_within_its_own_project_is_refused(denying_ops: Service) -> None:
    answer = denying_ops.agent.post(
        "/v1/actions", json=envelope("jira_move_issue", issueKey="ENG-2", targetProjectKey="ENG")
    )
    assert answer.status_code in (400, 422), answer.text
    assert "another-project" in answer.text


def test_an_approved_move_runs_once_and_no_edit_retargets_it(shipped: Service) -> None:
    proposed = shipped.agent.post(
        "/v1/actions", json=envelope("jira_move_issue", issueKey="ENG-2", targetProjectKey="OPS")
    )
    assert proposed.status_code == 202, proposed.text
    action_id = proposed.json()["id"]
    assert shipped.agent_view(action_id)["review_group"] == "project-managers"
    reviewer = shipped.client(PM)
    for patch in ({"targetProjectKey": "ENG"}, {"issueKey": "ENG-3"}, {"targetIssueType": "Epic"}):
        refused = reviewer.post(
            f"/v1/approvals/{action_id}/decision",
            json={"verdict": "approve", "modifiedDetails": patch},
        )
        assert refused.status_code == 409, (patch, refused.text)
    approved = reviewer.post(f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"})
    assert approved.status_code == 200, approved.text
    final = shipped.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["status"] == "executed", final
    new_key = final["result"]["data"]["newKey"]
    assert new_key.startswith("OPS-") and final["result"]["updated"] == [new_key]
    assert bulk_calls(shipped).count("POST /rest/api/3/bulk/issues/move") == 1
    with shipped.sandbox.lock:
        moved = shipped.sandbox.find_issue("ENG-2")
        assert moved is not None and (moved.key, moved.project_key) == (new_key, "OPS")

"""The seed's story end to end, over real HTTP: agent → policy → lead → edit → Jira → audit."""

from __future__ import annotations

from jiragate.examples import SEED_NOTE as NOTE
from jiragate.store import verify
from tests.helpers.service import Service
from tests.policy.samples import SEED


def test_twelve_high_bugs_become_four_medium_ones_after_a_leads_edit(service: Service):
    tickets = [{"summary": f"NullPointerException in checkout #{i}"} for i in range(1, 13)]
    envelope = {
        **SEED,
        "details": {**SEED["details"], "tickets": tickets},
        "justification": "12 distinct stack traces in last night's error log",
    }

    submitted = service.agent.post("/v1/actions", json=envelope)
    assert submitted.status_code == 202, submitted.text
    action = submitted.json()
    assert action["status"] == "pending_approval"
    assert action["review_group"] == "engineering-leads"
    assert action["rule"] == "high-priority-creation"
    action_id = action["id"]

    # The lead sees it in their inbox; a project manager does not.
    inbox = service.client("lead-alice").get("/v1/approvals").json()
    assert [item["id"] for item in inbox["items"]] == [action_id]
    assert service.client("pm-carol").get("/v1/approvals").json()["items"] == []

    decided = service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision",
        json={
            "verdict": "approve",
            "modifiedDetails": {"issueCount": 4, "priority": "Medium"},
            "note": NOTE,
        },
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["status"] == "executed", final
    assert final["approval"]["note"] == NOTE
    assert (
        final["approval"]["decision_summary"]
        == f"approved with edits: 4 of 12, as Medium; note: {NOTE}"
    )
    assert final["approval"]["reviewers"] == ["lead-alice"]
    assert final["effective_details"]["issueCount"] == 4
    created = [c["key"] for c in final["result"]["created"]]
    assert len(created) == 4

    made = service.sandbox_issues(label=f"jiragate-{action_id}")
    assert sorted(i.key for i in made) == sorted(created)
    assert {i.priority for i in made} == {"Medium"}
    assert sorted(i.summary for i in made) == sorted(t["summary"] for t in tickets[:4])
    assert all(i.sprint_id is not None for i in made)  # moved into sprint_42

    events = [e["type"] for e in final["timeline"]]
    assert events[0] == "action.submitted"
    assert "approval.opened" in events and "approval.vote" in events
    assert "approval.approved" in events and events[-1] == "action.executed"
    assert verify(service.gateway._store.engine).ok

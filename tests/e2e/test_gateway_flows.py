"""Issue 4's flows over real HTTP on one shared service: reads run at once, epics go to
project managers, denials explain themselves, and a reviewer's edit may only narrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import DB_KINDS, audit_types, envelope, seed_tickets, service_on
from tests.helpers.service import Service


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("flows")
    with service_on(request, request.param, directory) as running:
        yield running


def submit(service: Service, body: dict, expect: int) -> dict:
    response = service.agent.post("/v1/actions", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def decide(service: Service, reviewer: str, action_id: str, **body: object):
    return service.client(reviewer).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve", **body}
    )


# ----------------------------------------------------------------------------- 1. reads


def test_get_issue_is_allowed_and_executed_with_jira_data(service: Service):
    action = submit(service, envelope("jira_get_issue", issueKey="ENG-2"), 200)
    assert action["status"] == "executed"
    assert action["rule"] == "allow-safe-reads"
    issue = action["result"]["data"]["issue"]
    assert issue["key"] == "ENG-2"
    assert issue["fields"]["summary"] == "Payment form loses card on back"


def test_search_with_a_project_key_is_restricted_to_that_project(service: Service):
    body = envelope("jira_search", jql="status = 'To Do' OR priority = Low", projectKey="ENG")
    action = submit(service, body, 200)
    data = action["result"]["data"]
    assert data["jql"] == 'project = "ENG" AND (status = "To Do" OR priority = "Low")'
    keys = [issue["key"] for issue in data["issues"]]
    assert keys and all(key.startswith("ENG-") for key in keys)  # the OR did not escape


def test_get_transitions_and_list_sprints_are_executed(service: Service):
    transitions = submit(service, envelope("jira_get_transitions", issueKey="ENG-2"), 200)
    names = [t["to"]["name"] for t in transitions["result"]["data"]["transitions"]]
    assert "In Progress" in names
    sprints = submit(service, envelope("jira_list_sprints", boardId=1), 200)
    assert [s["name"] for s in sprints["result"]["data"]["sprints"]] == [
        "sprint_41",
        "sprint_42",
        "sprint_43",
    ]
    assert sprints["status"] == "executed"


# ----------------------------------------------------------------------------- 2. epics


def test_epic_creation_goes_to_project_managers_and_only_they_decide(service: Service):
    body = envelope("jira_create_epic", projectKey="ENG", summary="Fraud detection (e2e)")
    action = submit(service, body, 202)
    assert action["status"] == "pending_approval"
    assert action["review_group"] == "project-managers"
    pending = service.client("pm-carol").get("/v1/approvals").json()
    assert action["id"] in [item["id"] for item in pending["items"]]
    assert action["id"] not in [
        item["id"] for item in service.client("lead-alice").get("/v1/approvals").json()["items"]
    ]

    refused = decide(service, "lead-alice", action["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "reviewer_not_allowed"
    assert "project-managers" in refused.json()["message"]
    assert "approval.refused" in audit_types(service, action["id"])
    assert service.agent_view(action["id"])["status"] == "pending_approval"

    approved = decide(service, "pm-carol", action["id"], note="ok")
    assert approved.status_code == 200, approved.text
    final = service.wait_for_status(action["id"], "executed", "failed")
    assert final["status"] == "executed", final
    [epic] = service.sandbox_issues(summary="Fraud detection (e2e)")
    assert epic.issue_type == "Epic"
    assert [c["key"] for c in final["result"]["created"]] == [epic.key]


# ----------------------------------------------------------------------------- 3. refusals


def test_bulk_delete_is_denied_with_the_rule_and_its_reason(service: Service):
    keys = [f"ENG-{i}" for i in range(1, 12)]
    action = submit(service, envelope("jira_delete_issues", issueKeys=keys), 403)
    assert action["status"] == "denied"
    assert action["rule"] == "deny-bulk-deletes"
    assert action["reason"].startswith("More than 10 issues deleted")
    assert action["decision"]["determining_rule"] == "deny-bulk-deletes"
    with service.sandbox.lock:
        assert all(key in service.sandbox.issues for key in keys)
    assert service.gateway._store.list_executions(action["id"]) == []


def test_unknown_action_lists_the_known_ones(service: Service):
    response = service.agent.post("/v1/actions", json=envelope("jira_drop_project"))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_action"
    assert "jira_create_tickets" in body["known_actions"]
    assert "jira_drop_project" in body["message"]


def test_invalid_details_name_json_pointers(service: Service):
    body = envelope("jira_create_tickets", projectKey="ENG", issueCount=0, issueType="Bug")
    response = service.agent.post("/v1/actions", json=body)
    assert response.status_code == 422
    problems = {(v["pointer"], v["rule"]) for v in response.json()["violations"]}
    assert ("/issueCount", "minimum") in problems
    assert ("", "required") in problems  # priority is missing


# ----------------------------------------------------------------------------- 5. narrowing


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        ({"issueCount": 20}, "the count grew from 12 to 20"),
        ({"projectKey": "OPS"}, "/projectKey: may not be changed by a reviewer"),
        ({"issueCount": 60}, "the count grew from 12 to 60"),
        ({"priority": "Bogus"}, "must be one of the site's priorities (Highest, High"),
    ],
)
def test_a_widening_edit_is_refused_and_the_action_stays_pending(
    service: Service, patch: dict, says: str
):
    action = submit(service, seed_tickets(), 202)
    refused = decide(service, "lead-alice", action["id"], modifiedDetails=patch)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "decision_refused"
    assert says in refused.json()["message"]
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert "approval.refused" in audit_types(service, action["id"])

    narrowed = decide(
        service, "lead-alice", action["id"], modifiedDetails={"issueCount": 1, "priority": "Low"}
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["status"] == "approved"
    final = service.wait_for_status(action["id"], "executed", "failed")
    assert final["status"] == "executed"
    label = action["details"]["labels"][1]
    made = service.sandbox_issues(label=label)
    assert len(made) == 1 and made[0].priority == "Low"


def test_adding_issue_keys_to_a_transition_or_delete_is_refused(service: Service):
    transition = submit(
        service,
        envelope("jira_transition_issues", issueKeys=["ENG-2", "ENG-6"], targetStatus="Done"),
        202,
    )
    refused = decide(
        service,
        "lead-bob",
        transition["id"],
        modifiedDetails={"issueKeys": ["ENG-2", "ENG-6", "ENG-9"]},
    )
    assert refused.status_code == 409
    assert "/issueKeys: may only drop items, but the edit adds ENG-9" in refused.json()["message"]

    delete = submit(service, envelope("jira_delete_issues", issueKeys=["ENG-9"]), 202)
    refused = decide(
        service, "pm-dave", delete["id"], modifiedDetails={"issueKeys": ["ENG-9", "ENG-10"]}
    )
    assert refused.status_code == 409
    assert "ENG-10" in refused.json()["message"]
    with service.sandbox.lock:
        assert "ENG-9" in service.sandbox.issues and "ENG-10" in service.sandbox.issues

    # Dropping an issue is a narrowing: it is accepted and only ENG-2 moves.
    narrowed = decide(
        service, "lead-bob", transition["id"], modifiedDetails={"issueKeys": ["ENG-2"]}
    )
    assert narrowed.status_code == 200, narrowed.text
    final = service.wait_for_status(transition["id"], "executed", "partially_executed", "failed")
    assert final["effective_details"]["issueKeys"] == ["ENG-2"]
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-6"].status == "To Do"


def test_an_edit_that_needs_another_group_is_refused(service: Service):
    body = envelope(
        "jira_create_ticket",
        projectKey="ENG",
        summary="Checkout 500s",
        issueType="Bug",
        priority="High",
    )
    action = submit(service, body, 202)
    assert action["review_group"] == "engineering-leads"
    refused = decide(service, "lead-alice", action["id"], modifiedDetails={"priority": "Medium"})
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert "'project-managers'" in message and "'engineering-leads'" in message
    assert service.agent_view(action["id"])["status"] == "pending_approval"

"""Approvals bound to what the reviewer saw, separation of duties and attribution, over
loopback HTTP against the Jira sandbox, on SQLite and PostgreSQL.

Attacks: ENG-3 moved elsewhere between the snapshot and execution (must not run silently);
approving with a stale snapshot; replaying an approval; the person an agent acts for
approving its action; one person's two reviewer accounts making a quorum of two.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jiragate.jira.adf import adf_to_text
from tests.api.support import DB_KINDS, audit_types, copy_policies, edit_group, envelope, service_on
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, Service

BOB_ALT_KEY = "reviewer-key-bob-alt-00000006"
#: Sandbox accounts (ENG-4 starts assigned to the second).
CAROL, DAVE = "5b10a2844c20165700ede21c", "5b10a2844c20165700ede21d"


def _reviewers() -> list[dict[str, Any]]:
    return [
        {"name": "lead-alice", "api_key": KEYS["lead-alice"], "email": "Alice@Example.com"},
        {"name": "lead-bob", "api_key": KEYS["lead-bob"], "email": "bob@example.com"},
        # Bob's second account: the same person, so it never adds a second approval.
        {"name": "bob-alt", "api_key": BOB_ALT_KEY, "email": "BOB@Example.com"},
        {"name": "pm-carol", "api_key": KEYS["pm-carol"], "email": "carol@example.com"},
        {"name": "pm-dave", "api_key": KEYS["pm-dave"]},
        {"name": "auditor", "api_key": KEYS["auditor"], "admin": True},
    ]


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("binding")
    policy_dir = copy_policies(directory)
    edit_group(
        policy_dir,
        "project-managers",
        members=["pm-carol", "pm-dave", "lead-bob", "bob-alt"],
        min_approvals=2,
        on_change="fail",
    )
    agents = [
        {"name": "log-triage-bot", "api_key": KEYS["log-triage-bot"]},
        {
            "name": "ide-assistant",
            "api_key": KEYS["ide-assistant"],
            "on_behalf_of": "alice@example.com",
        },
    ]
    with service_on(
        request,
        request.param,
        directory,
        policy_dir=policy_dir,
        agents=agents,
        reviewers=_reviewers(),
        attribution="comment",
    ) as running:
        running.clients["bob-alt"] = httpx.Client(
            base_url=running.url, headers={"Authorization": f"Bearer {BOB_ALT_KEY}"}
        )
        yield running
        running.clients["bob-alt"].close()


def submit(service: Service, body: dict, agent: str = "log-triage-bot") -> dict:
    response = service.client(agent).post("/v1/actions", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def decide(service: Service, reviewer: str, action_id: str, **body: Any) -> httpx.Response:
    return service.client(reviewer).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve", **body}
    )


def jira(service: Service) -> httpx.Client:
    """Someone else, working in Jira directly (not through Jiragate)."""
    return httpx.Client(base_url=service.sandbox_url, auth=(JIRA_EMAIL, JIRA_TOKEN))


def move(service: Service, key: str, status: str) -> None:
    with jira(service) as client:
        options = client.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
        chosen = next(t for t in options if t["to"]["name"] == status)
        answer = client.post(
            f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": chosen["id"]}}
        )
        assert answer.status_code == 204, answer.text


def status_of(service: Service, key: str) -> str:
    with service.sandbox.lock:
        return service.sandbox.issues[key].status


def test_eng3_moved_before_execution_goes_back_marked_changed(service: Service):
    before = status_of(service, "ENG-3")
    assert before != "Done"
    action = submit(
        service, envelope("jira_transition_issues", issueKeys=["ENG-3"], targetStatus="Done")
    )
    snapshot = action["approval"]["snapshot"]
    assert snapshot["issues"]["ENG-3"]["status"] == before
    elsewhere = "In Review" if before != "In Review" else "In Progress"
    move(service, "ENG-3", elsewhere)  # someone moves ENG-3 while the lead reads the request

    assert decide(service, "lead-alice", action["id"]).status_code == 200
    back = service.wait_for_status(action["id"], "pending_approval", "executed", "failed")
    # It did not run: ENG-3 is where the other person put it, and the lead is asked again.
    assert back["status"] == "pending_approval"
    assert status_of(service, "ENG-3") == elsewhere
    changed = back["approval"]["changed_since_approval"]
    assert {"target": "ENG-3", "field": "status", "before": before, "after": elsewhere} in changed
    assert back["approval"]["reviewers"] == []
    assert "approval.changed_since_approval" in audit_types(service, action["id"])

    # Attack: approving with the snapshot from before the change is refused.
    stale = decide(service, "lead-alice", action["id"], snapshot=snapshot["hash"])
    assert stale.status_code == 409, stale.text
    assert "stale snapshot" in stale.json()["message"]
    fresh = back["approval"]["snapshot"]["hash"]
    assert fresh != snapshot["hash"]
    assert decide(service, "lead-alice", action["id"], snapshot=fresh).status_code == 200
    done = service.wait_for_status(action["id"], "executed", "failed", "pending_approval")
    assert done["status"] == "executed", done
    assert status_of(service, "ENG-3") == "Done"
    # Attributed in Jira (attribution: comment): a Jira user sees who did it and why.
    with service.sandbox.lock:
        note = adf_to_text(service.sandbox.issues["ENG-3"].comments[-1].body)
    assert "log-triage-bot" in note and "lead-alice" in note and action["id"] in note

    # Attack: replaying the approval (single use) changes nothing.
    replay = decide(service, "lead-alice", action["id"], snapshot=fresh)
    assert replay.status_code == 409, replay.text
    assert service.agent_view(action["id"])["attempts"] == 1


def test_a_change_fails_the_action_where_the_group_says_so(service: Service):
    # project-managers: on_change: fail. A reassignment approved after someone else took ENG-4.
    action = submit(service, envelope("jira_assign_issues", issueKeys=["ENG-4"], assignee=DAVE))
    assert action["review_group"] == "project-managers"
    with jira(service) as client:
        taken = client.put("/rest/api/3/issue/ENG-4/assignee", json={"accountId": CAROL})
        assert taken.status_code == 204, taken.text
    assert decide(service, "pm-carol", action["id"]).status_code == 200
    assert decide(service, "pm-dave", action["id"]).status_code == 200
    final = service.wait_for_status(action["id"], "failed", "executed", timeout=20)
    assert final["status"] == "failed"
    assert "changed since approval: ENG-4 assignee" in final["error"]
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-4"].assignee == CAROL


def test_the_person_an_agent_acts_for_never_approves_it(service: Service):
    action = submit(
        service,
        envelope("jira_transition_issues", issueKeys=["ENG-6"], targetStatus="In Progress"),
        agent="ide-assistant",
    )
    refused = decide(service, "lead-alice", action["id"])  # Alice's own assistant
    assert refused.status_code == 403, refused.text
    assert "on behalf of alice@example.com" in refused.json()["message"]
    assert decide(service, "lead-bob", action["id"]).status_code == 200
    done = service.gateway.get_record(action["id"])
    while not done.final:
        time.sleep(0.05)
        done = service.gateway.get_record(action["id"])
    assert done.status.value == "executed", done
    assert done.reviewers == ["lead-bob"]


def test_quorum_counts_people_not_accounts(service: Service):
    summary = f"Binding epic {uuid.uuid4().hex[:8]}"
    action = submit(service, envelope("jira_create_epic", projectKey="ENG", summary=summary))
    assert action["review_group"] == "project-managers"
    first = decide(service, "lead-bob", action["id"])
    assert first.json()["status"] == "pending_approval"
    twin = decide(service, "bob-alt", action["id"])
    assert twin.status_code == 409, twin.text
    assert "same person" in twin.json()["message"]
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert decide(service, "pm-carol", action["id"]).json()["status"] == "approved"
    done = service.wait_for_status(action["id"], "executed", "failed")
    assert done["status"] == "executed", done
    assert sorted(done["approval"]["reviewers"]) == ["lead-bob", "pm-carol"]

"""Approval rules that need a custom policy set, on SQLite and PostgreSQL: expiry fails
closed, min_approvals counts distinct reviewers backing the same payload, and nobody
approves their own action."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from jiragate.errors import ReviewerNotAllowedError
from tests.api.support import (
    DB_KINDS,
    audit_types,
    copy_policies,
    edit_group,
    envelope,
    seed_tickets,
    service_on,
)
from tests.helpers.service import Service

EXPIRY_SECONDS = 1


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("rules")
    policy_dir = copy_policies(directory)
    # Project managers must answer within a second; leads need two approvals, and the
    # log-triage agent is (wrongly) listed among them, to prove it still cannot self-approve.
    edit_group(policy_dir, "project-managers", approval_timeout=EXPIRY_SECONDS)
    edit_group(
        policy_dir,
        "engineering-leads",
        min_approvals=2,
        members=["lead-alice", "lead-bob", "log-triage-bot"],
    )
    with service_on(request, request.param, directory, policy_dir=policy_dir) as running:
        yield running


def submit(service: Service, body: dict) -> dict:
    response = service.agent.post("/v1/actions", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def approve(service: Service, reviewer: str, action_id: str, **body: object):
    return service.client(reviewer).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve", **body}
    )


# ----------------------------------------------------------------------------- 4. expiry


def test_an_unanswered_approval_expires_and_nothing_runs(service: Service):
    summary = f"Expiring epic {time.monotonic_ns()}"
    action = submit(service, envelope("jira_create_epic", projectKey="ENG", summary=summary))
    assert action["review_group"] == "project-managers"
    time.sleep(EXPIRY_SECONDS + 0.2)
    # The in-process worker runs maintain() about once a second and marks it expired.
    final = service.wait_for_status(action["id"], "expired", timeout=20)
    assert final["approval"]["reviewers"] == []

    late = approve(service, "pm-carol", action["id"])
    assert late.status_code == 409, late.text
    assert late.json()["error"] == "decision_refused"
    assert service.agent_view(action["id"])["status"] == "expired"
    assert service.sandbox_issues(summary=summary) == []
    assert service.gateway._store.list_executions(action["id"]) == []
    types = audit_types(service, action["id"])
    assert "action.expired" in types and "action.claimed" not in types


def test_maintain_expires_overdue_approvals_itself(service: Service):
    summary = f"Expiring epic {time.monotonic_ns()}"
    action = submit(service, envelope("jira_create_epic", projectKey="ENG", summary=summary))
    time.sleep(EXPIRY_SECONDS + 0.2)
    asyncio.run(service.gateway.maintain())
    assert service.agent_view(action["id"])["status"] == "expired"


# ----------------------------------------------------------------------------- 6. self-approval


def test_an_agent_listed_as_a_reviewer_cannot_approve_its_own_action(service: Service):
    action = submit(service, seed_tickets(count=2))
    assert action["review_group"] == "engineering-leads"
    with pytest.raises(ReviewerNotAllowedError, match="cannot decide"):
        service.gateway.decide(action["id"], reviewer="log-triage-bot", verdict="approve")
    assert "approval.refused" in audit_types(service, action["id"])
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert service.gateway._inbox.votes(action["id"]) == []


# ----------------------------------------------------------------------------- 7. min_approvals


def test_two_approvals_are_needed_and_the_action_runs_once(service: Service):
    action = submit(service, seed_tickets(count=3))
    assert action["approval"]["min_approvals"] == 2

    first = approve(service, "lead-alice", action["id"])
    assert first.status_code == 200, first.text
    assert first.json() | {"action": None} == {
        "status": "pending_approval",
        "approvals": 1,
        "required": 2,
        "action": None,
    }
    again = approve(service, "lead-alice", action["id"])
    assert again.status_code == 409 and "already voted" in again.json()["message"]
    assert service.agent_view(action["id"])["status"] == "pending_approval"

    second = approve(service, "lead-bob", action["id"])
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "approved"
    final = service.wait_for_status(action["id"], "executed", "failed")
    assert final["status"] == "executed"
    assert sorted(final["approval"]["reviewers"]) == ["lead-alice", "lead-bob"]
    assert len(service.sandbox_issues(label=f"jiragate-{action['id']}")) == 3
    assert len(service.gateway._store.list_executions(action["id"])) == 1


def test_two_different_edits_do_not_add_up(service: Service):
    action = submit(service, seed_tickets(count=3))
    one = approve(service, "lead-alice", action["id"], modifiedDetails={"issueCount": 2})
    two = approve(service, "lead-bob", action["id"], modifiedDetails={"issueCount": 1})
    assert one.status_code == two.status_code == 200
    assert two.json()["status"] == "pending_approval"
    assert two.json()["approvals"] == 1
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert service.sandbox_issues(label=f"jiragate-{action['id']}") == []

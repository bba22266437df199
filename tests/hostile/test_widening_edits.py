"""Hole 6: a reviewer's edit that is not narrowing must be refused, through every door.

Each reproducer from the hostile-agent issue (subtasks deleted too, an issue added, another
assignee, another target status, a sprint that does not exist, a priority raised, ticket texts
replaced, story points inflated, nested `fields` replaced) is tried over real HTTP through the
reviewers' API (`POST /v1/approvals/{id}/decision`), the inbox form (a crafted POST with a
valid CSRF token) and a Cheqpoint decision (`modifiedDetails` from a protocol-faithful fake).
Each is refused with the field and rule, and the sandbox shows that nothing widened reached Jira.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jiragate.jira.sandbox import SandboxState
from tests.api.support import DB_KINDS, audit_types, envelope, service_on
from tests.conftest_db import postgres_admin  # noqa: F401  (the PostgreSQL databases)
from tests.helpers.cheqpoint import (
    cheqpoint_service_fixture,
    fake_cheqpoint_fixture,
    post_signed_webhook,
)
from tests.helpers.fake_cheqpoint import FakeCheqpoint
from tests.helpers.service import Service
from tests.web.helpers import Browserless, inbox_overrides, text_of

DAVE = "5b10a2844c20165700ede21d"  # a sandbox user nobody proposed
ALICE = "5b10a2844c20165700ede21a"
CONNECTION_KEY = "cq_live_hostile_edits_key_0001"
TAG = f"hostile-{uuid.uuid4().hex[:6]}"


def issue(sandbox: SandboxState, key: str) -> Any:
    with sandbox.lock:
        return sandbox.issues.get(key)


def issues_where(sandbox: SandboxState, test: Callable[[Any], bool]) -> list[Any]:
    with sandbox.lock:
        return [i for i in sandbox.issues.values() if test(i)]


def no_request_mentions(sandbox: SandboxState, text: str) -> bool:
    return not any(text in f"{r.path}?{r.query} {json.dumps(r.body)}" for r in sandbox.logged())


@dataclass(frozen=True)
class Widening:
    """One widening edit: the proposal, the edit, where it is refused, and what must not be."""

    name: str
    reviewers: tuple[str, str]  # (API reviewer, inbox reviewer with a password)
    proposal: dict[str, Any]
    patch: dict[str, Any]
    pointer: str
    rule: str
    #: True while the widened effect is absent from the sandbox.
    nothing_widened: Callable[[SandboxState], bool]
    #: The inbox form's inputs for the same edit, and what the refusal page says.
    form: dict[str, Any] = field(default_factory=dict)
    form_says: str = ""


PMS, LEADS = ("pm-dave", "pm-carol"), ("lead-bob", "lead-alice")
TICKETS = [{"summary": f"Real bug A {TAG}"}, {"summary": f"Real bug B {TAG}"}]
# Rewording a summary is allowed (TEXT); turning the bugs into epics is not.
FORGED = [
    {"summary": f"pwned 1 {TAG}", "issueType": "Epic"},
    {"summary": f"pwned 2 {TAG}", "issueType": "Epic"},
]
WIDENINGS = [
    Widening(
        "subtasks deleted too",
        PMS,
        envelope("jira_delete_issues", issueKeys=["ENG-5"]),
        {"deleteSubtasks": True},
        "/deleteSubtasks",
        "false_only",
        lambda s: all(issue(s, k) is not None for k in ("ENG-5", "ENG-11", "ENG-12")),
        {"edit-deleteSubtasks-shown": "1", "edit-deleteSubtasks": "true"},
    ),
    Widening(
        "another assignee",
        PMS,
        envelope("jira_assign_issues", issueKeys=["ENG-6"], assignee=ALICE),
        {"assignee": DAVE},
        "/assignee",
        "fixed",
        lambda s: issue(s, "ENG-6").assignee != DAVE,
        {"edit-assignee": DAVE},
    ),
    Widening(
        "an issue added",
        LEADS,
        envelope("jira_transition_issues", issueKeys=["ENG-4"], targetStatus="Done"),
        {"issueKeys": ["ENG-4", "ENG-10"]},
        "/issueKeys",
        "subset",
        lambda s: issue(s, "ENG-10").status == "To Do",
        {"edit-issueKeys-shown": "1", "edit-issueKeys": ["ENG-4", "ENG-10"]},  # a forged box
    ),
    Widening(
        "another target status",
        LEADS,
        envelope("jira_transition_issues", issueKeys=["ENG-2"], targetStatus="In Progress"),
        {"targetStatus": "Done"},
        "/targetStatus",
        "fixed",
        lambda s: issue(s, "ENG-2").status != "Done",
        {"edit-targetStatus": "Done"},
    ),
    Widening(
        "a sprint that does not exist",
        LEADS,
        envelope("jira_move_to_sprint", issueKeys=["ENG-9"], sprintId=102),
        {"sprintId": 9999},
        "/sprintId",
        "fixed",
        lambda s: no_request_mentions(s, "9999") and issue(s, "ENG-9").sprint_id in (102, 103),
        {"edit-sprintId": "9999"},
    ),
    Widening(
        "priority Low to Highest",
        LEADS,
        envelope(
            "jira_create_tickets",
            projectKey="ENG",
            issueCount=2,
            issueType="Task",
            priority="Low",
            labels=[TAG],
        ),
        {"priority": "Highest"},
        "/priority",
        "lower_priority",
        lambda s: not issues_where(s, lambda i: TAG in i.labels and i.priority != "Low"),
        {"edit-priority": "Highest"},
        form_says="Priority must be one of Low, Lowest",  # the form offers no higher one
    ),
    Widening(
        "tickets turned into epics",
        LEADS,
        envelope(
            "jira_create_tickets",
            projectKey="ENG",
            issueCount=2,
            issueType="Bug",
            priority="Medium",
            tickets=TICKETS,
        ),
        {"tickets": FORGED},
        "/tickets/0/issueType",
        "fixed",
        lambda s: not issues_where(s, lambda i: i.summary.startswith("pwned")),
        {"edit-tickets": json.dumps(FORGED)},
    ),
    Widening(
        "story points 1 to 1000",
        LEADS,
        envelope("jira_update_story_points", updates=[{"issueKey": "ENG-10", "storyPoints": 1}]),
        {"updates": [{"issueKey": "ENG-10", "storyPoints": 1000}]},
        "/updates/0/storyPoints",
        "max",
        lambda s: issue(s, "ENG-10").story_points != 1000,
        {"edit-updates": json.dumps([{"issueKey": "ENG-10", "storyPoints": 1000}])},
    ),
    Widening(
        "replaced nested fields",
        LEADS,
        envelope("jira_update_fields", issueKeys=["ENG-3"], fields={"priority": "Low"}),
        {"fields": {"priority": "Low", "summary": "pwned"}},
        "/fields/summary",
        "text",
        lambda s: issue(s, "ENG-3").summary != "pwned",
        {"edit-fields": json.dumps({"priority": "Low", "summary": "pwned"})},
    ),
]
IDS = [w.name for w in WIDENINGS]


def submitted(service: Service, proposal: dict[str, Any]) -> str:
    response = service.agent.post("/v1/actions", json=proposal)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending_approval", response.json()
    return str(response.json()["id"])


# --------------------------------------------------------------------------- API and inbox


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("widening")
    with service_on(request, request.param, directory, **inbox_overrides()) as running:
        yield running


@pytest.mark.parametrize("widening", WIDENINGS, ids=IDS)
def test_the_decision_api_refuses_a_widening_edit(service: Service, widening: Widening):
    action_id = submitted(service, widening.proposal)
    reviewer = service.client(widening.reviewers[0])
    refused = reviewer.post(
        f"/v1/approvals/{action_id}/decision",
        json={"verdict": "approve", "modifiedDetails": widening.patch},
    )
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "decision_refused"
    assert {"pointer": widening.pointer, "rule": widening.rule} in [
        {"pointer": v["pointer"], "rule": v["rule"]} for v in body["violations"]
    ]
    assert widening.pointer in body["message"]
    assert service.agent_view(action_id)["status"] == "pending_approval"
    assert "approval.refused" in audit_types(service, action_id)

    # Approved as proposed, exactly the proposal runs: still nothing widened in Jira.
    approved = reviewer.post(f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"})
    assert approved.status_code == 200, approved.text
    final = service.wait_for_status(action_id, "executed", "partially_executed", "failed")
    assert final["effective_details"] == final["details"]
    assert widening.nothing_widened(service.sandbox)


@pytest.mark.parametrize("widening", WIDENINGS, ids=IDS)
def test_the_inbox_form_refuses_a_widening_edit(service: Service, widening: Widening):
    action_id = submitted(service, widening.proposal)
    reviewer = Browserless(service)
    try:
        assert reviewer.signin(widening.reviewers[1]).status_code == 303
        page = reviewer.decide(action_id, intent="approve", note="widened", **widening.form)
    finally:
        reviewer.close()
    shown = text_of(page.text)
    if widening.form_says:
        assert page.status_code == 422, shown
        assert widening.form_says in shown
    else:
        assert page.status_code == 409, shown
        assert f"Not accepted: an edit may only narrow the action: {widening.pointer}" in shown
        assert f"(rule: {widening.rule})" in shown
    assert service.agent_view(action_id)["status"] == "pending_approval"
    assert widening.nothing_widened(service.sandbox)


# --------------------------------------------------------------------------- Cheqpoint


cheqpoint = fake_cheqpoint_fixture(CONNECTION_KEY)
cheqpoint_service = cheqpoint_service_fixture(
    "cheqpoint_service", CONNECTION_KEY, "widening-cheqpoint"
)


@pytest.mark.parametrize("widening", WIDENINGS, ids=IDS)
def test_a_cheqpoint_decision_with_a_widening_edit_is_a_rejection(
    cheqpoint_service: Service, cheqpoint: tuple[str, FakeCheqpoint], widening: Widening
):
    _, fake = cheqpoint
    service = cheqpoint_service
    action_id = submitted(service, widening.proposal)
    ref = service.agent_view(action_id)["approval"]["ref"]
    fake.decide(ref, "APPROVED", modified_details=widening.patch)
    hint = json.dumps({"id": ref}).encode()  # a signed webhook: Jiragate fetches the decision
    pushed = post_signed_webhook(service.url, hint)
    assert pushed.status_code == 200, pushed.text
    final = service.wait_for_status(action_id, "rejected")
    note = final["approval"]["note"]
    assert "the reviewer's edit was refused: an edit may only narrow the action: " in note
    assert f"{widening.pointer}: " in note and f"(rule: {widening.rule})" in note
    assert not final.get("effective_details")
    assert widening.nothing_widened(service.sandbox)

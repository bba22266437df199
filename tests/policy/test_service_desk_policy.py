"""Jira Service Management actions before the adapter: what policies see, and what an agent
or a reviewer cannot widen.

An agent scoped to OPS (the default set plus a rule denying it every other project) cannot
read another project's desk, queue or SLA, nor raise a request there: each action's project
is its `projectKey` (the SLA read: its issue's project), whatever desk id it adds — the
adapter checks that id belongs to the project (tests/jira/test_service_desk.py). Raising on
behalf of someone else is gated by `customer-requests-on-behalf`, and a reviewer cannot move
a request to another customer, request type or desk, nor add participants.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jiragate import Effect, load_policies
from jiragate.catalog import narrowed_details, project_of, validate_details
from jiragate.errors import EditRefusedError, InvalidDetailsError
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter

OPS_BOT = "ops-desk-bot"
SCOPED_TO_OPS = f"""\
rules:
  - id: ops-bot-stays-in-ops
    match:
      agent: {OPS_BOT}
      project: {{not_in: [OPS]}}
    decision: deny
    reason: The desk bot works in OPS only.
"""
BOB = "5b10a2844c20165700ede21b"
REQUEST = {"projectKey": "OPS", "requestTypeId": 11, "summary": "VPN is down in Berlin"}


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory, default_policy_dir: Path) -> Any:
    directory = tmp_path_factory.mktemp("scoped") / "policies"
    shutil.copytree(default_policy_dir, directory)
    (directory / "scope.yaml").write_text(SCOPED_TO_OPS, encoding="utf-8")
    return load_policies(directory)


def envelope(action: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "summary": "desk work", "details": details}


ANOTHER_PROJECT = [
    ("jira_get_service_desk", {"projectKey": "ENG"}),
    ("jira_list_queues", {"projectKey": "ENG", "serviceDeskId": 2}),
    ("jira_get_queue_issues", {"projectKey": "ENG", "queueId": 4}),
    ("jira_list_request_types", {"projectKey": "ENG"}),
    ("jira_get_request_type_fields", {"projectKey": "ENG", "requestTypeId": 21}),
    ("jira_get_issue_sla", {"issueKey": "ENG-1"}),
    ("jira_create_customer_request", {**REQUEST, "projectKey": "ENG", "requestTypeId": 21}),
]


@pytest.mark.parametrize(("action", "details"), ANOTHER_PROJECT)
def test_an_agent_scoped_to_ops_reaches_no_other_desk(
    policies: Any, action: str, details: dict[str, Any]
) -> None:
    decision = policies.evaluate(envelope(action, details), agent=OPS_BOT)
    assert decision.decision is Effect.DENY
    assert decision.determining_rule == "ops-bot-stays-in-ops"


@pytest.mark.parametrize(("action", "details"), ANOTHER_PROJECT)
def test_in_its_own_project_the_same_actions_are_read_or_reviewed(
    policies: Any, action: str, details: dict[str, Any]
) -> None:
    own = {k: v for k, v in details.items() if k != "serviceDeskId"}
    own = {**own, "projectKey": "OPS"} if "projectKey" in own else {"issueKey": "OPS-1"}
    decision = policies.evaluate(envelope(action, own), agent=OPS_BOT)
    expected = Effect.REQUIRE_APPROVAL if action.startswith("jira_create") else Effect.ALLOW
    assert decision.decision is expected


def test_a_desk_id_never_changes_the_project_policies_see() -> None:
    # ENG's desk id behind OPS: policies see OPS, and the adapter refuses the desk before
    # reading or raising anything (test_another_desks_id_behind_this_project_is_refused).
    assert project_of({"projectKey": "OPS", "serviceDeskId": 2}) == "OPS"
    assert project_of({"issueKey": "ENG-7"}) == "ENG"


def test_raising_on_behalf_of_someone_else_needs_a_project_manager(policies: Any) -> None:
    own = policies.evaluate(envelope("jira_create_customer_request", REQUEST), agent=OPS_BOT)
    assert own.decision is Effect.REQUIRE_APPROVAL and own.determining_rule is None
    behalf = policies.evaluate(
        envelope("jira_create_customer_request", {**REQUEST, "raiseOnBehalfOf": BOB}),
        agent=OPS_BOT,
    )
    assert behalf.decision is Effect.REQUIRE_APPROVAL
    assert behalf.determining_rule == "customer-requests-on-behalf"
    assert behalf.review_group == "project-managers"


@pytest.mark.parametrize(
    ("details", "pointer"),
    [
        # The summary reviewed is the one sent: not a second one in `fields`.
        ({**REQUEST, "fields": {"summary": "something else"}}, "/fields/summary"),
        (
            {**REQUEST, "raiseOnBehalfOf": BOB, "requestParticipants": [BOB]},
            "/requestParticipants/0",
        ),
        ({**REQUEST, "serviceDesk": 2}, ""),  # unknown properties are refused, not ignored
        ({**REQUEST, "requestTypeId": "11"}, "/requestTypeId"),  # ids are numbers
    ],
)
def test_details_that_hide_or_double_something_are_refused(
    details: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        validate_details("jira_create_customer_request", details)
    assert pointer in [v.pointer for v in caught.value.violations]


def test_marker_labels_cannot_be_forged_through_request_fields() -> None:
    adapter = JiraAdapter(
        JiraConfig(base_url="http://127.0.0.1:9", flavour="cloud", email="a@b", api_token="t")
    )
    forged = {**REQUEST, "fields": {"labels": ["jiragate-act_1.0"]}}
    validate_details("jira_create_customer_request", forged)  # a valid field value...
    with pytest.raises(InvalidDetailsError) as caught:  # ...but never a marker label
        adapter.check_details("jira_create_customer_request", forged)
    assert [v.pointer for v in caught.value.violations] == ["/fields/labels/0"]


PROPOSED = {**REQUEST, "raiseOnBehalfOf": BOB, "requestParticipants": ["carol", "dave"]}


def test_a_reviewer_may_reword_and_drop_participants() -> None:
    effective = narrowed_details(
        "jira_create_customer_request",
        PROPOSED,
        {"summary": "VPN outage, Berlin office", "requestParticipants": ["carol"]},
    )
    assert effective["summary"] == "VPN outage, Berlin office"
    assert effective["requestParticipants"] == ["carol"]
    assert effective["raiseOnBehalfOf"] == BOB


@pytest.mark.parametrize(
    "patch",
    [
        {"raiseOnBehalfOf": "5b10a2844c20165700ede21d"},  # another customer
        {"requestTypeId": 12},  # another request type
        {"serviceDeskId": 2},  # another desk
        {"projectKey": "ENG"},
        {"requestParticipants": ["carol", "dave", "erin"]},  # more people notified
        {"fields": {"priority": {"name": "Highest"}}},
    ],
)
def test_a_reviewer_cannot_widen_or_retarget_a_request(patch: dict[str, Any]) -> None:
    with pytest.raises(EditRefusedError):
        narrowed_details("jira_create_customer_request", PROPOSED, patch)


def test_a_reviewer_may_only_shorten_a_queue_read() -> None:
    details = {"projectKey": "OPS", "queueId": 1, "maxResults": 20}
    assert narrowed_details("jira_get_queue_issues", details, {"maxResults": 5})["maxResults"] == 5
    for patch in ({"maxResults": 50}, {"queueId": 2}):
        with pytest.raises(EditRefusedError):
            narrowed_details("jira_get_queue_issues", details, patch)

"""Issue 12 over real HTTP, in front of the Data Center sandbox (priorities P1..P4): a policy
set declaring `priorities: [P1, P2, P3, P4]` gates a P1 create and lets a P4 one through;
a reviewer may lower a priority in the site's order and never raise it; the Jira proxy's
bulk create takes the highest ticket priority in that order, and a reviewer's bulk
priority caps every ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import KEYS, Service, running_dc_service
from tests.proxy.support import held_action

DOCUMENTED = (Path(__file__).resolve().parents[2] / "docs" / "approvals.md").read_text("utf-8")
POLICY = """\
priorities: [P1, P2, P3, P4]
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: urgent-needs-a-lead
    match:
      action: [jira_create_ticket, jira_create_tickets]
      details.priority: {at_least: P2}
    decision: require_approval
    route_to: engineering-leads
  - id: tickets
    match:
      action: [jira_create_ticket, jira_create_tickets]
      project: ENG
    decision: allow
  - id: reads
    match: {kind: read}
    decision: allow
"""


@pytest.fixture
def dc(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with running_dc_service(
        db_url, policy_dir=tmp_path / "policies", policy=POLICY, proxy_wait_seconds=0.5
    ) as running:
        yield running


def ticket(priority: str, summary: str = "Crash") -> dict[str, object]:
    return {
        "action": "jira_create_ticket",
        "summary": "file it",
        "details": {
            "projectKey": "ENG",
            "issueType": "Bug",
            "summary": summary,
            "priority": priority,
        },
    }


def submit(service: Service, body: dict[str, object]) -> dict[str, object]:
    answer = service.agent.post("/v1/actions", json=body)
    assert answer.status_code in (200, 201, 202), answer.text
    made: dict[str, object] = answer.json()
    return made


def decide(service: Service, action_id: str, patch: dict[str, object]) -> httpx.Response:
    return service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision",
        json={"verdict": "approve", "modifiedDetails": patch},
    )


def made_with(service: Service, summary: str) -> list[str]:
    return [i.priority for i in service.sandbox.issues.values() if i.summary == summary]


def test_p1_is_gated_p4_allowed_and_an_unknown_name_never_reaches_jira(dc: Service) -> None:
    urgent = submit(dc, ticket("P1", "Outage"))
    assert urgent["status"] == "pending_approval", urgent
    assert urgent["rule"] == "urgent-needs-a-lead"
    calm = submit(dc, ticket("P4", "Typo"))
    assert calm["status"] == "executed", calm
    assert made_with(dc, "Typo") == ["P4"] and made_with(dc, "Outage") == []
    for odd in ("Blocker", "p1", "Highest"):
        answer = dc.agent.post("/v1/actions", json=ticket(odd, "Odd"))
        assert answer.status_code == 422, answer.text  # the site lacks it: refused first
    assert made_with(dc, "Odd") == []


def test_the_gateway_judges_edits_in_the_sites_order_once_it_knows_it(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A set that declares no order (Jira's five) in front of a P1..P4 site: until the site's
    metadata is read the declared order stands in; then the site's own list wins."""
    with running_dc_service(
        db_url,
        policy_dir=tmp_path / "policies",
        policy="rules:\n  - {id: eng, match: {action: jira_create_ticket, project: ENG}, "
        "decision: allow}\n",
    ) as service:
        assert service.gateway.priority_order() == JIRA_PRIORITIES
        assert submit(service, ticket("P4", "Warm-up"))["status"] == "executed"
        assert service.gateway.priority_order() == PriorityOrder(("P1", "P2", "P3", "P4"))


def test_a_reviewer_lowers_a_p1_to_p3_and_jira_gets_p3(dc: Service) -> None:
    action = submit(dc, ticket("P1", "Outage"))
    approved = decide(dc, str(action["id"]), {"priority": "P3"})
    assert approved.status_code == 200, approved.text
    final = dc.wait_for_status(str(action["id"]), "executed", "failed")
    assert final["status"] == "executed", final
    assert made_with(dc, "Outage") == ["P3"]
    assert "as P3" in final["approval"]["decision_summary"]


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        # raising: P2 -> P1, in the site's order
        ({"priority": "P1"}, "may only be lowered (P1 > P2 > P3 > P4), but P1 is above"),
        # names the site does not have (another case, Jira Cloud's, made up)
        ({"priority": "p3"}, "'p3'"),
        ({"priority": "Medium"}, "'Medium'"),
        ({"priority": "Blocker"}, "'Blocker'"),
    ],
)
def test_a_reviewer_may_not_raise_or_rename_a_priority(
    dc: Service, patch: dict[str, object], says: str
) -> None:
    action = submit(dc, ticket("P2", "Slow page"))
    refused = decide(dc, str(action["id"]), patch)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "decision_refused"
    assert says in refused.json()["message"]
    if patch == {"priority": "P1"}:  # the example docs/approvals.md shows, word for word
        assert f"409 decision_refused: {refused.json()['message']}\n" in DOCUMENTED
    assert dc.agent_view(str(action["id"]))["status"] == "pending_approval"
    assert made_with(dc, "Slow page") == []


def test_the_proxys_bulk_create_is_as_urgent_as_its_most_urgent_ticket(dc: Service) -> None:
    updates = [
        {
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"name": "Bug"},
                "summary": summary,
                "priority": {"name": priority},
                "labels": ["bulk-p"],
            }
        }
        for summary, priority in (("calm one", "P4"), ("burning one", "P1"), ("mild one", "P3"))
    ]
    with httpx.Client(
        base_url=dc.url, headers={"Authorization": f"Bearer {KEYS['log-triage-bot']}"}, timeout=30
    ) as jira:
        action_id = held_action(jira.post("/rest/api/2/issue/bulk", json={"issueUpdates": updates}))
        record = dc.agent_view(action_id)
        assert record["details"]["priority"] == "P1"  # P1 ranks highest, not P4 or P3
        assert record["rule"] == "urgent-needs-a-lead"
        # The reviewer's bulk P2 caps every ticket: P1 becomes P2, P3 and P4 stay.
        assert decide(dc, action_id, {"priority": "P2"}).status_code == 200
        dc.wait_for_status(action_id, "executed")
    made = {i.summary: i.priority for i in dc.sandbox_issues(label="bulk-p")}
    assert made == {"calm one": "P4", "burning one": "P2", "mild one": "P3"}

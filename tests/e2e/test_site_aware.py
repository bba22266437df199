"""The gateway in front of the Data Center sandbox (P1..P4, Sub-task, Epic Name, resolution
screens), over real HTTP: a value the site does not have is refused before anything is sent,
with the site's valid values; a policy matches a custom field by name whether the agent sent
it by name or by id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jiragate.jira.sandbox.state import IMPACT_FIELD, STORY_POINTS_FIELD
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service, running_dc_service

POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: big-impact-needs-a-lead
    match:
      action: jira_create_ticket
      details.customFields."Customer impact": {gt: 5}
    decision: require_approval
    route_to: engineering-leads
  - id: estimates-need-a-lead
    match:
      action: jira_update_story_points
    decision: require_approval
    route_to: engineering-leads
  - id: field-edits
    match:
      action: jira_update_fields
    decision: allow
  - id: small-tickets
    match:
      action: jira_create_ticket
      project: ENG
    decision: allow
  - id: reads
    match: {kind: read}
    decision: allow
"""


@pytest.fixture
def dc(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with running_dc_service(db_url, policy_dir=tmp_path / "policies", policy=POLICY) as running:
        yield running


def ticket(**details: object) -> dict[str, object]:
    return {
        "action": "jira_create_ticket",
        "summary": "file it",
        "details": {"projectKey": "ENG", "issueType": "Bug", "summary": "Crash", **details},
    }


def posted_issues(service: Service) -> list[object]:
    return [r for r in service.sandbox.logged() if r.method == "POST" and r.path.endswith("/issue")]


def test_a_priority_the_site_lacks_is_refused_before_anything_is_sent(dc: Service) -> None:
    answer = dc.agent.post("/v1/actions", json=ticket(priority="High"))
    assert answer.status_code == 422, answer.text
    (violation,) = answer.json()["violations"]
    assert violation["pointer"] == "/priority" and violation["rule"] == "site-priority"
    assert "'P1', 'P2', 'P3', 'P4'" in violation["message"]
    assert posted_issues(dc) == []
    subtask = dc.agent.post("/v1/actions", json=ticket(issueType="Subtask", parentKey="ENG-5"))
    assert subtask.status_code == 422
    assert "did you mean 'Sub-task'" in subtask.json()["violations"][0]["message"]
    fine = dc.agent.post("/v1/actions", json=ticket(issueType="Sub-task", parentKey="ENG-5"))
    assert fine.status_code in (200, 201), fine.text
    assert fine.json()["status"] == "executed", fine.json()


def test_a_custom_field_is_matched_by_name_however_it_was_sent(dc: Service) -> None:
    by_id = dc.agent.post("/v1/actions", json=ticket(customFields={IMPACT_FIELD: 8}))
    assert by_id.status_code in (200, 201, 202), by_id.text
    body = by_id.json()
    assert body["status"] == "pending_approval", body
    assert body["details"]["customFields"] == {"Customer impact": 8}  # what policies saw
    small = dc.agent.post("/v1/actions", json=ticket(customFields={"Customer impact": 2}))
    assert small.json()["status"] == "executed", small.json()
    (made,) = [i for i in dc.sandbox.issues.values() if i.summary == "Crash"]
    assert made.custom_fields[IMPACT_FIELD] == 2  # only the allowed one reached Jira
    unknown = dc.agent.post("/v1/actions", json=ticket(customFields={"Customer impcat": 2}))
    assert unknown.status_code == 422
    assert "did you mean 'Customer impact'" in unknown.json()["violations"][0]["message"]


@pytest.mark.parametrize("ref", ["Story Points", "story points", STORY_POINTS_FIELD])
def test_story_points_cannot_step_around_the_rules_on_estimates(dc: Service, ref: str) -> None:
    """An agent allowed to edit fields but not estimates tries to set the estimate as a
    custom field (by name, in another case, by id): refused before any decision, nothing
    recorded as an action, nothing sent; the estimate keeps its own action's review."""
    before = dc.sandbox.issues["ENG-3"].story_points
    edit = {
        "action": "jira_update_fields",
        "summary": "re-estimate",
        "details": {"issueKeys": ["ENG-3"], "customFields": {ref: 40}},
    }
    refused = dc.agent.post("/v1/actions", json=edit)
    assert refused.status_code == 422, refused.text
    (violation,) = refused.json()["violations"]
    assert violation["rule"] == "own-action-field"
    assert "jira_update_story_points" in violation["message"]
    created = dc.agent.post("/v1/actions", json=ticket(customFields={ref: 40}))
    assert created.status_code == 422, created.text
    assert "storyPoints" in created.json()["violations"][0]["message"]
    assert not [r for r in dc.sandbox.logged() if r.method in ("PUT", "POST")]
    assert dc.sandbox.issues["ENG-3"].story_points == before
    # The one way to change an estimate is reviewed.
    points = {
        "action": "jira_update_story_points",
        "summary": "re-estimate",
        "details": {"updates": [{"issueKey": "ENG-3", "storyPoints": 40}]},
    }
    held = dc.agent.post("/v1/actions", json=points)
    assert held.json()["status"] == "pending_approval", held.json()

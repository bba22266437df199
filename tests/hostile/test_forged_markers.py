"""Hole 3: forged exactly-once markers.

An agent that knows (or guesses) another action's id labels existing issues with that
action's marker labels (`jiragate-<id>`, `jiragate-<id>.<n>`), through `jira_update_fields` or
a create. Before the fix the victim action then "found" those issues, reported `executed`
and created nothing. Now every write that would add, set or remove such a label is refused
with a 422 naming the pointer (nothing stored), and labels put on issues by any other means
prove nothing: the adapter only counts issues carrying its signed marker property, created by
the service account after the action was recorded. Over real HTTP, SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.jira.markers import MARKER_PROPERTY
from tests.conftest_db import db_url, postgres_admin  # noqa: F401  (both databases)
from tests.helpers.service import Service, running_service


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:  # noqa: F811
    with running_service(db_url) as running:
        yield running


def victim_tickets(service: Service, count: int = 2) -> tuple[str, str]:
    """An approval-gated bulk creation (the victim); its id and its own label."""
    label = f"victim-{uuid.uuid4().hex[:8]}"
    body = {
        "action": "jira_create_tickets",
        "summary": f"victim: {count} tickets",
        "details": {
            "projectKey": "ENG",
            "issueCount": count,
            "issueType": "Bug",
            "priority": "Low",
            "labels": [label],
        },
    }
    answer = service.agent.post("/v1/actions", json=body)
    assert answer.status_code in (200, 201, 202), answer.text
    assert answer.json()["status"] == "pending_approval"
    return answer.json()["id"], label


def forging_writes(marker: str) -> list[tuple[str, dict[str, Any], str]]:
    """(action, details, the pointer that must be named) for every way to write a label."""
    return [
        (
            "jira_update_fields",
            {"issueKeys": ["ENG-9", "ENG-10"], "addLabels": ["ok", marker, f"{marker}.0"]},
            "/addLabels/1",
        ),
        (
            "jira_update_fields",
            {"issueKeys": ["ENG-9"], "fields": {"labels": [f"{marker}.1"]}},
            "/fields/labels/0",
        ),
        (
            "jira_update_fields",
            {"issueKeys": ["ENG-9"], "removeLabels": [marker]},
            "/removeLabels/0",
        ),
        (
            "jira_create_ticket",
            {
                "projectKey": "ENG",
                "issueType": "Task",
                "summary": "decoy",
                "labels": [marker, f"{marker}.0"],
            },
            "/labels/0",
        ),
        (
            "jira_create_tickets",
            {
                "projectKey": "ENG",
                "issueCount": 1,
                "issueType": "Task",
                "priority": "Low",
                "tickets": [{"summary": "decoy", "labels": [f"{marker}.1"]}],
            },
            "/tickets/0/labels/0",
        ),
        (
            "jira_create_epic",
            {"projectKey": "ENG", "summary": "decoy", "labels": [marker]},
            "/labels/0",
        ),
        ("jira_update_epic", {"epicKey": "ENG-1", "labels": [f"{marker}.0"]}, "/labels/0"),
    ]


def action_count(service: Service) -> int:
    return len(service.gateway._store.list_actions(limit=500).items)


def assert_refused(service: Service, action: str, details: dict[str, Any], pointer: str) -> None:
    envelope = {"action": action, "summary": "relabel some issues", "details": details}
    for path in ("/v1/actions", "/v1/evaluate"):  # submit, and the dry run says so too
        answer = service.agent.post(path, json=envelope)
        assert answer.status_code == 422, (path, answer.text)
        body = answer.json()
        assert body["error"] == "invalid_details"
        assert any(
            v["pointer"] == pointer and v["rule"] == "reserved-label" for v in body["violations"]
        ), body


def test_every_write_of_another_actions_marker_label_is_refused_and_nothing_is_stored(
    service: Service,
):
    victim_id, _ = victim_tickets(service)
    before = action_count(service)
    labels_before = {key: list(issue.labels) for key, issue in service.sandbox.issues.items()}
    for action, details, pointer in forging_writes(f"jiragate-{victim_id}"):
        assert_refused(service, action, details, pointer)
    assert action_count(service) == before
    assert {k: list(i.labels) for k, i in service.sandbox.issues.items()} == labels_before


# Look-alikes of the prefix: other case, full-width letters (NFKC folds them), a trailing
# suffix. Jira's JQL matches labels case-insensitively, so each would be found by the search.
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "jiragte"}


@st.composite
def look_alike_markers(draw: st.DrawFn) -> str:
    prefix = "".join(
        draw(st.sampled_from([c, c.upper(), _FULLWIDTH.get(c, c)])) for c in "jiragate"
    )
    rest = draw(st.from_regex(r"[A-Za-z0-9]{1,12}(\.[0-9]{1,2})?", fullmatch=True))
    return f"{prefix}-{rest}"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(label=look_alike_markers())
def test_look_alike_marker_labels_are_refused_too(service: Service, label: str):
    before = action_count(service)
    answer = service.agent.post(
        "/v1/actions",
        json={
            "action": "jira_update_fields",
            "summary": "relabel",
            "details": {"issueKeys": ["ENG-9"], "addLabels": [label]},
        },
    )
    assert answer.status_code == 422, (label, answer.text)
    assert answer.json()["violations"][0]["pointer"] == "/addLabels/0"
    assert action_count(service) == before


def test_a_reviewer_edit_cannot_add_a_marker_label(service: Service):
    victim_id, _ = victim_tickets(service)
    other_id, _ = victim_tickets(service)
    decided = service.client("lead-alice").post(
        f"/v1/approvals/{other_id}/decision",
        json={"verdict": "approve", "modifiedDetails": {"labels": [f"jiragate-{victim_id}.0"]}},
    )
    assert decided.status_code == 409, decided.text
    # Two checks stand in the way: a reviewer may only drop labels (the edit rules, which
    # answer first), and no write may carry a marker label (Gateway.check_edit after them).
    assert "/labels: may only drop" in decided.json()["message"]
    assert service.agent_view(other_id)["status"] == "pending_approval"


def test_marker_labels_put_on_issues_outside_the_gateway_prove_nothing(service: Service):
    """Labels (and a property with a made-up MAC) forged straight in Jira, as an earlier
    version's agents could, or anyone with Edit issues: the victim still creates its own
    tickets, and says which issues are its own."""
    victim_id, label = victim_tickets(service)
    marker = f"jiragate-{victim_id}"
    state = service.sandbox
    with state.lock:
        state.issues["ENG-9"].labels += [marker, f"{marker}.0"]
        state.issues["ENG-10"].labels += [marker, f"{marker}.1"]
        state.issues["ENG-10"].properties[MARKER_PROPERTY] = {
            "action": victim_id,
            "index": 1,
            "mac": "0" * 64,
        }
    decided = service.client("lead-alice").post(
        f"/v1/approvals/{victim_id}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    final = service.wait_for_status(victim_id, "executed", "partially_executed", "failed")
    assert final["status"] == "executed", final
    created = {c["key"] for c in final["result"]["created"]}
    assert created.isdisjoint({"ENG-9", "ENG-10"}), final["result"]
    mine = service.sandbox_issues(label=label)
    assert sorted(i.key for i in mine) == sorted(created)
    assert len(mine) == 2
    for issue in mine:  # what the gateway wrote: both labels and a property that verifies
        assert marker in issue.labels
        assert issue.properties[MARKER_PROPERTY]["action"] == victim_id

"""Jira misbehaving under a running service (real HTTP both ways): 429 storms with
Retry-After, 500/503, timeouts, dropped connections and partial bulk failures. Retries stay
within policy, and the final status says exactly what happened, per ticket."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers.jira_timeouts import running_service_with_jira_timeout
from tests.helpers.service import Service

BULK = "/rest/api/3/issue/bulk"
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    # A 1 s Jira timeout so a "slow Jira" fault is a timeout without a long test. Retry an
    # unknown outcome after 2 s: longer than the slowest injected Jira (1.5 s).
    with running_service_with_jira_timeout(
        db_url, jira_timeout=1.0, max_retries=3, execution_retry_seconds=2.0
    ) as running:
        yield running


def arm(service: Service, method: str, path: str, fault: dict[str, Any], times: int | None = 1):
    response = httpx.post(
        f"{service.sandbox_url}/_sandbox/faults",
        json={"match": {"method": method, "path": path}, "times": times, "fault": fault},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


def approved_tickets(service: Service, count: int) -> tuple[str, str]:
    label = f"jf-{uuid.uuid4().hex[:8]}"
    body = {
        "action": "jira_create_tickets",
        "summary": f"{count} tickets under Jira faults",
        "details": {
            "projectKey": "ENG",
            "issueCount": count,
            "issueType": "Bug",
            "priority": "High",
            "labels": ["ai-generated", label],
        },
    }
    action = service.agent.post("/v1/actions", json=body).json()
    decided = service.client("lead-alice").post(
        f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    return action["id"], label


def finished(service: Service, action_id: str) -> dict[str, Any]:
    return service.wait_for_status(
        action_id, "executed", "partially_executed", "failed", timeout=60
    )


def test_a_429_storm_with_retry_after_is_waited_out(service: Service):
    arm(service, "POST", BULK, {"kind": "status", "status": 429, "retry_after": "0"}, times=3)
    action_id, label = approved_tickets(service, 3)
    final = finished(service, action_id)
    assert final["status"] == "executed", final
    assert len(service.sandbox_issues(label=label)) == 3
    throttled = [e for e in service.sandbox.logged() if e.path == BULK and e.status == 429]
    assert len(throttled) == 3


def test_a_429_storm_beyond_the_retry_budget_fails_truthfully_and_creates_nothing(
    service: Service,
):
    arm(service, "POST", BULK, {"kind": "status", "status": 429, "retry_after": "0"}, times=None)
    try:
        action_id, label = approved_tickets(service, 2)
        final = finished(service, action_id)
    finally:
        httpx.delete(f"{service.sandbox_url}/_sandbox/faults", timeout=10)
    assert final["status"] == "failed", final
    assert service.sandbox_issues(label=label) == []
    failures = final["result"]["failures"]
    assert sorted(f["index"] for f in failures) == [0, 1]
    assert all("429" in f["reason"] for f in failures), failures


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "retry_after": "0"},
        {"kind": "status", "status": 500},
        {"kind": "drop", "when": "before"},
        {"kind": "drop", "when": "after"},  # Jira created them; the answer was lost
        # Longer than the 1 s timeout; Jira still creates. The adapter must not resend (its
        # marker search may run before Jira finishes); the gateway retries after the settle
        # delay, finds the markers, and creates nothing more.
        {"kind": "delay", "seconds": 1.5},
    ],
    ids=["503", "500", "drop-before", "drop-after", "timeout"],
)
def test_an_ambiguous_create_failure_never_duplicates(service: Service, fault: dict[str, Any]):
    arm(service, "POST", BULK, fault)
    action_id, label = approved_tickets(service, 4)
    final = finished(service, action_id)
    assert final["status"] == "executed", final
    issues = service.sandbox_issues(label=label)
    assert len(issues) == 4  # found by marker after the lost answer, not created again
    assert sorted(c["index"] for c in final["result"]["created"]) == [0, 1, 2, 3]
    assert sorted(c["key"] for c in final["result"]["created"]) == sorted(i.key for i in issues)


def test_a_failed_marker_search_is_retried_as_a_safe_read(service: Service):
    arm(service, "POST", SEARCH, {"kind": "status", "status": 503, "retry_after": "0"}, times=2)
    action_id, label = approved_tickets(service, 2)
    assert finished(service, action_id)["status"] == "executed"
    assert len(service.sandbox_issues(label=label)) == 2


def test_a_partial_bulk_failure_is_reported_per_ticket(service: Service):
    arm(service, "POST", BULK, {"kind": "partial_bulk", "indexes": [1, 3]})
    action_id, label = approved_tickets(service, 5)
    final = finished(service, action_id)
    assert final["status"] == "partially_executed", final
    assert sorted(c["index"] for c in final["result"]["created"]) == [0, 2, 4]
    assert sorted(f["index"] for f in final["result"]["failures"]) == [1, 3]
    assert len(service.sandbox_issues(label=label)) == 3
    # Final: a partial result is not retried behind the reviewer's back.
    assert len(service.gateway._store.list_executions(action_id)) == 1


def test_a_read_through_a_503_storm_is_retried_then_answered(service: Service):
    arm(
        service,
        "GET",
        "/rest/api/3/issue/ENG-1",
        {"kind": "status", "status": 503, "retry_after": "0"},
        times=2,
    )
    response = service.agent.post(
        "/v1/actions",
        json={"action": "jira_get_issue", "summary": "read", "details": {"issueKey": "ENG-1"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "executed"


def test_a_delete_resumed_after_an_unknown_outcome_counts_the_earlier_work(service: Service):
    # Jira deletes ENG-9 but every answer of the first attempt is lost (the client's retries
    # included): the outcome is unknown. The worker's second attempt gets 404 — the first
    # attempt's work — and must report it deleted, not failed.
    arm(service, "DELETE", "/rest/api/3/issue/ENG-9", {"kind": "drop", "when": "after"}, times=4)
    body = {
        "action": "jira_delete_issues",
        "summary": "delete ENG-9",
        "details": {"issueKeys": ["ENG-9"]},
    }
    action = service.agent.post("/v1/actions", json=body).json()
    decided = service.client("pm-dave").post(
        f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    final = finished(service, action["id"])
    assert final["status"] == "executed", final
    assert final["result"]["updated"] == ["ENG-9"], final["result"]
    assert final["attempts"] == 2, final
    with service.sandbox.lock:
        assert "ENG-9" not in service.sandbox.issues


def test_a_release_resumed_after_an_unknown_outcome_is_not_created_twice(service: Service):
    # Jira creates the version but the answer is lost, and so is every answer to the check
    # for it (the client's retries included): the outcome is unknown. The second attempt
    # must find the version by its unique name, not create it again and end failed on
    # Jira's "name already used".
    name = f"rel-{uuid.uuid4().hex[:8]}"
    arm(service, "POST", "/rest/api/3/version", {"kind": "drop", "when": "after"}, times=1)
    arm(
        service,
        "GET",
        "/rest/api/3/project/ENG/versions",
        {"kind": "status", "status": 503, "retry_after": "0"},
        times=4,
    )
    body = {
        "action": "jira_create_release",
        "summary": f"release {name}",
        "details": {"projectKey": "ENG", "name": name},
    }
    action = service.agent.post("/v1/actions", json=body).json()
    decided = service.client("pm-carol").post(
        f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    final = finished(service, action["id"])
    assert final["status"] == "executed", final
    assert final["attempts"] == 2, final
    assert final["result"]["data"]["createdByEarlierAttempt"] is True
    with service.sandbox.lock:
        named = [v for v in service.sandbox.versions.values() if v.name == name]
    assert len(named) == 1
    assert final["result"]["data"]["version"]["id"] == str(named[0].id)

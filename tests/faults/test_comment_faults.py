"""Hole 4 and the capped Retry-After, under a running service (real HTTP both ways).

A comment has no natural key. Before the fix, a comment whose answer was lost after Jira
applied it was posted again on the retry, and a 502/504 was recorded as `failed` although the
comment may exist. Now every comment carries the gateway's marker property, is looked for
before it is posted and after any lost answer, and a 502/504/drop is an unknown outcome that
is retried later, never `failed`. A `Retry-After` longer than `max_retry_wait` is not slept:
the attempt ends at once and the action is deferred by that long.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from jiragate.store import ActionStatus
from tests.helpers.jira_timeouts import running_service_with_jira_timeout
from tests.helpers.service import Service

ISSUE = "ENG-9"
COMMENT = f"/rest/api/3/issue/{ISSUE}/comment"


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    with running_service_with_jira_timeout(
        db_url, jira_timeout=1.0, max_retries=2, execution_retry_seconds=1.0
    ) as running:
        yield running


def arm(service: Service, method: str, path: str, fault: dict[str, Any], times: int = 1) -> None:
    response = httpx.post(
        f"{service.sandbox_url}/_sandbox/faults",
        json={"match": {"method": method, "path": path}, "times": times, "fault": fault},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


def approved_comment(service: Service) -> tuple[str, str]:
    text = f"triage note {uuid.uuid4().hex[:8]}"
    body = {
        "action": "jira_add_comment",
        "summary": "add a triage note",
        "details": {"issueKey": ISSUE, "body": text},
    }
    action = service.agent.post("/v1/actions", json=body).json()
    assert action["status"] == "pending_approval", action
    decided = service.client("lead-alice").post(
        f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    return action["id"], text


def comments_saying(service: Service, text: str) -> list[Any]:
    from jiragate.jira.sandbox.state import adf_to_text

    with service.sandbox.lock:
        comments = list(service.sandbox.issues[ISSUE].comments)
    return [c for c in comments if adf_to_text(c.body) == text]


def statuses_seen(service: Service, action_id: str, until: set[str], timeout: float) -> list[str]:
    """Every status the action shows while polled, until one of `until` (or the deadline)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = service.agent_view(action_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in until:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{action_id} went through {seen}, never reached {until}")


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop", "when": "after"},  # Jira posted it; the answer was lost
        {"kind": "delay", "seconds": 1.5},  # longer than the 1 s timeout; Jira still posts
        {"kind": "drop", "when": "before"},  # nothing posted, no answer either
        {"kind": "status", "status": 502},
        {"kind": "status", "status": 504},
    ],
    ids=["drop-after", "timeout", "drop-before", "502", "504"],
)
def test_a_comment_without_a_usable_answer_is_posted_exactly_once(
    service: Service, fault: dict[str, Any]
):
    arm(service, "POST", COMMENT, fault)
    action_id, text = approved_comment(service)
    seen = statuses_seen(service, action_id, {"executed", "failed"}, timeout=30)
    assert "failed" not in seen, seen  # an unknown outcome is never reported as a refusal
    assert seen[-1] == "executed", seen
    assert len(comments_saying(service, text)) == 1
    final = service.agent_view(action_id)
    assert final["result"]["updated"] == [ISSUE]
    assert final["result"]["data"]["commentId"] == str(comments_saying(service, text)[0].id)


def first_attempt(service: Service, action_id: str, timeout: float) -> Any:
    """The action's first execution row once it has finished (polled with a deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executions = service.gateway._store.list_executions(action_id)
        if executions and executions[0].finished_at is not None:
            return executions[0]
        time.sleep(0.02)
    raise AssertionError(f"the first attempt of {action_id} did not finish in {timeout} s")


def test_a_comment_after_a_502_is_unknown_and_retried_not_failed(service: Service):
    """What the attempt records: outcome unknown, a retry scheduled, the action executing."""
    arm(service, "POST", COMMENT, {"kind": "status", "status": 502})
    service.gateway.settings.execution_retry_seconds = 30.0  # hold the retry back
    action_id, text = approved_comment(service)
    assert first_attempt(service, action_id, timeout=15).outcome == "unknown"
    view = service.agent_view(action_id)
    assert view["status"] == "executing", view
    assert comments_saying(service, text) == []  # a 502 here applied nothing


def test_a_long_retry_after_defers_the_action_instead_of_blocking_the_worker(service: Service):
    arm(service, "POST", COMMENT, {"kind": "status", "status": 429, "retry_after": "3600"})
    gateway = service.gateway
    started = time.monotonic()
    action_id, text = approved_comment(service)
    # The worker's attempt ends at once (before: it slept the whole hour).
    attempt = first_attempt(service, action_id, timeout=15)
    assert time.monotonic() - started < gateway._adapter.config.max_retry_wait
    assert attempt.outcome == "deferred", attempt
    # The execution row and the rescheduling are two transactions: wait for the second.
    record = gateway._store.get_action(action_id)
    deadline = time.monotonic() + 15
    while record is not None and record.claimed_by is not None and time.monotonic() < deadline:
        time.sleep(0.02)
        record = gateway._store.get_action(action_id)
    assert record is not None and record.status is ActionStatus.EXECUTING
    assert record.claimed_by is None and record.claim_expires_at is not None
    wait = (record.claim_expires_at - datetime.now(UTC)).total_seconds()
    assert 3500 < wait <= 3600, wait  # deferred by what Jira asked for
    assert comments_saying(service, text) == []
    events = service.client("auditor").get("/v1/audit", params={"action_id": action_id}).json()
    scheduled = [e for e in events["items"] if e["type"] == "action.retry_scheduled"]
    assert scheduled and scheduled[-1]["data"]["reason"] == "rate_limited", events

"""An action whose execution keeps crashing ends `failed` after `max_attempts`, with the error
recorded, instead of being claimed again every worker round forever (it was once 122 attempts
against a `max_attempts` of 5, stuck in `executing`).

The crash is real: a `jiragate worker` process runs against a "Jira" that answers every call
with a JSON list where an object belongs, which the adapter does not expect (an
AttributeError, not a JiraError). And a claim past `max_attempts` (the attempts before it
died with their worker) gives up before running anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jiragate.gateway import Gateway
from jiragate.store import ActionStatus, Store, make_engine
from tests.helpers.servers import serve_app
from tests.helpers.service import make_settings
from tests.scale.cluster import AGENT, cluster, wait_until

MAX_ATTEMPTS = 3
TRANSITION = {
    "action": "jira_transition_issues",
    "summary": "close a resolved ticket",
    "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
}


async def _list_for_everything(request: Request) -> JSONResponse:
    return JSONResponse([{"unexpected": request.url.path}])


@pytest.fixture
def malformed_jira() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/{path:path}", _list_for_everything, methods=["GET", "POST", "PUT"])]
    )
    with serve_app(app) as url:
        yield url


def _final(client: Any, action_id: str) -> dict[str, Any] | None:
    view: dict[str, Any] = client.get(f"/v1/actions/{action_id}").json()
    return view if view["status"] not in ("approved", "executing") else None


def test_a_crashing_execution_fails_after_max_attempts_in_a_real_worker(
    tmp_path: Path, db_url: str, malformed_jira: str
) -> None:
    with cluster(
        tmp_path,
        db_url,
        malformed_jira,
        max_attempts=MAX_ATTEMPTS,
        execution_retry_seconds=0.1,
        lease_seconds=30,
    ) as c:
        replica = c.serve("replica")
        worker = c.worker("worker")
        agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
        action = agent.post("/v1/actions", json=TRANSITION).json()
        assert action["status"] == "pending_approval", action
        decided = lead.post(f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"})
        assert decided.status_code == 200, decided.text

        final = wait_until(lambda: _final(agent, action["id"]), timeout=60, what="failed")
        assert final["status"] == "failed", final
        assert f"gave up after {MAX_ATTEMPTS} attempts" in final["error"]
        assert "execution crashed: AttributeError" in final["error"]
        assert worker.alive  # the worker survived every crash

        engine = make_engine(db_url)
        try:
            executions = Store(engine).list_executions(action["id"])
        finally:
            engine.dispose()
        assert [e.attempt for e in executions] == list(range(1, MAX_ATTEMPTS + 1))
        assert {e.outcome for e in executions} == {"crashed"}
        assert all("AttributeError" in (e.error or "") for e in executions)


def test_a_claim_past_max_attempts_gives_up_without_running(
    db_url: str, malformed_jira: str
) -> None:
    """Attempts whose worker died mid-round never finished, but they were counted when
    claimed: the next claim past the limit fails the action instead of running it again."""
    settings = make_settings(db_url, malformed_jira, max_attempts=MAX_ATTEMPTS)
    asyncio.run(_claim_past_the_limit(Gateway.build(settings)))


async def _claim_past_the_limit(gateway: Gateway) -> None:
    try:
        store = gateway._store
        record = store.create_action(
            agent=AGENT,
            action=TRANSITION["action"],
            summary=TRANSITION["summary"],
            justification=None,
            details=TRANSITION["details"],
            effective_details=TRANSITION["details"],
            kind="write",
            decision="require_approval",
            status=ActionStatus.APPROVED,
            review_group="engineering-leads",
            determining_rule="transitions",
            decision_json={},
            policy_revision=gateway._policies.current.revision,
        ).action
        for attempt in range(1, MAX_ATTEMPTS + 1):  # each claimed, then its worker "died"
            claimed = store.claim_next_approved(worker_id=f"dead-{attempt}", lease_seconds=30)
            assert claimed is not None and claimed.attempts == attempt
            store.record_execution(action_id=record.id, attempt=attempt, worker=f"dead-{attempt}")
            assert store.transition_status(
                record.id,
                from_statuses=[ActionStatus.EXECUTING],
                to_status=ActionStatus.APPROVED,
                claimed_by=None,
                claim_expires_at=None,
            )
        calls_before = gateway._adapter.client.stats.calls
        done = await gateway.run_once()
        assert done is not None and done.status is ActionStatus.FAILED
        assert f"gave up after {MAX_ATTEMPTS} attempts" in (done.error or "")
        assert "never finished" in (done.error or "")
        assert gateway._adapter.client.stats.calls == calls_before  # Jira was not called again
        assert await gateway.run_once() is None  # nothing left to claim
    finally:
        await gateway.aclose()

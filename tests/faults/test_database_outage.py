"""The database goes away under a running replica (a TCP proxy between them is cut): every
request that needs it answers 503 with a clear JSON message, nothing is half-written, and
the replica recovers by itself when the database is back."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from jiragate.jira.sandbox import SandboxState
from jiragate.store import Store, make_engine
from jiragate.store.audit import list_events, verify
from tests.faults.tcp_proxy import TcpProxy
from tests.scale.cluster import AGENT, cluster, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def through(proxy: TcpProxy, url: str) -> str:
    parsed = make_url(url)
    return parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def test_a_database_outage_is_a_clean_503_and_nothing_is_half_written(
    tmp_path: Path, postgres_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, state = sandbox
    parsed = make_url(postgres_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    label = f"dbcut-{uuid.uuid4().hex[:8]}"
    read = {"action": "jira_get_issue", "summary": "read", "details": {"issueKey": "ENG-1"}}
    gated = {
        "action": "jira_create_tickets",
        "summary": "tickets across a database outage",
        "details": {
            "projectKey": "ENG",
            "issueCount": 1,
            "issueType": "Bug",
            "priority": "High",
            "labels": [label],
        },
    }
    try:
        with cluster(tmp_path, through(proxy, postgres_url), jira_url) as c:
            replica = c.serve("replica", worker=True)
            agent, lead = c.client(replica, AGENT), c.client(replica, "lead-alice")
            before = agent.post("/v1/actions", json=gated).json()
            assert before["status"] == "pending_approval"

            proxy.cut()
            answers = [
                agent.post("/v1/actions", json=read),
                agent.post("/v1/actions", json=gated),
                agent.get(f"/v1/actions/{before['id']}"),
                lead.post(f"/v1/approvals/{before['id']}/decision", json={"verdict": "approve"}),
            ]
            for response in answers:
                assert response.status_code == 503, (response.request.url, response.text)
                assert response.json()["error"] == "database_unavailable"
                assert "database" in response.json()["message"]
            ready = c.client(replica).get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            assert c.client(replica).get("/healthz").status_code == 200  # alive, not ready

            proxy.restore()
            wait_until(
                lambda: c.client(replica).get("/readyz").status_code == 200, what="readiness"
            )
            decided = lead.post(
                f"/v1/approvals/{before['id']}/decision", json={"verdict": "approve"}
            )
            assert decided.status_code == 200, decided.text
            wait_until(
                lambda: agent.get(f"/v1/actions/{before['id']}").json()["status"] == "executed",
                what="execution after the outage",
            )
            assert agent.post("/v1/actions", json=read).json()["status"] == "executed"
            assert replica.alive
    finally:
        proxy.close()

    # Nothing half-written: the chain verifies and every action has its submission event.
    engine = make_engine(postgres_url)
    try:
        assert verify(engine).ok
        events = list_events(engine, limit=1000)
        submitted = {e.action_id for e in events if e.type == "action.submitted"}

        actions = Store(engine).list_actions(limit=500).items
        assert {a.id for a in actions} <= submitted
        assert len([i for i in state.issues.values() if label in i.labels]) == 1
    finally:
        engine.dispose()

"""Cheqpoint down, failing, and lying, against two real replicas on one database (the
webhook and polls may land on either): nothing executes without an approval fetched from
Cheqpoint with our own key, an outage leaves actions pending (then they are sent again),
a decision that comes after expiry changes nothing, and an approval executes once however
many replicas hear about it. (Single-service webhook cases: tests/e2e/test_cheqpoint_webhooks.py.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from jiragate.jira.sandbox import SandboxState
from tests.api.support import copy_policies, edit_group
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import serve_app
from tests.helpers.service import WEBHOOK_SECRET
from tests.scale.cluster import AGENT, cluster, wait_until

pytestmark = pytest.mark.slow
CONNECTION_KEY = "cq_live_outage_connection_key_01"


@pytest.fixture
def cheqpoint() -> Iterator[tuple[str, FakeCheqpoint]]:
    app, state = create_fake_cheqpoint(CONNECTION_KEY)
    with serve_app(app) as url:
        yield url, state


def push(url: str, body: dict[str, Any], secret: str = WEBHOOK_SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    return httpx.post(
        f"{url}/v1/webhooks/cheqpoint",
        content=raw,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(secret, raw)},
        timeout=30,
    )


def gated(label: str) -> dict[str, Any]:
    return {
        "action": "jira_create_tickets",
        "summary": "tickets through Cheqpoint",
        "details": {
            "projectKey": "ENG",
            "issueCount": 2,
            "issueType": "Bug",
            "priority": "High",
            "labels": [label],
        },
    }


def test_cheqpoint_outages_and_late_or_lying_decisions_across_replicas(
    tmp_path: Path,
    db_url: str,
    sandbox: tuple[str, SandboxState],
    cheqpoint: tuple[str, FakeCheqpoint],
):
    jira_url, state = sandbox
    cq_url, fake = cheqpoint
    policy_dir = copy_policies(tmp_path)
    # Long enough for steps 1-3 on a loaded machine (4 s expired them under a parallel run),
    # short enough for step 5 to see an expiry.
    edit_group(policy_dir, "engineering-leads", approval_timeout="12s")
    settings = {
        "policy_dir": str(policy_dir),
        "approval_backend": "cheqpoint",
        "cheqpoint": {
            "url": cq_url,
            "connection_key": CONNECTION_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "poll_interval": 0.2,
        },
        "public_url": "http://127.0.0.1:9",
    }

    def issues(label: str) -> list[Any]:
        with state.lock:
            return [i for i in state.issues.values() if label in i.labels]

    with cluster(tmp_path, db_url, jira_url, **settings) as c:
        front = c.serve("front")  # takes the agent's requests; no worker
        back = c.serve("back", worker=True)  # syncs Cheqpoint and executes
        agent = c.client(front, AGENT)
        auditor = c.client(back, "auditor")

        def view(action_id: str) -> dict[str, Any]:
            return agent.get(f"/v1/actions/{action_id}").json()

        def types(action_id: str) -> list[str]:
            page = auditor.get("/v1/audit", params={"action_id": action_id, "limit": 1000})
            return [e["type"] for e in page.json()["items"]]

        # 1. Cheqpoint is down when the action is submitted: it stays pending (fail closed),
        #    and the back replica's sync loop sends it again once Cheqpoint answers.
        label = f"cq-{uuid.uuid4().hex[:8]}"
        fake.fail_next(503, count=1)
        action = agent.post("/v1/actions", json=gated(label)).json()
        assert action["status"] == "pending_approval"
        assert "approval.backend_error" in types(action["id"])
        ref = wait_until(lambda: view(action["id"])["approval"].get("ref"), what="resend")
        assert "approval.opened" in types(action["id"])

        # 2. Down again (every call fails) while a reviewer approves: nothing can be
        #    verified, so nothing runs; webhooks meanwhile are only hints and change nothing.
        fake.fail_next(503, count=10_000)
        fake.decide(ref, "APPROVED")
        claim = {"id": ref, "status": "APPROVED"}
        assert push(front.url, claim).json()["status"] == "pending_approval"
        assert view(action["id"])["status"] == "pending_approval"
        assert issues(label) == []
        with fake.lock:
            fake.faults.clear()

        # 3. Back up: forged pushes are refused; a real one (to the replica that did not
        #    submit) executes it; replays to either replica change nothing.
        forged = push(front.url, claim, secret="not-the-webhook-secret")
        assert forged.status_code == 401 and forged.json()["error"] == "webhook_refused"
        assert push(back.url, claim).status_code == 200
        final = wait_until(
            lambda: (v := view(action["id"]))["status"] in ("executed", "failed") and v,
            what="execution",
        )
        assert final["status"] == "executed"
        for url in (front.url, back.url, front.url):
            assert push(url, claim).json()["status"] == "executed"
        assert len(issues(label)) == 2
        assert types(action["id"]).count("action.executed") == 1
        assert types(action["id"]).count("approval.approved") == 1

        # 4. A webhook for an id nobody waits on.
        assert push(back.url, {"id": "cq_nobody_waits_on_this"}).status_code == 404

        # 5. Nobody decides within the group's 12 s: expired; a later approval changes nothing.
        late_label = f"cq-{uuid.uuid4().hex[:8]}"
        late = agent.post("/v1/actions", json=gated(late_label)).json()
        late_ref = wait_until(lambda: view(late["id"])["approval"].get("ref"), what="ref")
        wait_until(lambda: view(late["id"])["status"] == "expired", what="expiry", timeout=60)
        fake.decide(late_ref, "APPROVED")
        for url in (front.url, back.url):
            assert push(url, {"id": late_ref, "status": "APPROVED"}).status_code in (200, 404)
        assert view(late["id"])["status"] == "expired"
        assert late_label not in {lab for i in state.issues.values() for lab in i.labels}
        assert "action.executed" not in types(late["id"])


def test_a_slow_create_is_not_duplicated_by_the_sync_loop_of_another_replica(
    tmp_path: Path,
    db_url: str,
    sandbox: tuple[str, SandboxState],
    cheqpoint: tuple[str, FakeCheqpoint],
):
    # The submitting replica's create takes 3 s. Meanwhile the other replica's sync loop
    # (every 0.2 s) sees a pending Cheqpoint approval without a request id; creating one
    # there would open a second request for the same action, decidable on its own.
    jira_url, _ = sandbox
    cq_url, fake = cheqpoint
    settings = {
        "policy_dir": str(copy_policies(tmp_path)),
        "approval_backend": "cheqpoint",
        "cheqpoint": {
            "url": cq_url,
            "connection_key": CONNECTION_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "poll_interval": 0.2,
        },
        "public_url": "http://127.0.0.1:9",
    }
    with cluster(tmp_path, db_url, jira_url, **settings) as c:
        front = c.serve("front")
        c.serve("back", worker=True)
        agent = c.client(front, AGENT)
        fake.slow_next(3.0)
        action = agent.post("/v1/actions", json=gated(f"cq-{uuid.uuid4().hex[:8]}")).json()
        assert action["status"] == "pending_approval"
        assert action["approval"]["ref"]
        # Any second request would have been opened during the slow create, before now.
        opened = wait_until(
            lambda: [
                r
                for r in list(fake.requests.values())
                if (r["trace"] or {}).get("jiragateActionId") == action["id"]
            ],
            what="the request in Cheqpoint",
        )
        assert [r["id"] for r in opened] == [action["approval"]["ref"]]

"""No secret (Jira token, Cheqpoint Connection Key and webhook secret, API keys, passwords,
session secret, nor the Basic credential built from the Jira token) appears in what real
`jiragate serve` processes write to stderr, answer, audit or export as metrics, after every
kind of error has been provoked: bad keys, Jira refusing our credentials, Cheqpoint failing,
forged webhooks, broken bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from jiragate.jira.sandbox import SandboxState
from jiragate.settings import Settings
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import serve_app
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, WEBHOOK_SECRET
from tests.scale.cluster import AGENT, cluster, wait_until
from tests.scale.conftest import sandbox  # noqa: F401
from tests.web.helpers import password_hash

pytestmark = pytest.mark.slow
CONNECTION_KEY = "cq_live_secret_leak_probe_000001"
SESSION_SECRET = "session-secret-leak-probe-000001"
PASSWORD = "reviewer-password-leak-probe-01"


@pytest.fixture
def cheqpoint() -> Iterator[tuple[str, FakeCheqpoint]]:
    app, state = create_fake_cheqpoint(CONNECTION_KEY)
    with serve_app(app) as url:
        yield url, state


def test_no_secret_reaches_logs_answers_audit_or_metrics_of_real_processes(
    tmp_path: Path,
    sandbox: tuple[str, SandboxState],  # noqa: F811
    cheqpoint: tuple[str, FakeCheqpoint],
):
    jira_url, state = sandbox
    cq_url, fake = cheqpoint
    with cluster(
        tmp_path,
        f"sqlite:///{tmp_path / 'leak.db'}",
        jira_url,
        approval_backend="cheqpoint",
        cheqpoint={
            "url": cq_url,
            "connection_key": CONNECTION_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "poll_interval": 0.2,
        },
        session_secret=SESSION_SECRET,
    ) as c:
        c.settings["reviewers"][0]["password_hash"] = password_hash(PASSWORD)
        c.write_config()
        replica = c.serve("replica", worker=True)
        agent, auditor = c.client(replica, AGENT), c.client(replica, "auditor")
        anonymous = httpx.Client(base_url=replica.url, timeout=30)
        c.clients.append(anonymous)
        answers: list[str] = []

        # Jira refuses our credentials (401): the error names the status, never the token.
        state.basic_auth = ("someone-else@example.com", "a-different-token")
        read = {"action": "jira_get_issue", "summary": "read", "details": {"issueKey": "ENG-1"}}
        refused = agent.post("/v1/actions", json=read)
        answers.append(refused.text)
        assert refused.json()["status"] == "failed"
        state.basic_auth = None

        # Cheqpoint fails (500) while a gated action is sent, then answers again.
        fake.fail_next(500, count=2)
        gated = {
            "action": "jira_create_tickets",
            "summary": "leak probe",
            "details": {
                "projectKey": "ENG",
                "issueCount": 1,
                "issueType": "Bug",
                "priority": "High",
            },
        }
        action = agent.post("/v1/actions", json=gated).json()
        answers.append(json.dumps(action))
        wait_until(
            lambda: agent.get(f"/v1/actions/{action['id']}").json()["approval"].get("ref"),
            what="the resend to Cheqpoint",
        )

        raw = b'{"id": "cq_x", "status": "APPROVED"}'
        for response in (
            anonymous.get("/v1/actions"),
            anonymous.get("/v1/actions", headers={"Authorization": f"Bearer {JIRA_TOKEN}"}),
            anonymous.get("/v1/actions", headers={"Authorization": f"Bearer {CONNECTION_KEY}"}),
            c.client(replica, "retired-bot").get("/v1/actions"),
            anonymous.post("/v1/webhooks/cheqpoint", content=raw),
            anonymous.post(
                "/v1/webhooks/cheqpoint",
                content=raw,
                headers={SIGNATURE_HEADER: sign_webhook("wrong-secret-0000", raw)},
            ),
            agent.post(
                "/v1/actions", content=b"\xff{", headers={"Content-Type": "application/json"}
            ),
            anonymous.get("/api/approvals/cq_x", headers={"x-api-key": "not-a-key-000000"}),
            anonymous.get("/readyz"),
            anonymous.get("/metrics"),
            auditor.get("/v1/audit/export"),
            auditor.get(f"/v1/actions/{action['id']}"),
        ):
            answers.append(response.text)
        metrics = anonymous.get("/metrics").text
        assert "jiragate_" in metrics
        logs = c.logs()
        assert "POST /v1/webhooks/cheqpoint" in logs  # the access log was captured too

    settings = Settings(**c.settings)
    secrets = settings.secrets()
    basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    secrets += [basic, CONNECTION_KEY, WEBHOOK_SECRET, SESSION_SECRET, PASSWORD, JIRA_TOKEN]
    secrets += list(KEYS.values())
    assert len(set(secrets)) >= 14
    for secret in set(secrets):
        for where, text in [("process logs", logs), ("metrics", metrics)] + [
            (f"answer {i}", text) for i, text in enumerate(answers)
        ]:
            assert secret not in text, f"a secret leaked into {where}"

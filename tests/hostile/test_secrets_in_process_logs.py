"""No secret (Jira token, Cheqpoint Connection Key and webhook secret, API keys, passwords,
session secret, nor the Basic credential built from the Jira token) appears in what real
`jiragate serve` processes write to stderr, answer, audit or export as metrics, after every
kind of error has been provoked: bad keys, Jira refusing our credentials, Cheqpoint failing,
forged webhooks, broken bodies."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
import yaml

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from jiragate.jira.sandbox import SandboxState
from jiragate.settings import Settings
from jiragate.store import make_engine
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.echo_upstream import create_echo_upstream
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import serve_app
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, WEBHOOK_SECRET, settings_data
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


# --------------------------------------------------------------------------- error paths

DB_PASSWORD = "db-pass-leak-probe-0001"
SHORT_KEY = "short-key-77"  # 12 characters: refused, and must not be echoed doing so


def serve_once(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`jiragate serve` that is expected to refuse to start (so it exits by itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRAGATE_", "CHEQPOINT_"))}
    return subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        # PostgreSQL is refused at the port (nothing listens on 9): the driver's complaint.
        (f"postgresql+psycopg://jiragate:{DB_PASSWORD}@127.0.0.1:9/jiragate", "cannot open"),
        (f"mysql://jiragate:{DB_PASSWORD}@127.0.0.1/jiragate", "unsupported database"),
        (f"postgresql://jiragate:{DB_PASSWORD}@127.0.0.1:9/jira?sslmode=bogus", "cannot open"),
    ],
)
def test_a_bad_database_url_is_refused_without_its_password(tmp_path, database_url, expected):
    config = tmp_path / "jiragate.yaml"
    data = settings_data(database_url, "http://127.0.0.1:9")
    config.write_text(yaml.safe_dump(data))
    result = serve_once(config, tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert quote(DB_PASSWORD) not in result.stdout + result.stderr


def test_a_short_api_key_is_refused_without_echoing_it(tmp_path):
    config = tmp_path / "jiragate.yaml"
    data = settings_data(f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9")
    data["agents"][0]["api_key"] = SHORT_KEY
    data["reviewers"][0]["password"] = "changeme"  # a placeholder is not echoed either
    config.write_text(yaml.safe_dump(data))
    result = serve_once(config, tmp_path)
    assert result.returncode == 2
    assert "agents.0.api_key" in result.stderr and "at least 16 characters" in result.stderr
    assert SHORT_KEY not in result.stdout + result.stderr
    assert "input_value" not in result.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.fixture
def echoing_jira() -> Iterator[tuple[str, list[dict[str, str]]]]:
    app, seen = create_echo_upstream("json", 400)
    with serve_app(app) as url:
        yield url, seen


@pytest.fixture
def echoing_cheqpoint() -> Iterator[tuple[str, list[dict[str, str]]]]:
    app, seen = create_echo_upstream("text", 500)
    with serve_app(app) as url:
        yield url, seen


def dump_database(url: str) -> str:
    """Every row of every table, as text."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            rows = [
                repr(tuple(row))
                for name in names
                for row in connection.execute(sa.text(f'SELECT * FROM "{name}"'))
            ]
    finally:
        engine.dispose()
    assert any("approval.backend_error" in row for row in rows)
    return "\n".join(rows)


def test_upstreams_echoing_our_credentials_leak_them_nowhere(
    tmp_path: Path,
    db_url: str,  # noqa: F811
    echoing_jira: tuple[str, list[dict[str, str]]],
    echoing_cheqpoint: tuple[str, list[dict[str, str]]],
):
    jira_url, jira_seen = echoing_jira
    cq_url, cq_seen = echoing_cheqpoint
    with cluster(
        tmp_path,
        db_url,
        jira_url,
        approval_backend="cheqpoint",
        cheqpoint={"url": cq_url, "connection_key": CONNECTION_KEY, "poll_interval": 0.2},
    ) as c:
        replica = c.serve("replica", worker=True)
        agent, auditor = c.client(replica, AGENT), c.client(replica, "auditor")
        answers: list[str] = []

        read = {"action": "jira_get_issue", "summary": "read", "details": {"issueKey": "ENG-1"}}
        failed = agent.post("/v1/actions", json=read)
        assert failed.status_code == 502, failed.text
        assert "[redacted]" in failed.text  # the echo came back, masked
        answers.append(failed.text)

        gated = {
            "action": "jira_create_tickets",
            "summary": "echo probe",
            "details": {
                "projectKey": "ENG",
                "issueCount": 1,
                "issueType": "Bug",
                "priority": "High",
            },
        }
        submitted = agent.post("/v1/actions", json=gated)
        assert submitted.status_code == 202, submitted.text
        pending = submitted.json()
        answers.append(json.dumps(pending))
        wait_until(
            lambda: "approval.backend_error" in auditor.get("/v1/audit/export").text,
            what="Cheqpoint's echoed refusal to be recorded",
        )

        for action_id in (failed.json()["id"], pending["id"]):
            answers.append(agent.get(f"/v1/actions/{action_id}").text)
            answers.append(auditor.get(f"/v1/actions/{action_id}").text)
        exported = auditor.get("/v1/audit/export").text
        assert "approval.backend_error" in exported and "[redacted]" in exported
        answers += [exported, auditor.get("/v1/audit").text, agent.get("/metrics").text]
        logs = c.logs()

    database = dump_database(db_url)
    basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    # The upstreams really were sent (and echoed) the credentials we look for.
    assert any(h.get("authorization") == f"Basic {basic}" for h in jira_seen)
    assert any(h.get("x-api-key") == CONNECTION_KEY for h in cq_seen)
    secrets = {basic, JIRA_TOKEN, CONNECTION_KEY, *KEYS.values()}
    places = [("process logs", logs), ("database", database)]
    places += [(f"answer {i}", text) for i, text in enumerate(answers)]
    for secret in secrets:
        for where, text in places:
            assert secret not in text, f"a secret leaked into {where}"

"""Real clients, unchanged, downloading attachments through the proxy (docs/proxy.md,
"Attachments"): pycontribs `jira` (`issue.fields.attachment[0].get()`, `jira.attachment(id)`)
and mcp-atlassian's `jira_download_attachments` (Data Center and Cloud modes) get ENG's file
byte for byte once they read its issue (on Cloud by following Jira's redirect, passed by the
proxy, to the media store, which they offer no credential); OPS's is refused, and the text
the client raises (what a model is shown) says what to do or names the rule. The bot may
read ENG, never OPS; the IDE assistant may read both (the policy of
tests/proxy/test_attachment_scope.py)."""

from __future__ import annotations

import base64
import ipaddress
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.clients.test_proxy_clients import (  # noqa: F401
    AGENT_KEY,
    clients_python,
    run_inline,
)
from tests.helpers.service import DC_JIRA, JIRA_EMAIL, JIRA_TOKEN, Service, running_dc_service
from tests.proxy.support import service_with_policy
from tests.proxy.test_attachment_scope import ENG_BYTES, OPS_BYTES, POLICY
from tests.proxy.test_read_rows import client

PYCONTRIBS = """
import base64, json, sys
from jira import JIRA
url, key, eng, ops, phase = sys.argv[1:6]
jira = JIRA(server=url, basic_auth=("agent@example.com", key), max_retries=0)
out = {}
def step(name, work):
    try:
        out[name] = {"ok": True, "value": work()}
    except Exception as exc:  # the client's own error text
        out[name] = {"ok": False, "text": f"{type(exc).__name__}: {exc}"[:1500]}
if phase == "first":
    step("guessed", lambda: len(jira.attachment(ops).get()))
    step("issue", lambda: base64.b64encode(
        jira.issue("ENG-3", fields="attachment").fields.attachment[0].get()).decode())
    step("by_id", lambda: base64.b64encode(jira.attachment(eng).get()).decode())
else:
    step("known_ops", lambda: len(jira.attachment(ops).get()))
print(json.dumps(out))
"""


def upload(service: Service, issue: str, name: str, data: bytes, *, dc: bool = False) -> str:
    auth = {"headers": {"Authorization": f"Bearer {DC_JIRA['personal_access_token']}"}}
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as direct:
        answer = direct.post(
            f"/rest/api/2/issue/{issue}/attachments",
            files={"file": (name, data, "application/octet-stream")},
            headers={"X-Atlassian-Token": "no-check", **(auth["headers"] if dc else {})},
            auth=None if dc else (JIRA_EMAIL, JIRA_TOKEN),
        )
    answer.raise_for_status()
    return str(answer.json()[0]["id"])


def test_pycontribs_downloads_its_attachment_and_is_refused_another(
    clients_python: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    with service_with_policy(db, tmp_path, POLICY) as service:
        eng = upload(service, "ENG-3", "build.log", ENG_BYTES)
        ops = upload(service, "OPS-1", "incident.txt", OPS_BYTES)
        first = run_inline(clients_python, PYCONTRIBS, service.url, AGENT_KEY, eng, ops, "first")
        guessed = first["guessed"]
        assert not guessed["ok"], guessed
        assert f"does not know which issue attachment {ops} belongs to" in guessed["text"]
        assert "read its issue through Jiragate first" in guessed["text"]
        assert base64.b64decode(first["issue"]["value"]) == ENG_BYTES, first["issue"]
        assert base64.b64decode(first["by_id"]["value"]) == ENG_BYTES, first["by_id"]
        # On Cloud both came from the media store, after Jira's redirect passed through the
        # proxy: requests followed it, offering the media store no credential.
        assert media_hits(service) == [(f"/_media/file/{eng}/binary", None, 200)] * 2
        with client(service, "ide-assistant") as privileged:  # teaches Jiragate OPS-1's
            assert privileged.get("/rest/api/2/issue/OPS-1").status_code == 200
        again = run_inline(clients_python, PYCONTRIBS, service.url, AGENT_KEY, eng, ops, "again")
        known = again["known_ops"]
        assert not known["ok"] and "bot-stays-out-of-ops" in known["text"], known


def media_hits(service: Service) -> list[tuple[str, str | None, int | None]]:
    """The sandbox media store's requests: path, the scheme of any credential, status."""
    logged = service.sandbox.logged()
    return [(e.path, e.auth, e.status) for e in logged if e.path.startswith("/_media/")]


MCP = """
import asyncio, json, os, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
url, key, mode = sys.argv[1:4]
env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "CONFLUENCE_"))}
env.update(JIRA_URL=url, READ_ONLY_MODE="false", TOOLSETS="all",
           FASTMCP_CHECK_FOR_UPDATES="off", FASTMCP_SHOW_SERVER_BANNER="false")
if mode == "cloud":
    env.update(JIRA_USERNAME="agent@example.com", JIRA_API_TOKEN=key,
               MCP_ALLOWED_URL_DOMAINS=sys.argv[4])
else:
    env.update(JIRA_PERSONAL_TOKEN=key)
server = StdioServerParameters(
    command=os.path.join(os.path.dirname(sys.executable), "mcp-atlassian"),
    args=["--transport", "stdio"], env=env)
async def main():
    out = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for name, issue in (("eng", "ENG-3"), ("ops", "OPS-1")):
            result = await session.call_tool("jira_download_attachments", {"issue_key": issue})
            out[name] = {"error": result.isError,
                         "parts": [getattr(p, "text", "") for p in result.content]}
    print(json.dumps(out))
asyncio.run(main())
"""


def test_mcp_atlassian_downloads_its_issues_attachments_only(
    clients_python: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    with running_dc_service(db, policy_dir=tmp_path / "policies", policy=POLICY) as service:
        upload(service, "ENG-3", "build.log", ENG_BYTES, dc=True)
        upload(service, "OPS-1", "incident.txt", OPS_BYTES, dc=True)
        report = run_inline(clients_python, MCP, service.url, AGENT_KEY, "server")
    assert media_hits(service) == []  # Data Center serves the bytes itself
    check_mcp_report(report)


def test_mcp_atlassian_in_cloud_mode_follows_jiras_redirect_to_the_media_store(
    clients_python: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Cloud-style credentials (JIRA_USERNAME, JIRA_API_TOKEN: the agent key) against the
    cloud profile: each download is a 303 to the media store, passed through the proxy.

    mcp-atlassian refuses to follow a redirect to `localhost` or to any address that is not
    global (its SSRF guard, mcp_atlassian/utils/urls.py), unless the host name is in
    `MCP_ALLOWED_URL_DOMAINS` — and never `localhost` or an IP literal. Atlassian's media
    store is public, so against Jira Cloud it passes; here, loopback only, the media store
    is this machine's own host name (when it resolves to a loopback address), allowed."""
    name = loopback_host_name()
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    with service_with_policy(db, tmp_path, POLICY) as service:
        port = urlsplit(service.sandbox_url).port
        service.sandbox.media_url = f"http://{name}:{port}"
        eng = upload(service, "ENG-3", "build.log", ENG_BYTES)
        upload(service, "OPS-1", "incident.txt", OPS_BYTES)
        report = run_inline(clients_python, MCP, service.url, AGENT_KEY, "cloud", name)
        hits = media_hits(service)
    check_mcp_report(report)
    assert hits == [(f"/_media/file/{eng}/binary", None, 200)], hits


def loopback_host_name() -> str:
    """This machine's host name, if it resolves to loopback only (else the test skips)."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        found = set()
    loopback = bool(found) and all(ipaddress.ip_address(a).is_loopback for a in found)
    if name.lower() == "localhost" or not loopback:
        pytest.skip(f"the host name {name!r} does not resolve to loopback only: {found}")
    return name


def check_mcp_report(report: dict[str, Any]) -> None:
    eng = report["eng"]
    assert not eng["error"], eng
    assert base64.b64encode(ENG_BYTES).decode() in "".join(eng["parts"]), eng
    ops = report["ops"]
    shown = "".join(ops["parts"])
    assert base64.b64encode(OPS_BYTES).decode() not in shown
    assert "bot-stays-out-of-ops" in shown, ops  # the OPS issue read is denied, by name

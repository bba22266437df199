"""`jiragate demo`: the whole product on one machine, with no configuration.

Starts the Jira sandbox and the gateway (built-in inbox, SQLite, the shipped policies) on
loopback, walks through the seed's story with real HTTP calls, printing each step, then keeps
serving so you can try it yourself (the inbox, the API, the audit trail).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from jiragate.api.app import create_app
from jiragate.examples import SEED_NOTE, seed_envelope
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.passwords import hash_password
from jiragate.settings import Settings

AGENT = ("log-triage-bot", "demo-agent-key-log-triage-bot")
LEAD = ("lead-alice", "demo-reviewer-key-lead-alice", "lead-alice-demo")
PM = ("pm-carol", "demo-reviewer-key-pm-carol", "pm-carol-demo")
AUDITOR = ("auditor", "demo-reviewer-key-auditor", "auditor-demo")


def demo_settings(db_path: Path, jira_url: str) -> Settings:
    return Settings.model_validate(demo_config(db_path, jira_url))


def demo_config(db_path: Path, jira_url: str) -> dict[str, Any]:
    """The demo's settings as a config file holds them (written next to its database, so
    `jiragate mcp --config …` and `jiragate serve --config …` work against the demo)."""
    return {
        "database_url": f"sqlite:///{db_path}",
        "jira": {
            "url": jira_url,
            "flavour": "cloud",
            "email": "jiragate-demo@example.com",
            "api_token": "demo-jira-api-token",
            "board_id": 1,
        },
        "agents": [{"name": AGENT[0], "api_key": AGENT[1]}],
        # Hashed at start, as an operator would with `jiragate hash-password`: the
        # settings never hold a password, not even the demo's.
        "reviewers": [
            {"name": LEAD[0], "api_key": LEAD[1], "password_hash": hash_password(LEAD[2])},
            {"name": PM[0], "api_key": PM[1], "password_hash": hash_password(PM[2])},
            {
                "name": AUDITOR[0],
                "api_key": AUDITOR[1],
                "password_hash": hash_password(AUDITOR[2]),
                "admin": True,
            },
        ],
        "session_secret": secrets.token_urlsafe(32),
        "worker_poll_interval": 0.1,
    }


CONFIG_NAME = "jiragate-demo.json"


def write_config(workdir: Path, config: dict[str, Any]) -> Path:
    """The demo's config file (JSON, which Settings.from_file reads like YAML); owner-only,
    since it holds the demo's API keys."""
    path = workdir / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _stack_trace(n: int) -> str:
    return (
        f"java.lang.NullPointerException: basket.items is null\n"
        f"    at com.shop.checkout.Totals.sum(Totals.java:{40 + n})\n"
        f"    at com.shop.checkout.CheckoutService.place(CheckoutService.java:{110 + 3 * n})"
    )


#: What the demo leaves waiting after its walkthrough, per review group: (group, envelope).
LEFT_FOR_REVIEW: list[tuple[str, dict[str, Any]]] = [
    (
        "engineering-leads",
        {
            **seed_envelope(),
            "summary": "AI requesting creation of 12 tickets from this morning's error log",
            "justification": "12 stack traces; some look like duplicates of each other.",
            "details": {
                **seed_envelope()["details"],
                "tickets": [
                    {
                        "summary": f"Checkout fails: NPE in Totals.sum, variant {n}",
                        "description": _stack_trace(n),
                    }
                    for n in range(1, 13)
                ],
            },
        },
    ),
    (
        "engineering-leads",
        {
            "action": "jira_transition_issues",
            "summary": "Close 2 checkout bugs fixed in release 1.1",
            "details": {"issueKeys": ["ENG-2", "ENG-4"], "targetStatus": "Done"},
            "justification": "Both fixes are merged and deployed.",
        },
    ),
    (
        "project-managers",
        {
            "action": "jira_create_ticket",
            "summary": "Track the checkout crash for the release notes",
            "details": {
                "projectKey": "ENG",
                "issueType": "Task",
                "summary": "Release notes: checkout crash fixed",
                "priority": "Medium",
            },
            "justification": "Customers asked about the crash.",
        },
    ),
    (
        "project-managers",
        {
            "action": "jira_delete_issues",
            "summary": "Delete a duplicate of ENG-6",
            "details": {"issueKeys": ["ENG-7"]},
            "justification": "ENG-7 repeats ENG-6 word for word.",
        },
    ),
]


def _port(requested: int) -> int:
    if requested:
        return requested
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # one Ctrl-C handler for both servers
        return None


async def _start(app: Any, port: int) -> tuple[_Server, asyncio.Task[None]]:
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the bind error, e.g. port in use
            raise SystemExit(f"jiragate demo: could not listen on 127.0.0.1:{port}")
        await asyncio.sleep(0.02)
    return server, task


def _say(text: str = "") -> None:
    print(text, flush=True)


def _show(label: str, response: httpx.Response, *keys: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    picked = {k: body.get(k) for k in keys} if keys else body
    _say(f"   {label}: HTTP {response.status_code}")
    for line in json.dumps(picked, indent=2).splitlines():
        _say(f"     {line}")
    return body


async def walkthrough(url: str) -> bool:
    """The seed's story over real HTTP. Returns True when every step came out as expected."""
    agent = {"Authorization": f"Bearer {AGENT[1]}"}
    lead = {"Authorization": f"Bearer {LEAD[1]}"}
    auditor = {"Authorization": f"Bearer {AUDITOR[1]}"}
    tickets = [{"summary": f"Checkout fails: NullPointerException variant {i}"} for i in range(12)]
    seed = seed_envelope()
    seed["details"]["tickets"] = tickets
    seed["justification"] = "12 distinct stack traces in last night's error log."
    ok = True
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        _say("1. A safe read is allowed and executed at once:")
        read = await http.post(
            "/v1/actions",
            headers=agent,
            json={
                "action": "jira_get_issue",
                "summary": "Read ENG-1",
                "details": {"issueKey": "ENG-1"},
            },
        )
        body = _show("jira_get_issue ENG-1", read, "status", "rule")
        ok &= body.get("status") == "executed"

        _say("\n2. Dry run of the seed's request (nothing is recorded):")
        dry = await http.post("/v1/evaluate?explain=false", headers=agent, json=seed)
        body = _show("decision", dry, "decision", "review_group", "determining_rule", "reasons")
        ok &= body.get("review_group") == "engineering-leads"

        _say("\n3. The agent asks for 12 High bugs; the gate sends it to engineering leads:")
        submitted = await http.post("/v1/actions", headers=agent, json=seed)
        body = _show("submitted", submitted, "id", "status", "review_group", "rule")
        action_id = body.get("id", "")
        ok &= body.get("status") == "pending_approval"

        _say("\n4. lead-alice approves 4 of them, as Medium, with a note:")
        decided = await http.post(
            f"/v1/approvals/{action_id}/decision",
            headers=lead,
            json={
                "verdict": "approve",
                "note": SEED_NOTE,
                "modifiedDetails": {"issueCount": 4, "priority": "Medium"},
            },
        )
        _show("decision", decided, "status", "approvals", "required")
        final: dict[str, Any] = {}
        for _ in range(200):
            final = (await http.get(f"/v1/actions/{action_id}", headers=agent)).json()
            if final.get("status") not in ("approved", "executing"):
                break
            await asyncio.sleep(0.05)
        created = [c["key"] for c in (final.get("result") or {}).get("created", [])]
        _say(
            f"   executed: status={final.get('status')}, created {len(created)} tickets: "
            f"{', '.join(created)}"
        )
        _say(f"   note back to the agent: {final.get('approval', {}).get('note')!r}")
        _say(f"   the agent is told: {final.get('approval', {}).get('decision_summary')}")
        ok &= final.get("status") == "executed" and len(created) == 4

        _say("\n5. A bulk delete over the hard limit is denied, with the rule and reason:")
        keys = [f"ENG-{n}" for n in range(1, 12)]
        denied = await http.post(
            "/v1/actions",
            headers=agent,
            json={
                "action": "jira_delete_issues",
                "summary": "Delete stale tickets",
                "details": {"issueKeys": keys},
            },
        )
        body = _show("jira_delete_issues x11", denied, "status", "rule", "reason")
        ok &= denied.status_code == 403

        _say("\n6. The audit trail is hash-chained and verifies:")
        report = await http.get("/v1/audit/verify", headers=auditor)
        body = _show("audit", report, "ok", "checked", "head_hash")
        ok &= bool(body.get("ok"))

        _say("\n7. Work left for you: requests waiting in each group's inbox:")
        for group, envelope in LEFT_FOR_REVIEW:
            waiting = await http.post("/v1/actions", headers=agent, json=envelope)
            body = waiting.json()
            _say(f"   {group}: {envelope['summary']} ({body.get('status')}, {body.get('id')})")
            ok &= body.get("status") == "pending_approval" and body.get("review_group") == group
    return ok


def _what_to_try(url: str, sandbox_url: str, config: Path) -> None:
    _say(f"""
Jiragate is running at {url} (Jira sandbox at {sandbox_url}). Try:

  Reviewer inbox:  {url}/inbox   (sign in as {LEAD[0]} / {LEAD[2]}, or {PM[0]} / {PM[2]})
  API docs:        {url}/docs
  Config file:     {config}

  An MCP client (e.g. Claude Desktop) as the agent, against this demo:
  JIRAGATE_API_KEY={AGENT[1]} jiragate mcp --config {config}

  curl -s -X POST {url}/v1/actions \\
       -H 'Authorization: Bearer {AGENT[1]}' -H 'Content-Type: application/json' \\
       -d '{{"action": "jira_transition_issues", "summary": "Close resolved tickets",
            "details": {{"issueKeys": ["ENG-2", "ENG-3"], "targetStatus": "Done"}}}}'

  curl -s {url}/v1/approvals -H 'Authorization: Bearer {LEAD[1]}'
  curl -s {url}/v1/audit/verify -H 'Authorization: Bearer {AUDITOR[1]}'

  Jira REST proxy: {url}  (any Jira client: its Jira URL, with the agent key as its token)
  curl -s {url}/rest/api/3/issue/ENG-2 -H 'Authorization: Bearer {AGENT[1]}'
{proxy_mcp_config(url, AGENT[1])}
Press Ctrl-C to stop.""")


def proxy_mcp_config(url: str, agent_key: str) -> str:
    """A ready-to-paste mcp-atlassian configuration pointing at the proxy (docs/proxy.md)."""
    config = {
        "mcpServers": {
            "jira-via-jiragate": {
                "command": "uvx",
                "args": ["mcp-atlassian"],
                "env": {"JIRA_URL": url, "JIRA_PERSONAL_TOKEN": agent_key},
            }
        }
    }
    lines = ["    " + line for line in json.dumps(config, indent=2).splitlines()]
    return "\n".join(["  mcp-atlassian (e.g. Claude Desktop's mcpServers):", *lines])


async def run_demo(
    *,
    port: int = 8000,
    sandbox_port: int = 8081,
    data_dir: Path | None = None,
    exit_after_walkthrough: bool = False,
) -> int:
    workdir = data_dir or Path(tempfile.mkdtemp(prefix="jiragate-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "jiragate-demo.db"
    db_path.unlink(missing_ok=True)  # every demo starts from a clean slate
    sandbox_port, port = _port(sandbox_port), _port(port)
    sandbox_url, url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{port}"
    config = demo_config(db_path, sandbox_url)
    settings = Settings.model_validate(config)
    config_path = write_config(workdir, config)

    _say(f"Jiragate demo: Jira sandbox on {sandbox_url}, gateway on {url}, data in {workdir}")
    _say(f"Config file (for `jiragate mcp --config`): {config_path}\n")
    sandbox, sandbox_task = await _start(create_sandbox_app(SandboxState()), sandbox_port)
    service, service_task = await _start(create_app(settings), port)
    try:
        ok = await walkthrough(url)
        _say("\nWalkthrough " + ("complete: every step behaved as expected." if ok else "FAILED."))
        if exit_after_walkthrough:
            return 0 if ok else 1
        _what_to_try(url, sandbox_url, config_path)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(service_task, sandbox_task)
        return 0
    finally:
        service.should_exit = True
        sandbox.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(service_task, sandbox_task), timeout=10)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(asyncio.run(run_demo()))

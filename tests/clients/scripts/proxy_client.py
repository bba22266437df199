"""One real Jira client pointed at Jiragate's Jira REST proxy with only an agent key.
argv: client (pycontribs | atlassian | mcp), Jiragate URL, "cloud" | "server", agent key,
phase ("first" | "again"), run tag. Prints one JSON line: step -> {"ok", "text", "value"}:
what the client returned, or the error text it raised (what a model would be shown)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

client, url, mode, key, phase, tag = sys.argv[1:7]
cloud = mode == "cloud"
# mcp-atlassian takes a loopback site for Data Center: its runs are against that profile.
creates = cloud and client != "mcp"
OUT: dict[str, dict[str, Any]] = {}
SUMMARY = f"Checkout down for EU users {tag}"
COMMENT = f"Log triage: the checkout errors come from the EU shard {tag}"


def gate(work: Callable[[], Any]) -> None:
    """The gated write: once ("first", held), or twice after approval ("again")."""
    if phase == "first":
        step("gated", work)
    else:
        step("gated_again", work)
        step("gated_once_more", work)


def step(name: str, work: Callable[[], Any]) -> None:
    try:
        value = work()
    except Exception as exc:  # the report carries the client's own error text
        OUT[name] = {"ok": False, "text": f"{type(exc).__name__}: {exc}"[:1500]}
    else:
        OUT[name] = {"ok": True, "value": value}


def run_pycontribs() -> None:
    from jira import JIRA

    auth: dict[str, Any] = (
        {"basic_auth": ("agent@example.com", key)} if cloud else {"token_auth": key}
    )
    jira = JIRA(server=url, max_retries=0, **auth)
    fields = {
        "project": {"key": "ENG"},
        "summary": SUMMARY,
        "issuetype": {"name": "Task"},
        "priority": {"name": "High"},
        "labels": [tag],
    }
    if phase == "first":
        step("read", lambda: jira.issue("ENG-1").fields.summary)
        step("search", lambda: len(jira.search_issues("project = ENG", maxResults=5)))
        step("transitions", lambda: len(jira.transitions("ENG-1")))
        step("delete_denied", lambda: jira.issue("OPS-1").delete())
    if creates:
        gated = lambda: jira.create_issue(fields=fields).key  # noqa: E731
    else:
        gated = lambda: jira.add_comment("ENG-2", COMMENT).id  # noqa: E731
    gate(gated)


def run_atlassian() -> None:
    from atlassian import Jira

    if cloud:
        jira = Jira(url=url, username="agent@example.com", password=key, cloud=True)
    else:
        jira = Jira(url=url, token=key, cloud=False)
    fields = {
        "project": {"key": "ENG"},
        "summary": SUMMARY,
        "issuetype": {"name": "Task"},
        "priority": {"name": "High"},
        "labels": [tag],
    }
    if phase == "first":
        step("read", lambda: jira.issue("ENG-1")["fields"]["summary"])
        step("search", lambda: len(jira.jql("project = ENG", limit=5)["issues"]))
        step("transitions", lambda: len(jira.get_issue_transitions("ENG-1")))
        step("delete_denied", lambda: jira.delete_issue("OPS-1"))
        # The deprecated createmeta (projectKeys=ENG) and the paged version list: mapped
        # reads (jira_get_create_meta, jira_list_versions), Jira's answer as it gave it.
        step(
            "create_meta",
            lambda: [t["name"] for t in jira.issue_createmeta("ENG")["projects"][0]["issuetypes"]],
        )
        step(
            "versions_page",
            lambda: [
                v["name"]
                for v in jira.get_project_versions_paginated("ENG", status="released")["values"]
            ],
        )
    if creates:
        gated = lambda: jira.issue_create(fields=fields)["key"]  # noqa: E731
    else:
        gated = lambda: jira.issue_add_comment("ENG-2", COMMENT)["id"]  # noqa: E731
    gate(gated)


async def run_mcp() -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "CONFLUENCE_"))}
    env.update(
        JIRA_URL=url,
        READ_ONLY_MODE="false",
        TOOLSETS="all",
        FASTMCP_CHECK_FOR_UPDATES="off",
        FASTMCP_SHOW_SERVER_BANNER="false",
    )
    if cloud:
        env.update(JIRA_USERNAME="agent@example.com", JIRA_API_TOKEN=key)
    else:
        env.update(JIRA_PERSONAL_TOKEN=key)
    server = StdioServerParameters(
        command=os.path.join(os.path.dirname(sys.executable), "mcp-atlassian"),
        args=["--transport", "stdio"],
        env=env,
    )
    create = {
        "project_key": "ENG",
        "summary": SUMMARY,
        "issue_type": "Task",
        "additional_fields": json.dumps({"priority": {"name": "High"}, "labels": [tag]}),
    }
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()

        async def call(name: str, tool: str, arguments: dict[str, Any]) -> None:
            try:
                result = await session.call_tool(tool, arguments)
            except Exception as exc:
                OUT[name] = {"ok": False, "text": f"{type(exc).__name__}: {exc}"[:1500]}
                return
            text = "".join(getattr(part, "text", "") for part in result.content)
            OUT[name] = {"ok": not result.isError, "text": text[:3000]}

        if phase == "first":
            await call("read", "jira_get_issue", {"issue_key": "ENG-1"})
            await call("search", "jira_search", {"jql": "project = ENG", "limit": 5})
            await call("transitions", "jira_get_transitions", {"issue_key": "ENG-1"})
            await call("delete_denied", "jira_delete_issue", {"issue_key": "OPS-1"})
            # dev-status by the issue's id: jira_get_development_info of ENG-3.
            await call("development", "jira_get_issue_development_info", {"issue_key": "ENG-3"})
            # Jira Service Management through /rest/servicedeskapi (ENG is desk 2, queue 4).
            await call("jsm_desk", "jira_get_service_desk_for_project", {"project_key": "ENG"})
            await call("jsm_queues", "jira_get_service_desk_queues", {"service_desk_id": "2"})
            queue = {"service_desk_id": "2", "queue_id": "4", "limit": 10}
            await call("jsm_queue_issues", "jira_get_queue_issues", queue)
            await call("jsm_denied", "jira_get_service_desk_queues", {"service_desk_id": "1"})
        names = ("gated",) if phase == "first" else ("gated_again", "gated_once_more")
        for name in names:
            # The Data Center sandbox's priorities are P1..P5, which the catalog does not
            # name: there the gated write is an agent comment (an engineering lead's).
            if creates:
                await call(name, "jira_create_issue", create)
            else:
                comment = {"issue_key": "ENG-2", "body": COMMENT}
                await call(name, "jira_add_comment", comment)


if client == "pycontribs":
    run_pycontribs()
elif client == "atlassian":
    run_atlassian()
else:
    asyncio.run(run_mcp())
print(json.dumps(OUT))

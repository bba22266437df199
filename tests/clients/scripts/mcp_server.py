"""The `mcp-atlassian` MCP server over stdio, driven by the official `mcp` client, against the
sandbox. argv: base URL, "cloud" | "server", a run tag. Prints one JSON line: tool call ->
"ok" or the error; a tool answering `isError` counts as failed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from common import REPORT, report
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

url, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
cloud = mode == "cloud"
BOB = "bob"  # mcp-atlassian treats a loopback site as Data Center: users by username
env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "CONFLUENCE_"))}
env.update(
    JIRA_URL=url,
    READ_ONLY_MODE="false",
    TOOLSETS="all",
    FASTMCP_CHECK_FOR_UPDATES="off",  # no call home: the tests talk to 127.0.0.1 only
    FASTMCP_SHOW_SERVER_BANNER="false",
)
if cloud:
    env.update(JIRA_USERNAME="alice@example.com", JIRA_API_TOKEN="api-token")
else:
    env.update(JIRA_PERSONAL_TOKEN="personal-access-token")
SERVER = StdioServerParameters(
    command=os.path.join(os.path.dirname(sys.executable), "mcp-atlassian"),
    args=["--transport", "stdio"],
    env=env,
)


def _text(result: Any) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


async def _call(session: ClientSession, name: str, tool: str, arguments: dict[str, Any]) -> Any:
    try:
        result = await session.call_tool(tool, arguments)
    except Exception as exc:  # the report names every failure
        REPORT[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return None
    text = _text(result)
    if result.isError:
        REPORT[name] = f"isError: {text[:300]}"
        return None
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    REPORT[name] = "ok"
    return parsed


def _fail_if(name: str, condition: bool, what: str) -> None:
    if REPORT.get(name) == "ok" and condition:
        REPORT[name] = f"wrong answer: {what}"


async def main() -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        REPORT["list_tools"] = "ok" if "jira_get_issue" in tools else f"tools: {sorted(tools)}"
        issue = await _call(session, "get_issue", "jira_get_issue", {"issue_key": "ENG-2"})
        _fail_if("get_issue", "ENG-2" not in json.dumps(issue), "no ENG-2")
        found = await _call(session, "search", "jira_search", {"jql": "project = ENG", "limit": 5})
        _fail_if("search", "ENG-" not in json.dumps(found), "no issues")
        projects = await _call(session, "all_projects", "jira_get_all_projects", {})
        _fail_if("all_projects", "OPS" not in json.dumps(projects), "no OPS")
        boards = await _call(
            session, "agile_boards", "jira_get_agile_boards", {"project_key": "ENG"}
        )
        _fail_if("agile_boards", "ENG board" not in json.dumps(boards), "no ENG board")
        sprints = await _call(
            session, "board_sprints", "jira_get_sprints_from_board", {"board_id": "1"}
        )
        _fail_if("board_sprints", "sprint_42" not in json.dumps(sprints), "no sprint_42")
        versions = await _call(
            session, "project_versions", "jira_get_project_versions", {"project_key": "ENG"}
        )
        _fail_if("project_versions", "1.1" not in json.dumps(versions), "no 1.1")
        transitions = await _call(
            session, "transitions", "jira_get_transitions", {"issue_key": "ENG-2"}
        )
        _fail_if("transitions", "11" not in json.dumps(transitions), "no transition 11")
        for name, tool, arguments, wanted in (
            (
                "user_profile",
                "jira_get_user_profile",
                {"user_identifier": BOB},
                "Bob",
            ),
            ("project_issues", "jira_get_project_issues", {"project_key": "OPS"}, "OPS-1"),
            ("search_projects", "jira_search_projects", {"query": "ops"}, "OPS"),
            ("issue_types", "jira_get_project_issue_types", {"project_key": "ENG"}, "Epic"),
            ("search_fields", "jira_search_fields", {"keyword": "story"}, "Story Points"),
            ("watchers", "jira_get_issue_watchers", {"issue_key": "ENG-2"}, ""),
            ("worklog", "jira_get_worklog", {"issue_key": "ENG-2"}, ""),
            ("link_types", "jira_get_link_types", {}, "Blocks"),
            ("sprint_issues", "jira_get_sprint_issues", {"sprint_id": "102"}, "ENG-2"),
            # The development panel (dev-status) and links into other projects; the forms
            # tools are not run: they call api.atlassian.com (docs/mcp.md).
            (
                "development_info",
                "jira_get_issue_development_info",
                {"issue_key": "ENG-3"},
                "feature/ENG-3-apple-pay",
            ),
            (
                "issues_development_info",
                "jira_get_issues_development_info",
                {"issue_keys": "ENG-3,ENG-2"},
                "acme/shop",
            ),
            (
                "cross_project_dependencies",
                "jira_get_cross_project_dependencies",
                {"project_key": "ENG"},
                "OPS-2",
            ),
            # Jira Service Management (servicedeskapi): OPS is service desk 1.
            (
                "service_desk",
                "jira_get_service_desk_for_project",
                {"project_key": "OPS"},
                "Operations",
            ),
            ("desk_queues", "jira_get_service_desk_queues", {"service_desk_id": "1"}, "All open"),
            (
                "queue_issues",
                "jira_get_queue_issues",
                {"service_desk_id": "1", "queue_id": "1"},
                "OPS-1",
            ),
            ("request_types", "jira_get_request_types", {"service_desk_id": "1"}, "Get IT help"),
            (
                "request_type_fields",
                "jira_get_request_type_fields",
                {"service_desk_id": "1", "request_type_id": "12"},
                "customfield_10043",
            ),
        ):
            answer = await _call(session, name, tool, arguments)
            _fail_if(name, wanted not in json.dumps(answer), f"no {wanted}")
        raised = await _call(
            session,
            "customer_request",
            "jira_create_customer_request",
            {
                "service_desk_id": "1",
                "request_type_id": "11",
                "request_field_values": json.dumps(
                    {"summary": f"raised by mcp {tag}", "description": "VPN is down"}
                ),
            },
        )
        _fail_if("customer_request", "OPS-" not in json.dumps(raised), "no OPS key")
        created = await _call(
            session,
            "create_issue",
            "jira_create_issue",
            {
                "project_key": "ENG",
                "summary": f"created by mcp-atlassian {tag}",
                "issue_type": "Task",
                "description": "from the MCP server",
                "additional_fields": json.dumps({"labels": [tag]}),
            },
        )
        key = _created_key(created)
        if key is None:
            REPORT.setdefault("create_issue", f"no key in {str(created)[:200]}")
            return
        await _call(
            session, "add_comment", "jira_add_comment", {"issue_key": key, "body": f"mcp {tag}"}
        )
        await _call(
            session,
            "update_issue",
            "jira_update_issue",
            {"issue_key": key, "fields": json.dumps({"summary": f"updated by mcp {tag}"})},
        )
        for name, tool, arguments in (
            ("add_worklog", "jira_add_worklog", {"issue_key": key, "time_spent": "2h"}),
            ("add_watcher", "jira_add_watcher", {"issue_key": key, "user_identifier": BOB}),
            (
                "create_link",
                "jira_create_issue_link",
                {"link_type": "Relates", "inward_issue_key": key, "outward_issue_key": "ENG-2"},
            ),
            ("add_to_sprint", "jira_add_issues_to_sprint", {"sprint_id": "102", "issue_keys": key}),
        ):
            await _call(session, name, tool, arguments)
        await _call(
            session,
            "transition_issue",
            "jira_transition_issue",
            {"issue_key": key, "transition_id": "11"},
        )


def _created_key(created: Any) -> str | None:
    if isinstance(created, dict):
        issue = created.get("issue", created)
        if isinstance(issue, dict) and issue.get("key"):
            return str(issue["key"])
    return None


asyncio.run(main())
report()

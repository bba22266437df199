"""The read actions through the adapter against the sandbox: latency and Jira calls each.

    python bench/reads.py [--calls 100]

For each catalog read and both flavours (Cloud on the cloud profile, Data Center on the
datacenter profile), `JiraAdapter.execute` runs `--calls` times in process (the sandbox app
behind httpx's ASGI transport: no sockets, so the numbers are the adapter's and the sandbox's
work, not the network's). Prints the median and p95 per call in ms and the Jira requests one
action makes (a board or sprint check adds one or two). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx

from jiragate.catalog import CATALOG, ActionKind
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app

DETAILS: dict[str, dict[str, Any]] = {
    "jira_get_issue": {"issueKey": "ENG-2"},
    "jira_search": {"jql": "status = Done", "projectKey": "ENG", "maxResults": 20},
    "jira_get_transitions": {"issueKey": "ENG-2"},
    "jira_list_sprints": {"boardId": 1, "projectKey": "ENG"},
    "jira_search_projects": {"query": "eng"},
    "jira_list_components": {"projectKey": "ENG"},
    "jira_list_versions": {"projectKey": "ENG"},
    "jira_list_boards": {"projectKey": "ENG"},
    "jira_get_board_issues": {"projectKey": "ENG", "boardId": 1},
    "jira_get_sprint_issues": {"projectKey": "ENG", "sprintId": 102},
    "jira_get_backlog_issues": {"projectKey": "ENG", "boardId": 1},
    "jira_get_field_options": {"projectKey": "ENG", "issueType": "Bug", "fieldId": "priority"},
    "jira_get_create_meta": {"projectKey": "ENG", "issueType": "Bug"},
    "jira_get_edit_meta": {"issueKey": "ENG-2"},
    "jira_search_users": {"query": "a"},
    "jira_get_assignable_users": {"projectKey": "ENG"},
    "jira_get_watchers": {"issueKey": "ENG-2"},
    "jira_get_worklogs": {"issueKey": "ENG-2"},
    "jira_get_changelogs": {"issueKeys": ["ENG-2", "ENG-3", "ENG-4"]},
    "jira_get_attachments": {"issueKey": "ENG-2"},
}


async def measure(flavour: str, calls: int) -> list[tuple[str, float, float, int]]:
    state = SandboxState(profile=flavour)
    transport = httpx.ASGITransport(app=create_sandbox_app(state, validate_requests=False))
    credentials: dict[str, Any] = (
        {"email": "alice@example.com", "api_token": "t"}
        if flavour == "cloud"
        else {"personal_access_token": "p"}
    )
    config = JiraConfig(base_url="http://sandbox", flavour=flavour, **credentials)  # type: ignore[arg-type]
    rows = []
    async with JiraAdapter(config, transport=transport) as jira:
        for name, spec in CATALOG.items():
            if spec.kind is not ActionKind.READ:
                continue
            details = DETAILS.get(name, {})
            samples = []
            result = None
            for index in range(calls):
                started = time.perf_counter()
                result = await jira.execute(name, details, action_id=f"b{index}", summary="s")
                samples.append((time.perf_counter() - started) * 1000)
            assert result is not None
            samples.sort()
            p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
            rows.append((name, statistics.median(samples), p95, result.calls))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    for flavour in ("cloud", "datacenter"):
        rows = asyncio.run(measure(flavour, args.calls))
        print(f"\n{flavour}: {args.calls} calls each")
        print(f"{'action':32} {'median ms':>10} {'p95 ms':>8} {'Jira calls':>11}")
        for name, median, p95, jira_calls in rows:
            print(f"{name:32} {median:10.2f} {p95:8.2f} {jira_calls:11d}")


if __name__ == "__main__":
    main()

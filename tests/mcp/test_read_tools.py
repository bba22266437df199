"""The catalog's reads as Jiragate MCP tools, over streamable HTTP against a running service
and the sandbox: every catalog action is offered (nothing configured), reads say so in their
hints, a read is executed at once, and a read naming another project's sprint is refused
before anything of that project is read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from jiragate.catalog import CATALOG, ActionKind, SideEffects
from tests.helpers.service import Service, running_service
from tests.mcp.conftest import http_session, structured, text_of


@pytest.fixture
def full_service(db_url: str) -> Iterator[Service]:
    with running_service(db_url) as running:  # mcp_actions unset: every catalog action
        yield running


def test_every_catalog_action_is_a_tool_and_reads_run_at_once(full_service: Service) -> None:
    async def scenario() -> tuple[dict[str, Any], Any, Any]:
        async with http_session(full_service) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            boards = await session.call_tool(
                "jira_list_boards",
                {"summary": "Which boards does ENG have?", "details": {"projectKey": "ENG"}},
            )
            hostile = await session.call_tool(
                "jira_get_sprint_issues",
                {
                    "summary": "Issues of sprint 201",
                    "details": {"projectKey": "ENG", "sprintId": 201},
                },
            )
            return tools, boards, hostile

    tools, boards, hostile = asyncio.run(scenario())
    assert set(CATALOG) <= set(tools)
    for name, spec in CATALOG.items():
        hints = tools[name].annotations
        assert hints.read_only_hint is (spec.kind is ActionKind.READ), name
        assert hints.destructive_hint is (spec.effects is SideEffects.DESTRUCTIVE), name
        assert hints.idempotent_hint is spec.idempotent, name
    assert boards.is_error is False
    data = structured(boards)
    assert (data["status"], data["rule"]) == ("executed", "allow-safe-reads")
    assert [b["id"] for b in data["result"]["data"]["boards"]] == [1]
    # Sprint 201 is OPS's: policies saw ENG, so the read fails and nothing of OPS is listed.
    assert hostile.is_error is True
    assert structured(hostile)["status"] == "failed"
    assert "sprint 201 is not in project ENG" in text_of(hostile)
    listed = [e.path for e in full_service.sandbox.logged() if e.path.endswith("/issue")]
    assert listed == []

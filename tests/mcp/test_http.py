"""MCP over streamable HTTP at /mcp, against the running service, with the SDK's client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from jiragate.jira.sandbox import SandboxState
from jiragate.mcp import DRY_RUN_TOOL, STATUS_TOOL
from tests.helpers.service import KEYS, Service, running_service
from tests.mcp.conftest import (
    EXPOSED,
    bulk_create_arguments,
    http_session,
    structured,
    text_of,
)


def test_tools_listed_over_http_are_the_configured_ones_with_valid_schemas(service: Service):
    async def scenario() -> dict[str, Any]:
        async with http_session(service) as session:
            listed = await session.list_tools()
            with pytest.raises(MCPError, match="unknown tool 'jira_archive_issues'"):
                await session.call_tool("jira_archive_issues", {"summary": "x", "details": {}})
            return {tool.name: tool for tool in listed.tools}

    tools = asyncio.run(scenario())
    assert list(tools) == [*EXPOSED, STATUS_TOOL, DRY_RUN_TOOL]
    for tool in tools.values():
        Draft202012Validator.check_schema(tool.input_schema)
    assert tools["jira_get_issue"].annotations.read_only_hint is True
    assert tools["jira_delete_issues"].annotations.destructive_hint is True
    assert tools["jira_create_tickets"].annotations.idempotent_hint is False


def test_a_read_is_executed_and_returns_jiras_answer(service: Service):
    async def scenario() -> Any:
        async with http_session(service) as session:
            return await session.call_tool(
                "jira_get_issue", {"summary": "Look at ENG-1", "details": {"issueKey": "ENG-1"}}
            )

    result = asyncio.run(scenario())
    assert result.is_error is False
    data = structured(result)
    assert data["status"] == "executed"
    assert data["rule"] == "allow-safe-reads"
    assert data["result"]["data"]["issue"]["key"] == "ENG-1"
    assert text_of(result).startswith("Executed in Jira: jira_get_issue")
    # The same action is on record for the agent, as if it came through POST /v1/actions.
    assert service.agent_view(data["action_id"])["agent"] == "log-triage-bot"


def test_a_gated_bulk_create_awaits_the_leads_then_the_status_tool_reports_it_done(
    service: Service,
):
    lead = service.client("lead-alice")
    progress: list[tuple[float, float | None, str | None]] = []

    async def scenario() -> tuple[Any, Any]:
        async with http_session(service) as session:
            gated = await session.call_tool("jira_create_tickets", bulk_create_arguments(3))
            action_id = structured(gated)["action_id"]
            first_progress = asyncio.Event()

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total, message))
                first_progress.set()

            async def approve_once_waiting() -> None:
                # Approve only after the status tool reported it is waiting: the wait and
                # its progress notifications are exercised, with no sleeps or timing.
                await first_progress.wait()
                decided = await asyncio.to_thread(
                    lead.post,
                    f"/v1/approvals/{action_id}/decision",
                    json={"verdict": "approve", "note": "three real bugs"},
                )
                assert decided.status_code == 200, decided.text

            approver = asyncio.create_task(approve_once_waiting())
            done = await session.call_tool(
                STATUS_TOOL,
                {"action_id": action_id, "wait_seconds": 30},
                progress_callback=on_progress,
            )
            await approver
            return gated, done

    gated, done = asyncio.run(scenario())
    pending = structured(gated)
    assert gated.is_error is False
    assert pending["status"] == "pending_approval"
    assert pending["review_group"] == "engineering-leads"
    assert pending["rule"] == "high-priority-creation"
    assert pending["check_with"]["tool"] == STATUS_TOOL
    assert "awaits approval from the review group 'engineering-leads'" in text_of(gated)
    assert pending["action_id"] in text_of(gated)

    assert progress and progress[0][1] == 30
    assert "pending_approval" in str(progress[0][2])
    final = structured(done)
    assert done.is_error is False
    assert final["status"] == "executed", final
    assert final["approval"]["reviewers"] == ["lead-alice"]
    assert final["approval"]["note"] == "three real bugs"
    created = [c["key"] for c in final["result"]["created"]]
    assert len(created) == 3
    made = service.sandbox_issues(label=f"jiragate-{final['action_id']}")
    assert sorted(i.key for i in made) == sorted(created)


def test_the_agent_is_told_plainly_that_a_reviewer_edited_its_action(service: Service):
    """Approved with 2 of the 3 tickets (the 1st and 3rd), as Medium: the status tool's text
    says so in words, not only in effective_details."""
    lead = service.client("lead-alice")
    arguments = bulk_create_arguments(3)
    first, _, third = arguments["details"]["tickets"]
    note = "the second one is a duplicate"

    async def scenario() -> Any:
        async with http_session(service) as session:
            gated = await session.call_tool("jira_create_tickets", arguments)
            action_id = structured(gated)["action_id"]
            decided = await asyncio.to_thread(
                lead.post,
                f"/v1/approvals/{action_id}/decision",
                json={
                    "verdict": "approve",
                    "modifiedDetails": {
                        "issueCount": 2,
                        "priority": "Medium",
                        "tickets": [first, third],
                    },
                    "note": note,
                },
            )
            assert decided.status_code == 200, decided.text
            return await session.call_tool(
                STATUS_TOOL, {"action_id": action_id, "wait_seconds": 30}
            )

    done = asyncio.run(scenario())
    said = f"approved with edits: 2 of 3 (tickets #1, #3), as Medium; note: {note}"
    assert structured(done)["status"] == "executed"
    assert f"Reviewer: {said}." in text_of(done)
    assert structured(done)["approval"]["decision_summary"] == said
    assert service.agent_view(structured(done)["action_id"])["approval"]["decision_summary"] == said


def test_a_denied_delete_is_a_tool_error_naming_the_rule_and_reason(service: Service):
    arguments = {
        "summary": "Clean up stale tickets",
        "details": {"issueKeys": [f"ENG-{n}" for n in range(1, 13)]},
    }

    async def scenario() -> Any:
        async with http_session(service) as session:
            return await session.call_tool("jira_delete_issues", arguments)

    before = sorted(issue.key for issue in service.sandbox_issues())
    result = asyncio.run(scenario())
    assert result.is_error is True
    text = text_of(result)
    assert "Denied by Jiragate policy rule 'deny-bulk-deletes'" in text
    assert "More than 10 issues deleted in one request" in text
    assert structured(result)["status"] == "denied"
    assert sorted(issue.key for issue in service.sandbox_issues()) == before  # none deleted


def test_invalid_arguments_are_refused_with_the_pointer_and_rule(service: Service):
    async def scenario() -> tuple[Any, Any, Any]:
        async with http_session(service) as session:
            bad_count = bulk_create_arguments(3)
            bad_count["details"] = {**bad_count["details"], "issueCount": 0}
            flattened = {"summary": "Look at ENG-1", "issueKey": "ENG-1"}
            no_summary = {"details": {"issueKey": "ENG-1"}}
            return (
                await session.call_tool("jira_create_tickets", bad_count),
                await session.call_tool("jira_get_issue", flattened),
                await session.call_tool("jira_get_issue", no_summary),
            )

    bad_count, flattened, no_summary = asyncio.run(scenario())
    assert bad_count.is_error is True
    assert "/details/issueCount" in text_of(bad_count)
    assert "(rule: minimum)" in text_of(bad_count)
    assert structured(bad_count)["violations"][0] == {
        "pointer": "/details/issueCount",
        "rule": "minimum",
        "message": "0 is less than the minimum of 1",
    }
    assert flattened.is_error is True
    assert "unknown argument(s) 'issueKey' (Jira fields go inside `details`)" in text_of(flattened)
    assert no_summary.is_error is True
    assert "missing required argument 'summary'" in text_of(no_summary)
    listed = service.agent.get("/v1/actions").json()["items"]
    assert listed == []  # nothing was recorded


def test_dry_run_explains_and_records_nothing(service: Service):
    async def scenario() -> Any:
        async with http_session(service) as session:
            arguments = bulk_create_arguments(60, priority="Low")
            return await session.call_tool(
                DRY_RUN_TOOL,
                {
                    "action": "jira_create_tickets",
                    "summary": arguments["summary"],
                    "details": arguments["details"],
                },
            )

    result = asyncio.run(scenario())
    assert result.is_error is False
    decision = structured(result)
    assert decision["decision"] == "deny"
    assert decision["determining_rule"] == "deny-ticket-floods"
    assert {e["rule"] for e in decision["explanations"]} >= {"bulk-creation"}
    # The text is the decision's own summary (Decision.summary), as `jiragate eval --explain`.
    assert "decision: deny (jira_create_tickets, write)" in text_of(result)
    assert "deciding rule: deny-ticket-floods" in text_of(result)
    assert service.agent.get("/v1/actions").json()["items"] == []


def test_an_idempotency_key_replays_the_first_action_instead_of_acting_twice(service: Service):
    arguments = {**bulk_create_arguments(2), "idempotencyKey": "triage-2024-06-01"}

    async def scenario() -> tuple[Any, Any]:
        async with http_session(service) as session:
            first = await session.call_tool("jira_create_tickets", arguments)
            second = await session.call_tool("jira_create_tickets", arguments)
            return first, second

    first, second = asyncio.run(scenario())
    assert structured(second)["action_id"] == structured(first)["action_id"]
    assert structured(second)["replayed"] is True
    assert text_of(second).startswith("Replayed (same idempotencyKey as before)")
    assert len(service.agent.get("/v1/actions").json()["items"]) == 1


def test_the_status_tool_shows_only_the_callers_own_actions(service: Service):
    async def scenario() -> tuple[Any, Any]:
        async with http_session(service) as bot:
            gated = await bot.call_tool("jira_create_tickets", bulk_create_arguments(2))
        action_id = structured(gated)["action_id"]
        async with http_session(service, agent="ide-assistant") as other:
            theirs = await other.call_tool(STATUS_TOOL, {"action_id": action_id})
        async with http_session(service) as bot:
            mine = await bot.call_tool(STATUS_TOOL, {"action_id": action_id})
        return theirs, mine

    theirs, mine = asyncio.run(scenario())
    assert theirs.is_error is True
    assert "No action" in text_of(theirs) and "of yours" in text_of(theirs)
    assert mine.is_error is False
    assert structured(mine)["status"] == "pending_approval"


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Bearer not-a-key-of-anyone-at-all"}, 401, "unknown API key"),
        ({"Authorization": f"Bearer {KEYS['retired-bot']}"}, 401, "revoked"),
        ({"Authorization": f"Bearer {KEYS['lead-alice']}"}, 403, "reviewer, not an agent"),
    ],
)
def test_an_unauthenticated_session_is_refused_with_a_json_error(
    service: Service, headers: dict[str, str], status: int, message: str
):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "curl", "version": "0"},
        },
    }
    response = httpx.post(
        f"{service.url}/mcp",
        json=initialize,
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == status
    body = response.json()
    assert body["error"] == ("unauthorized" if status == 401 else "forbidden")
    assert message in body["message"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


class _RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer without affinity: each request goes to the next replica in turn."""

    def __init__(self, urls: list[str]) -> None:
        self._targets = [httpx2.URL(url) for url in urls]
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = len(self.sent) % len(self._targets)
        self.sent.append(index)
        target = self._targets[index]
        request.url = request.url.copy_with(host=target.host, port=target.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_one_client_served_by_two_replicas_without_affinity(db_url: str):
    """Every other request of one MCP client reaches the other replica: list, read, gate and
    status all work, and nothing answers 404 for an unknown session."""
    state = SandboxState()
    with (
        running_service(db_url, sandbox_state=state, mcp_actions=EXPOSED) as first,
        running_service(db_url, sandbox_state=state, mcp_actions=EXPOSED) as second,
    ):
        balancer = _RoundRobin([first.url, second.url])

        async def scenario() -> tuple[Any, Any, Any]:
            headers = {"Authorization": f"Bearer {KEYS['log-triage-bot']}"}
            async with (
                httpx2.AsyncClient(transport=balancer, headers=headers, timeout=30) as http,
                streamable_http_client(f"{first.url}/mcp", http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                listed = await session.list_tools()
                read_result = await session.call_tool(
                    "jira_get_issue", {"summary": "Look at ENG-1", "details": {"issueKey": "ENG-1"}}
                )
                gated = await session.call_tool("jira_create_tickets", bulk_create_arguments(2))
                status = await session.call_tool(
                    STATUS_TOOL, {"action_id": structured(gated)["action_id"]}
                )
                return listed, read_result, status

        listed, read_result, status = asyncio.run(scenario())
    assert set(balancer.sent) == {0, 1}, "both replicas answered"
    assert {tool.name for tool in listed.tools} >= set(EXPOSED)
    assert structured(read_result)["status"] == "executed"
    assert structured(status)["status"] == "pending_approval"

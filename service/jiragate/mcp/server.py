"""The MCP server over the SDK's low-level `Server`, and the stdio transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from jiragate import __version__
from jiragate.gateway import Gateway
from jiragate.mcp.calls import INVALID_PARAMS, GatewayTools
from jiragate.settings import Settings

#: The ASGI scope key the HTTP endpoint puts the authenticated agent's name under.
AGENT_SCOPE_KEY = "jiragate.agent"

_INSTRUCTIONS = (
    "Jiragate is a policy gate in front of Jira. Every Jira action you call is checked against "
    "the organisation's policies before anything reaches Jira: it is executed at once, denied "
    "with a reason (change the request; do not retry it unchanged), or sent to a named human "
    "review group, who may approve it (possibly edited: fewer tickets, a lower priority), or "
    "reject it. For a gated action, call jira_action_status with its action_id to learn the "
    "outcome. Use dry_run to ask what the gate would decide without doing anything."
)


def _agent_of(ctx: ServerRequestContext[Any, Any], fixed_agent: str | None) -> str:
    request = ctx.request
    scope = getattr(request, "scope", None)
    if isinstance(scope, Mapping) and isinstance(scope.get(AGENT_SCOPE_KEY), str):
        return str(scope[AGENT_SCOPE_KEY])
    if fixed_agent is not None:
        return fixed_agent
    # Never act without an identity: the HTTP endpoint always sets one, stdio fixes one.
    raise MCPError(INVALID_PARAMS, "no agent identity for this request")


def build_server(
    gateway: Callable[[], Gateway], settings: Settings, *, agent: str | None = None
) -> Server[Any]:
    """The MCP server. `agent` fixes the identity (stdio); over HTTP each request carries
    the authenticated agent in its ASGI scope instead."""
    tools = GatewayTools(gateway, settings)

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.tools())

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        async def progress(done: float, total: float | None, message: str | None) -> None:
            # A no-op unless the client sent a progress token with this call.
            await ctx.session.report_progress(done, total, message)

        return await tools.call(
            params.name,
            params.arguments,
            agent=_agent_of(ctx, agent),
            progress=progress,
        )

    return Server(
        "jiragate",
        version=__version__,
        title="Jiragate",
        instructions=_INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def serve_stdio(settings: Settings, agent: str) -> None:
    """Serve MCP on stdin/stdout as `agent` until the client closes stdin.

    There is no HTTP service in this process, so it runs the gateway's worker loop too
    (unless `run_worker` is off): an action a reviewer approves is executed by whichever
    worker claims it first, this one or a service's, never twice (the store's claims).
    """
    import asyncio

    from mcp.server.stdio import stdio_server

    gateway = Gateway.build(settings)
    server = build_server(lambda: gateway, settings, agent=agent)
    stop = asyncio.Event()
    # It decides, so it keeps to the active policy revision.
    background = asyncio.create_task(gateway.run_background(stop, worker=settings.run_worker))
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        stop.set()
        await background
        await gateway.aclose()

"""The MCP server: AI assistants reach Jira only through the gate.

```
MCP client ──tools/call──► tool arguments ──► envelope ──► gateway.submit(envelope, agent)
   (stdio: `jiragate mcp`;                        ├─ allowed          → the Jira result
    HTTP: POST/GET /mcp, Bearer <agent key>)      ├─ denied           → isError, rule + reason
                                                  ├─ require_approval → "awaits <group>", action id
                                                  └─ invalid          → isError, JSON pointer + rule
```

One tool per catalog action (those in `settings.mcp_actions`, all by default), named like the
action and derived from its `ActionSpec` when the tools are listed: its schema, its description
and its annotations (`readOnlyHint` for reads, `destructiveHint` for destructive actions,
`idempotentHint` from the spec), so an action added to the catalog is a tool without an edit
here. A tool's input is the HTTP envelope minus `action` (the tool name is the action):
`{summary, details, justification?, idempotencyKey?}`, with the action's own JSON Schema as
`details`. Details are nested rather than flattened because three actions' details have a
`summary` field of their own (the ticket's title), which would collide with the envelope's.
Two more tools are always offered: `jira_action_status` (follow a gated action, with a bounded
wait) and `dry_run` (the explained decision, nothing recorded or executed).

Built on the official `mcp` SDK (2.x): the low-level `mcp.server.lowlevel.Server` with
`on_list_tools`/`on_call_tool` handlers, `stdio_server()` for stdio and a
`StreamableHTTPSessionManager` for streamable HTTP (see the SDK's
`mcp/server/lowlevel/server.py` and `mcp/server/streamable_http_manager.py`). Tool failures are
results with `isError: true`, not protocol errors, so the model sees them and can adjust; an
unknown tool name is a protocol error (-32602), as the MCP spec's tools page has it
(https://modelcontextprotocol.io/specification/2025-06-18/server/tools#error-handling).

The modules, in the order a call meets them: `server` (the SDK's server and stdio) and
`streamable_http` (`/mcp`, authenticated per request) are the transports; `tools` lists what
is offered; `calls` checks a call's arguments and runs the gateway's use case; `results`
says what came of it. Only this package's names below are its interface.
"""

from jiragate.mcp.calls import GatewayTools, ToolArgumentError
from jiragate.mcp.results import (
    action_summary,
    decision_result,
    error_result,
    invalid_details_result,
    record_result,
)
from jiragate.mcp.server import AGENT_SCOPE_KEY, build_server, serve_stdio
from jiragate.mcp.streamable_http import McpHttpEndpoint
from jiragate.mcp.tools import (
    DRY_RUN_TOOL,
    STATUS_TOOL,
    action_input_schema,
    action_tool,
    dry_run_tool,
    exposed_actions,
    list_tools,
    status_tool,
    tool_annotations,
)

__all__ = [
    "AGENT_SCOPE_KEY",
    "DRY_RUN_TOOL",
    "STATUS_TOOL",
    "GatewayTools",
    "McpHttpEndpoint",
    "ToolArgumentError",
    "action_input_schema",
    "action_summary",
    "action_tool",
    "build_server",
    "decision_result",
    "dry_run_tool",
    "error_result",
    "exposed_actions",
    "invalid_details_result",
    "list_tools",
    "record_result",
    "serve_stdio",
    "status_tool",
    "tool_annotations",
]

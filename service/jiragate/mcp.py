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
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from mcp import types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from jiragate import __version__
from jiragate.catalog import (
    CATALOG,
    MAX_JUSTIFICATION,
    MAX_SUMMARY,
    ActionKind,
    load_action_schema,
)
from jiragate.errors import (
    ActionError,
    ApprovalBackendError,
    IdempotencyConflictError,
    InvalidDetailsError,
    JiragateError,
    PolicyOutOfDateError,
    StoreError,
    UnknownActionError,
)
from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord, ActionStatus, decision_summary
from jiragate.policy.engine import Decision
from jiragate.settings import Settings

log = logging.getLogger("jiragate.mcp")

STATUS_TOOL = "jira_action_status"
DRY_RUN_TOOL = "dry_run"
#: The ASGI scope key the HTTP endpoint puts the authenticated agent's name under.
AGENT_SCOPE_KEY = "jiragate.agent"
MAX_IDEMPOTENCY_KEY = 255
# JSON-RPC "Invalid params": the MCP spec's answer to an unknown tool name.
INVALID_PARAMS = -32602

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]

_INSTRUCTIONS = (
    "Jiragate is a policy gate in front of Jira. Every Jira action you call is checked against "
    "the organisation's policies before anything reaches Jira: it is executed at once, denied "
    "with a reason (change the request; do not retry it unchanged), or sent to a named human "
    "review group, who may approve it (possibly edited: fewer tickets, a lower priority), or "
    "reject it. For a gated action, call jira_action_status with its action_id to learn the "
    "outcome. Use dry_run to ask what the gate would decide without doing anything."
)


# --------------------------------------------------------------------------- tool shapes


def exposed_actions(settings: Settings) -> tuple[str, ...]:
    """The catalog actions offered as tools, in catalog order. Read from `CATALOG` when
    asked (not from `ACTION_NAMES`, fixed when the catalog loaded), so every registered
    action is offered."""
    if settings.mcp_actions is None:
        return tuple(CATALOG)
    wanted = set(settings.mcp_actions)
    return tuple(name for name in CATALOG if name in wanted)


def _details_schema(action: str) -> dict[str, Any]:
    # `$schema`/`$id` belong at a document's root; nested under `details` an `$id` would
    # change the base URI for nothing, so the embedded copy drops both.
    return {k: v for k, v in load_action_schema(action).items() if k not in ("$schema", "$id")}


_SUMMARY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_SUMMARY,
    "description": (
        "One or two sentences for the human reviewer and the audit trail: what you want "
        "done and why. Not a Jira field."
    ),
}
_JUSTIFICATION_SCHEMA = {
    "type": "string",
    "maxLength": MAX_JUSTIFICATION,
    "description": "The evidence behind the request (log lines, ticket links), for reviewers.",
}
_IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_IDEMPOTENCY_KEY,
    "description": (
        "Optional. Reuse the same key when you retry the same request (for example after a "
        "timeout): Jiragate returns the first attempt's action instead of acting twice."
    ),
}


def action_input_schema(action: str) -> dict[str, Any]:
    """A tool's input: the envelope without `action`, the action's schema as `details`."""
    properties: dict[str, Any] = {
        "summary": _SUMMARY_SCHEMA,
        "details": _details_schema(action),
        "justification": _JUSTIFICATION_SCHEMA,
    }
    if CATALOG[action].kind is not ActionKind.READ:
        properties["idempotencyKey"] = _IDEMPOTENCY_SCHEMA
    return {
        "type": "object",
        "properties": properties,
        "required": ["summary", "details"],
        "additionalProperties": False,
    }


def _gate_sentence(kind: ActionKind) -> str:
    if kind is ActionKind.READ:
        return (
            "Jiragate's policies decide every call: reads are normally executed at once and "
            "return Jira's answer, but a policy may deny one (the error names the rule)."
        )
    return (
        "Nothing reaches Jira until Jiragate's policies decide. The call is either executed "
        "(the Jira result is returned), denied (an error names the rule and the reason: change "
        "the request, do not resend it unchanged), or sent for approval to a named review "
        "group (nothing happens until a human approves, possibly with edits such as fewer "
        "tickets or a lower priority; the result gives an action_id to pass to "
        f"{STATUS_TOOL})."
    )


def tool_annotations(action: str) -> types.ToolAnnotations:
    """The hints a client shows or acts on (e.g. asking the user before a destructive call),
    from the catalog's kind and idempotence, never from anything the agent says. Every hint
    is set explicitly: the MCP defaults (destructive, not idempotent) would misdescribe reads."""
    spec = CATALOG[action]
    return types.ToolAnnotations(
        title=action.removeprefix("jira_").replace("_", " ").capitalize(),
        read_only_hint=spec.kind is ActionKind.READ,
        destructive_hint=spec.kind is ActionKind.DESTRUCTIVE,
        idempotent_hint=spec.idempotent,
        open_world_hint=True,
    )


def action_tool(action: str) -> types.Tool:
    spec = CATALOG[action]
    kind_text = {
        ActionKind.READ: "A read: it changes nothing in Jira.",
        ActionKind.WRITE: "A write: it changes Jira.",
        ActionKind.DESTRUCTIVE: "Destructive: it cannot be undone from Jira's UI.",
    }[spec.kind]
    description = (
        f"{spec.description} {kind_text} {_gate_sentence(spec.kind)} "
        "Arguments: `summary` (what and why, for reviewers), `details` (the Jira fields, "
        "described by the schema), optional `justification`."
    )
    annotations = tool_annotations(action)
    return types.Tool(
        name=action,
        description=description,
        input_schema=action_input_schema(action),
        annotations=annotations,
    )


def status_tool(settings: Settings) -> types.Tool:
    return types.Tool(
        name=STATUS_TOOL,
        description=(
            "Where one of your own Jiragate actions stands: pending approval (and by which "
            "review group), approved, executed (with the Jira result), rejected (with the "
            "reviewer's note), expired, denied or failed. Give `wait_seconds` to wait (at most "
            f"{settings.max_wait_seconds:g}s) until the action is finished; progress is reported "
            "while waiting."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "action_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "The action_id a Jira tool returned.",
                },
                "wait_seconds": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": settings.max_wait_seconds,
                    "description": "Wait up to this long for a final outcome (default 0).",
                },
            },
            "required": ["action_id"],
            "additionalProperties": False,
        },
        annotations=types.ToolAnnotations(
            title="Action status",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )


def dry_run_tool(actions: tuple[str, ...]) -> types.Tool:
    return types.Tool(
        name=DRY_RUN_TOOL,
        description=(
            "Ask what Jiragate would decide for a Jira action, without recording or executing "
            "anything: allow, deny (with the rule and reason) or require approval (and which "
            "review group), with the rules that matched and why the others did not. `details` "
            "is what you would pass as `details` to the action's own tool."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": list(actions)},
                "summary": _SUMMARY_SCHEMA,
                "details": {"type": "object"},
                "justification": _JUSTIFICATION_SCHEMA,
            },
            "required": ["action", "summary", "details"],
            "additionalProperties": False,
        },
        annotations=types.ToolAnnotations(
            title="Dry run",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )


def list_tools(settings: Settings) -> list[types.Tool]:
    actions = exposed_actions(settings)
    return [action_tool(name) for name in actions] + [
        status_tool(settings),
        dry_run_tool(actions),
    ]


# --------------------------------------------------------------------------- results


class ToolArgumentError(ActionError):
    """The tool arguments around `details` are wrong (unknown key, missing summary, …)."""

    code = "invalid_arguments"


def _plain_result(
    text: str, structured: dict[str, Any], *, is_error: bool = False
) -> types.CallToolResult:
    # Structured content for clients that read it, and the same JSON in the text for those
    # that only pass text to the model: "a tool that returns structured content SHOULD also
    # return the serialized JSON in a TextContent block" (MCP spec, 2025-06-18, tools page,
    # https://modelcontextprotocol.io/specification/2025-06-18/server/tools#structured-content).
    body = json.dumps(structured, indent=2, default=str)
    return types.CallToolResult(
        content=[types.TextContent(text=f"{text}\n\n{body}")],
        structured_content=structured,
        is_error=is_error,
    )


def error_result(message: str, **structured: Any) -> types.CallToolResult:
    return _plain_result(message, {"message": message, **structured}, is_error=True)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def action_summary(record: ActionRecord) -> dict[str, Any]:
    """What the model sees of an action: where it stands and what came of it."""
    view: dict[str, Any] = {
        "action_id": record.id,
        "action": record.action,
        "status": record.status.value,
        "rule": record.determining_rule,
        "reason": ((record.decision_json or {}).get("reasons") or [None])[0],
        "policy_revision": record.policy_revision,
    }
    if record.review_group:
        view["review_group"] = record.review_group
    if record.approval_backend or record.reviewers or record.decision_note:
        view["approval"] = {
            "reviewers": record.reviewers,
            "note": record.decision_note,
            "decision_summary": decision_summary(record),
            "expires_at": _iso(record.expires_at),
            "decided_at": _iso(record.decided_at),
        }
    if record.effective_details is not None and record.effective_details != record.details:
        view["effective_details"] = record.effective_details
    if record.result_json is not None:
        view["result"] = {k: v for k, v in record.result_json.items() if k != "calls"}
    if record.error:
        view["error"] = record.error
    return view


def _check_hint(record: ActionRecord) -> dict[str, Any]:
    return {"tool": STATUS_TOOL, "arguments": {"action_id": record.id, "wait_seconds": 30}}


def _jira_outcome(record: ActionRecord) -> str:
    result = record.result_json or {}
    created = [c.get("key") for c in result.get("created", []) if c.get("key")]
    parts = []
    if created:
        parts.append(f"created {', '.join(created)}")
    if result.get("updated"):
        parts.append(f"updated {', '.join(result['updated'])}")
    return "; ".join(parts)


def record_result(
    record: ActionRecord, *, from_status_tool: bool = False, replayed: bool = False
) -> types.CallToolResult:
    """A tool result for an action wherever it stands.

    From an action tool, anything that did not and will not happen (denied, failed, rejected,
    expired) is a tool error so the model notices; the status tool reports those truthfully
    without failing, since the question it answers ("where does it stand?") succeeded. A
    `replayed` result (same idempotencyKey) says so, so the model knows it did not act twice.
    """
    return _record_result(record, action_summary(record), not from_status_tool, replayed)


def _record_result(
    record: ActionRecord, view: dict[str, Any], failed_call: bool, replayed: bool
) -> types.CallToolResult:
    def _result(text: str, view: dict[str, Any], *, is_error: bool = False) -> types.CallToolResult:
        if replayed:
            view["replayed"] = True
            text = f"Replayed (same idempotencyKey as before): {text}"
        return _plain_result(text, view, is_error=is_error)

    status = record.status
    group = record.review_group
    what = f"{record.action} (action {record.id})"
    decided = decision_summary(record)
    # "Reviewer: approved with edits: 4 of 12, as Medium; note: …": said plainly, first.
    said = f" Reviewer: {decided}." if decided and status is not ActionStatus.REJECTED else ""
    if status is ActionStatus.EXECUTED:
        done = _jira_outcome(record)
        return _result(f"Executed in Jira: {what}{': ' + done if done else ''}.{said}", view)
    if status is ActionStatus.PARTIALLY_EXECUTED:
        return _result(
            f"Partly executed in Jira: {what}: {_jira_outcome(record) or 'some parts'} "
            f"succeeded, others failed: {record.error}. See result.failures.{said}",
            view,
        )
    if status is ActionStatus.FAILED:
        return _result(
            f"Jira did not carry out {what}: {record.error}{said}", view, is_error=failed_call
        )
    if status is ActionStatus.DENIED:
        return _result(
            f"Denied by Jiragate policy rule {record.determining_rule!r}: {view['reason']} "
            f"Nothing was executed (action {record.id}). Change the request to fit the policy "
            "rather than sending it again unchanged.",
            view,
            is_error=failed_call,
        )
    if status is ActionStatus.PENDING_APPROVAL:
        view["check_with"] = _check_hint(record)
        return _result(
            f"Not executed yet: {what} awaits approval from the review group {group!r} "
            f"(rule {record.determining_rule!r}: {str(view['reason']).rstrip('.')}). Reviewers may "
            "approve it as "
            f"is, approve it edited, or reject it. Call {STATUS_TOOL} with action_id "
            f"{record.id!r} (and wait_seconds to wait) to learn the outcome.",
            view,
        )
    if status in (ActionStatus.APPROVED, ActionStatus.EXECUTING):
        view["check_with"] = _check_hint(record)
        return _result(
            f"{what} is {status.value.replace('_', ' ')} and about to run in Jira.{said} Call "
            f"{STATUS_TOOL} with action_id {record.id!r} for the result.",
            view,
        )
    if status is ActionStatus.REJECTED:
        return _result(
            f"Rejected by the review group {group!r}: {what} was not executed. Reviewer's "
            f"note: {record.decision_note or '(none)'}",
            view,
            is_error=failed_call,
        )
    return _result(  # EXPIRED
        f"Expired: nobody in {group!r} decided {what} in time, so it was not executed.",
        view,
        is_error=failed_call,
    )


def decision_result(decision: Decision) -> types.CallToolResult:
    """The dry run's answer: `Decision.summary()` (the lines `jiragate eval --explain` prints:
    decision, deciding rule, reason, matched rules) for the model, the explained decision as
    structured content."""
    return _plain_result(
        f"Dry run, nothing recorded or executed.\n{decision.summary()}", decision.as_dict()
    )


def invalid_details_result(tool: str, exc: InvalidDetailsError) -> types.CallToolResult:
    # Pointers are relative to `details`; the model sent them under /details.
    violations = [
        {"pointer": f"/details{v.pointer}", "rule": v.rule, "message": v.message}
        for v in exc.violations
    ]
    listed = "; ".join(f"{v['pointer']}: {v['message']} (rule: {v['rule']})" for v in violations)
    return error_result(
        f"Invalid arguments for {tool}, nothing was done: {listed}",
        error=exc.code,
        violations=violations,
    )


# --------------------------------------------------------------------------- calls


def _expect_object(arguments: object, tool: str) -> dict[str, Any]:
    if arguments is None:
        return {}
    if not isinstance(arguments, Mapping):
        raise ToolArgumentError(f"{tool}: arguments must be a JSON object")
    return dict(arguments)


def _refuse_unknown(tool: str, arguments: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(arguments) - set(allowed))
    if not unknown:
        return
    hint = ""
    if tool in CATALOG and "details" in allowed:
        fields = set(load_action_schema(tool).get("properties", {}))
        if fields & set(unknown):
            hint = " (Jira fields go inside `details`)"
    raise ToolArgumentError(
        f"{tool}: unknown argument(s) {', '.join(map(repr, unknown))}{hint}; "
        f"allowed: {', '.join(allowed)}"
    )


def _envelope(tool: str, action: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if "summary" not in arguments:
        raise ToolArgumentError(
            f"{tool}: missing required argument 'summary' (what you want done and why, "
            "for the reviewers)"
        )
    if "details" not in arguments:
        raise ToolArgumentError(f"{tool}: missing required argument 'details' (the Jira fields)")
    envelope = {
        "action": action,
        "summary": arguments["summary"],
        "details": arguments["details"],
    }
    if "justification" in arguments:
        envelope["justification"] = arguments["justification"]
    return envelope


class GatewayTools:
    """The tools, independent of the transport: `call(name, arguments, agent=…)`."""

    def __init__(self, gateway: Callable[[], Gateway], settings: Settings) -> None:
        self._gateway = gateway
        self.settings = settings

    @property
    def actions(self) -> tuple[str, ...]:
        # Asked each time, like the tool list, so both always name the same actions.
        return exposed_actions(self.settings)

    def tools(self) -> list[types.Tool]:
        return list_tools(self.settings)

    async def call(
        self,
        name: str,
        arguments: object,
        *,
        agent: str,
        progress: ProgressFn | None = None,
    ) -> types.CallToolResult:
        if name not in self.actions and name not in (STATUS_TOOL, DRY_RUN_TOOL):
            offered = ", ".join([*self.actions, STATUS_TOOL, DRY_RUN_TOOL])
            raise MCPError(INVALID_PARAMS, f"unknown tool {name!r}; this server offers: {offered}")
        gateway = self._gateway()
        try:
            args = _expect_object(arguments, name)
            if name == STATUS_TOOL:
                return await self._status(gateway, args, agent=agent, progress=progress)
            if name == DRY_RUN_TOOL:
                return self._dry_run(gateway, args, agent=agent)
            return await self._submit(gateway, name, args, agent=agent)
        except InvalidDetailsError as exc:
            return invalid_details_result(name, exc)
        except UnknownActionError as exc:
            return error_result(str(exc), error=exc.code)
        except ActionError as exc:
            return error_result(f"Invalid arguments, nothing was done: {exc}", error=exc.code)
        except IdempotencyConflictError as exc:
            return error_result(
                f"{exc}. Use a new idempotencyKey for a different request.",
                error=exc.code,
            )
        except ApprovalBackendError as exc:
            return error_result(
                f"The approval service is unavailable, so nothing was executed: {exc}. "
                "Try again later.",
                error=exc.code,
            )
        except StoreError as exc:  # the store translates every database failure
            log.error("database unavailable during %s: %s", name, type(exc).__name__)
            return error_result(
                "Jiragate's database is unavailable; nothing was changed. Try again later.",
                error=StoreError.code,
            )
        except PolicyOutOfDateError as exc:
            return error_result(
                f"Jiragate cannot decide right now, so nothing was done: {exc}. Try again later.",
                error=exc.code,
            )
        except JiragateError as exc:
            return error_result(str(exc), error=exc.code)

    async def _submit(
        self, gateway: Gateway, action: str, args: dict[str, Any], *, agent: str
    ) -> types.CallToolResult:
        kind = CATALOG[action].kind
        allowed: tuple[str, ...] = ("summary", "details", "justification")
        if kind is not ActionKind.READ:
            allowed += ("idempotencyKey",)
        _refuse_unknown(action, args, allowed)
        key = args.get("idempotencyKey")
        if key is not None and (
            not isinstance(key, str) or not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY
        ):
            raise ToolArgumentError(
                f"{action}: 'idempotencyKey' must be a non-empty string of at most "
                f"{MAX_IDEMPOTENCY_KEY} characters"
            )
        submission = await gateway.submit(
            _envelope(action, action, args), agent=agent, idempotency_key=key
        )
        return record_result(submission.record, replayed=not submission.created)

    def _dry_run(
        self, gateway: Gateway, args: dict[str, Any], *, agent: str
    ) -> types.CallToolResult:
        _refuse_unknown(DRY_RUN_TOOL, args, ("action", "summary", "details", "justification"))
        action = args.get("action")
        if action not in self.actions:
            raise ToolArgumentError(
                f"{DRY_RUN_TOOL}: 'action' must be one of the offered actions: "
                f"{', '.join(self.actions)} (got {action!r})"
            )
        assert isinstance(action, str)
        envelope = _envelope(DRY_RUN_TOOL, action, args)
        return decision_result(gateway.evaluate(envelope, agent=agent, explain=True))

    async def _status(
        self,
        gateway: Gateway,
        args: dict[str, Any],
        *,
        agent: str,
        progress: ProgressFn | None,
    ) -> types.CallToolResult:
        _refuse_unknown(STATUS_TOOL, args, ("action_id", "wait_seconds"))
        action_id = args.get("action_id")
        if not isinstance(action_id, str) or not action_id.strip():
            raise ToolArgumentError(f"{STATUS_TOOL}: 'action_id' must be a non-empty string")
        wait = args.get("wait_seconds", 0)
        if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
            raise ToolArgumentError(
                f"{STATUS_TOOL}: 'wait_seconds' must be a number of seconds >= 0 (got {wait!r})"
            )
        record = gateway.get_action(action_id)
        if record is None or record.agent != agent:
            if record is not None:  # someone else's: audited, and answered as if absent
                gateway.note_event(
                    action_id=action_id,
                    actor=agent,
                    type="access.refused",
                    data={"via": "mcp", "tool": STATUS_TOOL},
                )
            return error_result(
                f"No action {action_id!r} of yours. Use the action_id a Jira tool returned to you.",
                error="not_found",
            )
        seconds = min(float(wait), self.settings.max_wait_seconds)
        if seconds > 0 and not record.final:
            record = await _wait_with_progress(gateway, record, seconds, progress)
        return record_result(record, from_status_tool=True)


async def _wait_with_progress(
    gateway: Gateway, record: ActionRecord, seconds: float, progress: ProgressFn | None
) -> ActionRecord:
    """Wait (bounded) for a final status, one-second slices, reporting progress between."""
    started = time.monotonic()
    deadline = started + seconds
    while not record.final:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        record = await gateway.wait_for_decision(record.id, min(1.0, remaining))
        if progress is not None and not record.final:
            elapsed = min(time.monotonic() - started, seconds)
            await progress(elapsed, seconds, f"{record.id} is {record.status.value}")
    return record


# --------------------------------------------------------------------------- the server


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


# --------------------------------------------------------------------------- stdio


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


# --------------------------------------------------------------------------- HTTP


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="jiragate"'} if status == 401 else None
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


class McpHttpEndpoint:
    """`/mcp`: streamable HTTP, every request authenticated with an agent's API key.

    Stateless: each POST carries one JSON-RPC exchange and nothing of it is kept in this
    process, so replicas behind a load balancer need no session affinity (any replica can
    answer any request, progress notifications included, since they travel on the request's
    own response stream). The key is checked on every request, so a revoked key stops
    working at once, and there is no session id to steal.
    """

    def __init__(self, gateway: Callable[[], Gateway], settings: Settings) -> None:
        self._gateway = gateway
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the session manager (one per app lifespan; the SDK's manager runs once)."""
        server = build_server(self._gateway, self.settings)
        manager = StreamableHTTPSessionManager(app=server, stateless=True)
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    def _authenticate(self, request: Request) -> tuple[str | None, JSONResponse | None]:
        gateway = self._gateway()
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        reason: str
        status = 401
        if scheme.lower() != "bearer" or not key.strip():
            reason = "missing API key (send Authorization: Bearer <agent API key>)"
        else:
            agent = self.settings.agent_for_key(key.strip())
            reviewer = None if agent else self.settings.reviewer_for_key(key.strip())
            if agent is not None and not agent.revoked:
                return agent.name, None
            if agent is not None:
                reason = f"the API key of agent {agent.name} is revoked"
            elif reviewer is not None:
                reason, status = f"{reviewer.name} is a reviewer, not an agent", 403
            else:
                reason = "unknown API key"
        gateway.note_event(
            action_id=None,
            actor="anonymous",
            type="auth.refused",
            data={"path": request.url.path, "method": request.method, "reason": reason},
        )
        code = "unauthorized" if status == 401 else "forbidden"
        return None, _json_error(status, code, reason)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if scope["type"] != "http" or manager is None:
            await _json_error(503, "unavailable", "the MCP endpoint is not running")(
                scope, receive, send
            )
            return
        agent, refusal = self._authenticate(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # The session manager compares this identity with the session's opener. The token
        # field names the agent, not its key: the key is kept nowhere it could leak from.
        token = AccessToken(token=f"agent:{agent}", client_id=str(agent), scopes=[])
        user = AuthenticatedUser(token)
        await manager.handle_request({**scope, "user": user, AGENT_SCOPE_KEY: agent}, receive, send)

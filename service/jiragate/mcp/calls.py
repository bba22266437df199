"""Tool calls, independent of the transport: arguments checked, then the gateway's use
cases (submit, evaluate, the action's status with a bounded wait)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp import types
from mcp.shared.exceptions import MCPError

from jiragate.catalog import CATALOG, ActionKind, load_action_schema
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
from jiragate.gateway.records import ActionRecord
from jiragate.mcp.results import (
    decision_result,
    error_result,
    invalid_details_result,
    record_result,
)
from jiragate.mcp.tools import (
    DRY_RUN_TOOL,
    MAX_IDEMPOTENCY_KEY,
    STATUS_TOOL,
    exposed_actions,
    list_tools,
)
from jiragate.settings import Settings

log = logging.getLogger("jiragate.mcp")

# JSON-RPC "Invalid params": the MCP spec's answer to an unknown tool name.
INVALID_PARAMS = -32602

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]


class ToolArgumentError(ActionError):
    """The tool arguments around `details` are wrong (unknown key, missing summary, …)."""

    code = "invalid_arguments"


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
        # The store is blocking database work: off the event loop.
        record = await asyncio.to_thread(gateway.get_action, action_id)
        if record is None or record.agent != agent:
            if record is not None:  # someone else's: audited, and answered as if absent
                await asyncio.to_thread(
                    gateway.note_event,
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

"""The tools an MCP client lists: one per exposed catalog action, derived from its
`ActionSpec` (schema, description, annotations), plus `jira_action_status` and `dry_run`."""

from __future__ import annotations

from typing import Any

from mcp import types

from jiragate.catalog import (
    CATALOG,
    MAX_JUSTIFICATION,
    MAX_SUMMARY,
    ActionKind,
    SideEffects,
    load_action_schema,
)
from jiragate.settings import Settings

STATUS_TOOL = "jira_action_status"
DRY_RUN_TOOL = "dry_run"
MAX_IDEMPOTENCY_KEY = 255


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
    from the catalog's kind, side effects and idempotence, never from anything the agent says.
    Every hint is set explicitly: the MCP defaults (destructive, not idempotent) would
    misdescribe reads. `destructiveHint` is the spec's declared side effects, so a write that
    renumbers or drops data (moving an issue) is announced as destructive by its declaration,
    not by its name."""
    spec = CATALOG[action]
    return types.ToolAnnotations(
        title=action.removeprefix("jira_").replace("_", " ").capitalize(),
        read_only_hint=spec.kind is ActionKind.READ,
        destructive_hint=spec.effects is SideEffects.DESTRUCTIVE,
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
    if spec.kind is ActionKind.WRITE and spec.effects is SideEffects.DESTRUCTIVE:
        kind_text = "A write that cannot be fully undone: it may renumber or drop data in Jira."
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

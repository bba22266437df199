"""Tool results: what the model reads of an action, a decision or a refusal."""

from __future__ import annotations

import json
from typing import Any

from mcp import types

from jiragate.errors import InvalidDetailsError
from jiragate.gateway.records import ActionRecord, ActionStatus, decision_summary
from jiragate.mcp.tools import STATUS_TOOL
from jiragate.policy.engine import Decision


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

"""JSON views of stored records: what agents and reviewers see of an action."""

from __future__ import annotations

from typing import Any

from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord, ActionStatus, decision_summary, event_as_dict

# The HTTP status an agent gets for an action, by where the action stands.
STATUS_CODES = {
    ActionStatus.EXECUTED: 200,
    ActionStatus.PARTIALLY_EXECUTED: 200,
    ActionStatus.REJECTED: 200,
    ActionStatus.EXPIRED: 200,
    ActionStatus.FAILED: 502,
    ActionStatus.DENIED: 403,
    ActionStatus.PENDING_APPROVAL: 202,
    ActionStatus.APPROVED: 202,
    ActionStatus.EXECUTING: 202,
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def action_view(
    gateway: Gateway, record: ActionRecord, *, timeline: bool = False
) -> dict[str, Any]:
    decision = record.decision_json or {}
    view: dict[str, Any] = {
        "id": record.id,
        "status": record.status.value,
        "agent": record.agent,
        "action": record.action,
        "kind": record.kind,
        "summary": record.summary,
        "justification": record.justification,
        "details": record.details,
        "effective_details": record.effective_details,
        "decision": decision,
        "review_group": record.review_group,
        "rule": record.determining_rule,
        "reason": (decision.get("reasons") or [None])[0],
        "policy_revision": record.policy_revision,
        "approval": {
            "backend": record.approval_backend,
            "ref": record.approval_ref,
            "min_approvals": record.min_approvals,
            "reviewers": record.reviewers,
            "note": record.decision_note,
            # In words, for the agent: "approved with edits: 4 of 12, as Medium; note: …".
            "decision_summary": decision_summary(record),
            "expires_at": _iso(record.expires_at),
            "decided_at": _iso(record.decided_at),
            # What the approval is bound to; `changed` lists what moved since the last one.
            "snapshot": (record.binding or {}).get("snapshot"),
            "changed_since_approval": (record.binding or {}).get("changed"),
            "payload_hash": (record.binding or {}).get("payload_hash"),
        },
        "result": record.result_json,
        "error": record.error,
        "attempts": record.attempts,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "links": {"self": f"/v1/actions/{record.id}"},
    }
    if timeline:
        events = gateway.audit_events(action_id=record.id, limit=500)
        view["timeline"] = [event_as_dict(event) for event in events]
        view["approval"]["votes"] = [
            {
                "reviewer": vote.reviewer,
                "verdict": vote.verdict,
                "modified_details": vote.modified_details,
                "note": vote.note,
                "at": _iso(vote.created_at),
            }
            for vote in gateway.votes(record.id)
        ]
    return view

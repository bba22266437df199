"""Stored approvals as the Cheqpoint protocol shows them (`GET /api/approvals/{id}`).

Used by the inbox's Cheqpoint-compatible API and by the decision callbacks it sends, so the
polled answer and the pushed one are the same document, field for field.
"""

from __future__ import annotations

from typing import Any

from jiragate.store import ActionRecord, ActionStatus

PROTOCOL_STATUS = {
    ActionStatus.PENDING_APPROVAL: "PENDING",
    ActionStatus.APPROVED: "APPROVED",
    ActionStatus.REJECTED: "REJECTED",
    ActionStatus.EXPIRED: "REJECTED",
    ActionStatus.DENIED: "REJECTED",
}


def protocol_status(record: ActionRecord) -> dict[str, Any]:
    decision = record.decision_json or {}
    auto = record.status is ActionStatus.DENIED or (
        record.status is ActionStatus.APPROVED and not record.reviewers
    )
    modified = None
    if record.effective_details is not None and record.effective_details != record.details:
        # The full effective payload: right whether a client reads it as a patch over
        # `details` (Cheqpoint's docs) or as a replacement (the SDK's effective_details).
        modified = record.effective_details
    note = record.decision_note
    if record.status is ActionStatus.DENIED:
        note = (decision.get("reasons") or [None])[0]
    reason_code = {
        ActionStatus.EXPIRED: "EXPIRED",
        ActionStatus.DENIED: "POLICY_DENIED",
    }.get(record.status)
    return {
        "id": record.id,
        "status": PROTOCOL_STATUS.get(record.status, "APPROVED"),
        "details": record.details,
        "modifiedDetails": modified,
        "responseNotes": note,
        "decisionReasonCode": reason_code,
        "decisionNote": note,
        "autoDecided": auto,
        "autoDecisionRuleName": decision.get("determining_rule") if auto else None,
        "decidedAt": record.decided_at.isoformat() if record.decided_at else None,
        "retryable": record.status is ActionStatus.EXPIRED,
    }


def callback_url(record: ActionRecord) -> str | None:
    url = ((record.decision_json or {}).get("cheqpoint") or {}).get("callbackUrl")
    return url if isinstance(url, str) and url else None

"""What an agent is told about a reviewer's decision, in one sentence, for every edge.

An agent that asked for 12 High tickets and got 4 Medium ones must not believe it got what it
asked for: the HTTP view (`approval.decision_summary`) and the MCP tool results both say
"approved with edits: 4 of 12, as Medium; note: …" from this one function.
"""

from __future__ import annotations

from jiragate.catalog import describe_edit
from jiragate.store import ActionRecord, ActionStatus

_APPROVED = {
    ActionStatus.APPROVED,
    ActionStatus.EXECUTING,
    ActionStatus.EXECUTED,
    ActionStatus.PARTIALLY_EXECUTED,
    ActionStatus.FAILED,
}


def edit_summary(record: ActionRecord) -> str:
    """The reviewer's edit in words ("4 of 12, as Medium"); empty when there was none."""
    if record.effective_details is None:
        return ""
    return describe_edit(record.action, record.details, record.effective_details)


def decision_summary(record: ActionRecord) -> str | None:
    """ "approved with edits: 4 of 12, as Medium; note: …", "approved as proposed", "rejected;
    note: …", or None while no reviewer has decided (or none was asked)."""
    if record.approval_backend is None or (not record.reviewers and record.decided_at is None):
        return None  # allowed or denied by policy, or nobody has decided yet
    note = f"; note: {record.decision_note}" if record.decision_note else ""
    if record.status is ActionStatus.REJECTED:
        return f"rejected{note}"
    if record.status not in _APPROVED:
        return None
    edits = edit_summary(record)
    return f"approved with edits: {edits}{note}" if edits else f"approved as proposed{note}"

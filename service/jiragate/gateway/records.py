"""What the boundary speaks: the record types and protocol views the edges read.

The edges (api, web, mcp, commands) import these from the gateway, never from the store,
the Jira adapter or the approval backends, so which layer defines them stays the gateway's
business (import-linter checks it: `[tool.importlinter]` in pyproject.toml).
"""

from __future__ import annotations

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, verify_webhook_signature
from jiragate.approvals.compat import PROTOCOL_STATUS, protocol_status
from jiragate.approvals.inbox import VoteOutcome
from jiragate.gateway.answers import decision_summary, edit_summary
from jiragate.jira.owners import Kind as OwnedKind
from jiragate.jira.owners import Located
from jiragate.jira.shapes import numbered_summary
from jiragate.store import (
    EXECUTOR_EXTERNAL,
    ActionPage,
    ActionRecord,
    ActionStatus,
    ApprovalVote,
    AuditEvent,
    AuditNote,
    Verdict,
    VerifyReport,
)
from jiragate.store.audit import event_as_dict
from jiragate.store.inbox_auth import InboxAuthStore, SessionLimits, Throttled, ThrottleRule

__all__ = [
    "EXECUTOR_EXTERNAL",
    "PROTOCOL_STATUS",
    "SIGNATURE_HEADER",
    "ActionPage",
    "ActionRecord",
    "ActionStatus",
    "ApprovalVote",
    "AuditEvent",
    "AuditNote",
    "InboxAuthStore",
    "Located",
    "OwnedKind",
    "SessionLimits",
    "ThrottleRule",
    "Throttled",
    "Verdict",
    "VerifyReport",
    "VoteOutcome",
    "decision_summary",
    "edit_summary",
    "event_as_dict",
    "numbered_summary",
    "protocol_status",
    "verify_webhook_signature",
]

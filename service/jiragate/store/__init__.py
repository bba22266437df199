"""Persistence: tables, engines and migrations, the repository, and the audit trail."""

from __future__ import annotations

from jiragate.store.audit import Anchor, AuditNote, VerifyReport, export_jsonl, redact, verify
from jiragate.store.db import (
    DEFAULT_URL,
    ActionPage,
    CreatedAction,
    FinishedRun,
    Store,
    compare_and_set_status,
    init_db,
    make_engine,
    request_hash,
    session_factory,
    transaction,
)
from jiragate.store.models import (
    EXECUTOR_EXTERNAL,
    EXECUTOR_JIRAGATE,
    ActionRecord,
    ActionStatus,
    ApprovalVote,
    AuditEvent,
    Execution,
    PolicyState,
    Verdict,
)

__all__ = [
    "DEFAULT_URL",
    "EXECUTOR_EXTERNAL",
    "EXECUTOR_JIRAGATE",
    "ActionPage",
    "ActionRecord",
    "ActionStatus",
    "Anchor",
    "ApprovalVote",
    "AuditEvent",
    "AuditNote",
    "CreatedAction",
    "Execution",
    "FinishedRun",
    "PolicyState",
    "Store",
    "Verdict",
    "VerifyReport",
    "compare_and_set_status",
    "export_jsonl",
    "init_db",
    "make_engine",
    "redact",
    "request_hash",
    "session_factory",
    "transaction",
    "verify",
]

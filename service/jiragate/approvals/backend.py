"""The approval backend protocol: what the gateway needs from wherever approvals are decided.

Two implementations: the built-in inbox (`approvals.inbox.InboxBackend`, our database) and
Cheqpoint (`approvals.cheqpoint_backend.CheqpointApprovals`, HTTP). The gateway picks one at
build time (`approval_backend` in the settings) and never branches on its name again.

The protocol sees records and plain terms, never policy objects: `approvals/` does not import
`policy/` (import-linter), so the gateway works out the terms (group, expiry, quorum, risk)
from the revision that decided, and hands a backend the callbacks it needs (the edit check,
the decision metrics) when building it.

A later notifier (Slack, Teams, email) hooks in beside this, on `opened` and the decisions:
it is not a backend (it decides nothing) and needs no branch in the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from jiragate.store import ActionRecord, ActionStatus


@dataclass(frozen=True, slots=True)
class ApprovalTerms:
    """How an approval is asked for: computed by the gateway from the deciding revision."""

    group: str
    expires_at: datetime
    min_approvals: int = 1
    #: Cheqpoint: prepended to the action name so Cheqpoint's rules can route it.
    action_prefix: str = ""
    #: Cheqpoint: a 0..1 score for its routing and auto-decision rules (None: not known).
    risk_score: float | None = None


#: The gateway's check of a reviewer's edit: the effective payload, or DecisionRefusedError.
EditCheck = Callable[[ActionRecord, Mapping[str, Any]], dict[str, Any]]
#: Called once per decided approval (metrics): the record as it was, and its new status.
DecisionObserver = Callable[[ActionRecord, ActionStatus], None]


@runtime_checkable
class ApprovalBackend(Protocol):
    """Where a `pending_approval` action is decided."""

    #: Stored in `ActionRecord.approval_backend` for the approvals it opens.
    name: str
    #: True when decisions must be fetched (`refresh`) rather than arrive in our database.
    polls: bool

    async def request(self, record: ActionRecord, terms: ApprovalTerms) -> ActionRecord:
        """Open an approval for a `pending_approval` action; the record afterwards. A backend
        that is down keeps the action pending (fail closed) and retries in `housekeeping`."""
        ...

    async def refresh(self, record: ActionRecord) -> ActionRecord:
        """Bring one pending action up to date with the backend (fetch and apply its
        decision); the record afterwards (unchanged when nothing is known yet)."""
        ...

    async def find(self, approval_ref: str) -> ActionRecord | None:
        """The action waiting on the backend's approval `approval_ref` (a webhook names it)."""
        ...

    async def housekeeping(self) -> int:
        """One background round (retry failed requests, poll pending ones): how many synced."""
        ...

    async def aclose(self) -> None:
        """Close the backend's connections."""
        ...

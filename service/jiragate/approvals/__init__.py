"""Approval back-ends: the built-in inbox (our database) and Cheqpoint (HTTP).

`jiragate.approvals.cheqpoint` needs only httpx; `jiragate.approvals.inbox` needs the store.
"""

from __future__ import annotations

from jiragate.approvals.cheqpoint import (
    CheqpointClient,
    CheqpointDecision,
    CheqpointStatus,
    InboundResult,
    sign_webhook,
    verify_webhook_signature,
)
from jiragate.approvals.inbox import InboxBackend, VoteOutcome, shallow_patch

__all__ = [
    "CheqpointClient",
    "CheqpointDecision",
    "CheqpointStatus",
    "InboundResult",
    "InboxBackend",
    "VoteOutcome",
    "shallow_patch",
    "sign_webhook",
    "verify_webhook_signature",
]

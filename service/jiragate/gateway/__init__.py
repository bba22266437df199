"""The gateway: the one place where policy, approvals, Jira and the store meet.

`Gateway` (gateway/core.py) is the boundary every edge (api, web, mcp, the commands) calls:
use cases, not collaborators. `PolicyHolder` (gateway/policies.py) keeps a process on the
active policy revision.
"""

from __future__ import annotations

from jiragate.gateway.core import CHEQPOINT, Gateway, Submission, WorkerStats, risk_score
from jiragate.gateway.policies import PolicyHolder, PolicyStatus

__all__ = [
    "CHEQPOINT",
    "Gateway",
    "PolicyHolder",
    "PolicyStatus",
    "Submission",
    "WorkerStats",
    "risk_score",
]

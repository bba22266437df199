"""The gateway: the one place where policy, approvals, Jira and the store meet.

`Gateway` (gateway/core.py) is the boundary every edge (api, web, mcp, the commands) calls:
use cases, not collaborators; it is assembled from one mixin per use case (queries.py,
submission.py, review.py, worker.py, ...) over the collaborators state.py declares.
`PolicyHolder` (gateway/policies.py) keeps a process on the active policy revision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.lazy import exports

if TYPE_CHECKING:
    from jiragate.gateway.core import CHEQPOINT, Gateway
    from jiragate.gateway.policies import PolicyHolder, PolicyStatus
    from jiragate.gateway.submission import Submission, risk_score
    from jiragate.gateway.worker import WorkerStats

# Imported on first use (PEP 562), so a command that needs one light module of the gateway
# (`jiragate audit` reads through gateway.audit) does not load the whole service: the
# approval backends, Slack, the Jira adapter. Saves ~1.5 s of every such command's start.
_EXPORTS = {
    "CHEQPOINT": "jiragate.gateway.core",
    "Gateway": "jiragate.gateway.core",
    "Submission": "jiragate.gateway.submission",
    "WorkerStats": "jiragate.gateway.worker",
    "risk_score": "jiragate.gateway.submission",
    "PolicyHolder": "jiragate.gateway.policies",
    "PolicyStatus": "jiragate.gateway.policies",
}


__getattr__ = exports(__name__, _EXPORTS)


__all__ = [
    "CHEQPOINT",
    "Gateway",
    "PolicyHolder",
    "PolicyStatus",
    "Submission",
    "WorkerStats",
    "risk_score",
]

"""The gateway: the one place where policy, approvals, Jira and the store meet.

`Gateway` (gateway/core.py) is the boundary every edge (api, web, mcp, the commands) calls:
use cases, not collaborators. `PolicyHolder` (gateway/policies.py) keeps a process on the
active policy revision.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jiragate.gateway.core import CHEQPOINT, Gateway, Submission, WorkerStats, risk_score
    from jiragate.gateway.policies import PolicyHolder, PolicyStatus

# Imported on first use (PEP 562), so a command that needs one light module of the gateway
# (`jiragate audit` reads through gateway.audit) does not load the whole service: the
# approval backends, Slack, the Jira adapter. Saves ~1.5 s of every such command's start.
_EXPORTS = {
    "CHEQPOINT": "jiragate.gateway.core",
    "Gateway": "jiragate.gateway.core",
    "Submission": "jiragate.gateway.core",
    "WorkerStats": "jiragate.gateway.core",
    "risk_score": "jiragate.gateway.core",
    "PolicyHolder": "jiragate.gateway.policies",
    "PolicyStatus": "jiragate.gateway.policies",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


__all__ = [
    "CHEQPOINT",
    "Gateway",
    "PolicyHolder",
    "PolicyStatus",
    "Submission",
    "WorkerStats",
    "risk_score",
]

"""Jiragate: a policy gate between AI assistants and Jira.

The public Python API, for users' own tests and tools:

>>> import jiragate
>>> policies = jiragate.load_policies("policies")
>>> decision = policies.evaluate(
...     {"action": "jira_get_issue", "summary": "Read ENG-1", "details": {"issueKey": "ENG-1"}},
...     agent="ide-assistant",
... )
>>> decision.decision.value, decision.determining_rule
('allow', 'allow-safe-reads')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.lazy import exports

if TYPE_CHECKING:
    from jiragate.catalog import ACTION_NAMES, ActionKind, ActionRequest, parse_envelope
    from jiragate.errors import (
        ActionError,
        InvalidDetailsError,
        JiragateError,
        PolicyLoadError,
        UnknownActionError,
    )
    from jiragate.policy.engine import Decision, PolicySet, load_policies
    from jiragate.policy.model import Effect

# Loaded on first use (PEP 562): every `jiragate` command imports this package, and most
# (audit, hash-password, --version) never touch the catalog's schemas or the engine, half a
# second of imports.
_EXPORTS = {
    "ACTION_NAMES": "jiragate.catalog",
    "ActionKind": "jiragate.catalog",
    "ActionRequest": "jiragate.catalog",
    "parse_envelope": "jiragate.catalog",
    "ActionError": "jiragate.errors",
    "InvalidDetailsError": "jiragate.errors",
    "JiragateError": "jiragate.errors",
    "PolicyLoadError": "jiragate.errors",
    "UnknownActionError": "jiragate.errors",
    "Decision": "jiragate.policy.engine",
    "PolicySet": "jiragate.policy.engine",
    "load_policies": "jiragate.policy.engine",
    "Effect": "jiragate.policy.model",
}


__getattr__ = exports(__name__, _EXPORTS)


__all__ = [
    "ACTION_NAMES",
    "ActionError",
    "ActionKind",
    "ActionRequest",
    "Decision",
    "Effect",
    "InvalidDetailsError",
    "JiragateError",
    "PolicyLoadError",
    "PolicySet",
    "UnknownActionError",
    "load_policies",
    "parse_envelope",
]

__version__ = "0.2.0"

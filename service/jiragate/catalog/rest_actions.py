"""The generic actions of the Jira REST proxy (docs/proxy.md): a request to an endpoint no
catalog action covers. The method decides the kind (GET/HEAD read, anything else write),
never the agent; the template and project come from the path (`catalog.rest`), checked
again whenever the details are validated, so a policy naming a template or a project sees
what Jira will be asked. A write falls to the defaults (fail closed) unless a rule names it.
"""

from __future__ import annotations

from jiragate.catalog.rest import rest_violations
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, register


def _count(details: Details) -> int:
    # One issue when the path names one (…/issue/ENG-1/…), else none the proxy can count.
    return 1 if "{issueIdOrKey}" in str(details.get("template", "")) else 0


REST_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "jira_rest_read",
        ActionKind.READ,
        idempotent=True,
        count=_count,
        invariants=(rest_violations,),
    ),
    # A reviewer approves or rejects a generic write as sent: no field is editable.
    ActionSpec(
        "jira_rest_write",
        ActionKind.WRITE,
        idempotent=False,
        count=_count,
        invariants=(rest_violations,),
    ),
)


def register_rest_actions() -> None:
    for spec in REST_ACTIONS:
        register(spec)

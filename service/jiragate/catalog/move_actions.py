"""Moving an issue to another project (issue 12; mcp-atlassian's `jira_move_issue`).

The one action that writes to two projects. Its `project` fact is the SOURCE project, the
project of `issueKey` (the handler reads the issue and refuses one Jira places elsewhere: an
old key answers for a moved issue, jira/handlers/scope.py); `details.targetProjectKey` is the
project it lands in. `other_projects` names the target, so the policy engine decides the move
once for each project and keeps the strictest decision: a rule that keeps an agent out of a
project (`project: OPS` -> deny) stops a move into it as it stops a move out of it.

Kind and hints: a WRITE (policies/workflow.yaml routes every move to project managers, and an
unmatched write gets the defaults), announced to MCP clients as destructive (`side_effects`):
Jira gives the issue a new key, and drops the field values, status and sprint the target does
not have, which no single call undoes. mcp-atlassian marks its tool `destructiveHint` too.

Edit rules: none. Every field is fixed: a reviewer who approved a move into X cannot turn it
into a move into Y, nor into another issue type (approvals.md: a field without a rule is fixed).
"""

from __future__ import annotations

from collections.abc import Iterator

from jiragate.catalog.actions import counts
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, SideEffects, register
from jiragate.errors import DetailsViolation


def source_project(details: Details) -> str:
    """The project of `issueKey` (its prefix; the handler checks Jira agrees)."""
    return str(details["issueKey"]).rsplit("-", 1)[0]


def _target(details: Details) -> tuple[str, ...]:
    return (str(details["targetProjectKey"]),)


def _another_project(details: Details) -> Iterator[DetailsViolation]:
    # The schema holds keys to upper case, so `eng` cannot pose as another project than ENG.
    source = source_project(details)
    if details.get("targetProjectKey") == source:
        yield DetailsViolation(
            "/targetProjectKey",
            "another-project",
            f"targetProjectKey is {source}, the project {details['issueKey']} is in; a move "
            "goes to another project (change the issue type with jira_update_fields)",
        )


MOVE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "jira_move_issue",
        ActionKind.WRITE,
        # Moving an issue that is already in the target again is not a second move: the
        # handler finds it there (by its old key) and reports the first move's key.
        idempotent=True,
        count=counts(1),
        invariants=(_another_project,),
        side_effects=SideEffects.DESTRUCTIVE,
        other_projects=_target,
    ),
)


def register_move_actions() -> None:
    for spec in MOVE_ACTIONS:
        register(spec)

"""The built-in actions: one `ActionSpec` each, registered in the order users see them.

Adding an action: its spec here (kind, count, edit rules, preview, invariants), its schema
in `schemas/actions/<name>.json`, its Jira handler in `jiragate/jira/handlers/` and their
tests (docs/architecture.md, "Adding an action"). Nothing else names actions one by one.

Edit rules: identity (project, issue, epic, version, board), targets (sprint, status,
assignee, issue type, dates) and queries (JQL) are fixed: a reviewer who wants another target
rejects with a note, and the agent proposes that action for policy to decide. Label *lists
that replace* an issue's labels (update_fields' fields.labels, update_epic's labels) are
fixed too: dropping a label from them would remove it in Jira.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jiragate.catalog.priorities import PriorityOrder
from jiragate.catalog.rules import (
    MISSING,
    EditRule,
    ItemRules,
    NestedRules,
    same,
)
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, register
from jiragate.errors import DetailsViolation

READ, WRITE, DESTRUCTIVE = ActionKind.READ, ActionKind.WRITE, ActionKind.DESTRUCTIVE
_FIXED, _TEXT, _SUBSET = EditRule.FIXED, EditRule.TEXT, EditRule.SUBSET
_LOWER = EditRule.LOWER_PRIORITY
_ISSUE_TEXTS = {"summary": _TEXT, "description": _TEXT, "priority": _LOWER}

# --------------------------------------------------------------------------- counts


def counts(value: int) -> Callable[[Details], int]:
    """The count of an action that always touches `value` issues (0: none, e.g. a version)."""
    return lambda details: value


def counts_items(name: str) -> Callable[[Details], int]:
    """The count is the length of the list `name` (issue keys, updates)."""
    return lambda details: len(details[name])


def _epic_count(details: Details) -> int:
    children = details.get("childIssueKeys") or details.get("addChildIssueKeys") or ()
    return 1 + len(children)


# --------------------------------------------------------------------------- bulk creation


def _count_matches_tickets(details: Details) -> Iterator[DetailsViolation]:
    tickets = details.get("tickets")
    if tickets is not None and len(tickets) != details["issueCount"]:
        yield DetailsViolation(
            "/issueCount",
            "count-matches-tickets",
            f"issueCount is {details['issueCount']} but {len(tickets)} tickets are given",
        )


def _narrow_tickets(
    details: Details, patch: Details, effective: dict[str, Any], priorities: PriorityOrder
) -> dict[str, Any]:
    """Lowering `issueCount` keeps the first tickets; a priority the reviewer sets is a
    ceiling for every ticket in the site's order (tickets at or above it are lowered to it),
    and labels the reviewer sets are the most any ticket keeps."""
    tickets = effective.get("tickets")
    if not isinstance(tickets, list):
        return effective
    kept = [dict(ticket) if isinstance(ticket, Mapping) else ticket for ticket in tickets]
    count = effective.get("issueCount")
    # A patch carrying the proposed tickets unchanged (a whole payload sent back) is no edit.
    edited = "tickets" in patch and not same(patch["tickets"], details.get("tickets"))
    if not edited and type(count) is int and 0 < count < len(kept):
        kept = kept[:count]
    if "priority" in patch:
        _cap_priorities(kept, patch["priority"], priorities)
    if "labels" in patch:
        _cap_labels(kept, patch["labels"])
    effective["tickets"] = kept
    return effective


def _cap_priorities(tickets: list[Any], ceiling: object, order: PriorityOrder) -> None:
    cap = order.level(ceiling)
    if cap is None:
        return  # not one of the site's priorities: the edit rule that follows names it
    for ticket in tickets:
        if isinstance(ticket, dict) and "priority" in ticket:
            # A ticket priority not in the order ("Blocker") counts as above every one: it
            # is capped too, never kept as "lower" than the reviewer's ceiling.
            own = order.level(ticket["priority"])
            if own is None or own >= cap:
                del ticket["priority"]  # it inherits the (lower) bulk priority


def _cap_labels(tickets: list[Any], allowed: object) -> None:
    if not isinstance(allowed, list):
        return
    for ticket in tickets:
        if isinstance(ticket, dict) and isinstance(ticket.get("labels"), list):
            kept = [label for label in ticket["labels"] if label in allowed]
            if sorted(map(str, kept)) == sorted(map(str, allowed)):
                del ticket["labels"]  # the same as the bulk labels: inherit them
            else:
                ticket["labels"] = kept


# A reviewer picks which proposed tickets to create (a subsequence: none added, none
# reordered), may reword a ticket's summary and lower its priority; nothing else changes.
_TICKET = ItemRules(
    {
        "summary": _TEXT,
        "description": _FIXED,
        "issueType": _FIXED,
        "priority": _LOWER,
        "labels": _SUBSET,
    },
    inherited=("issueType", "priority", "labels"),
)

# --------------------------------------------------------------------------- field updates


def _replaced_label_list(original: Details, effective: Details) -> list[DetailsViolation]:
    """update_fields with `fields.labels` sets the whole list Jira ends with (labels, plus
    addLabels, minus removeLabels): then dropping a label to add would remove it from
    issues that have it, and dropping one to remove would add it. Both lists are fixed."""
    fields = effective.get("fields")
    if not isinstance(fields, Mapping) or "labels" not in fields:
        return []
    return [
        DetailsViolation(
            f"/{key}",
            EditRule.FIXED.value,
            "may not be changed while fields.labels replaces the issues' labels",
        )
        for key in ("addLabels", "removeLabels")
        if not same(original.get(key, MISSING), effective.get(key, MISSING))
    ]


def _parent_in_project(details: Details) -> Iterator[DetailsViolation]:
    """A field edit's `fields.parent` stays in the issues' project, like every issue key."""
    parent = (details.get("fields") or {}).get("parent")
    keys = details.get("issueKeys") or ()
    if isinstance(parent, str) and keys and parent.rsplit("-", 1)[0] != keys[0].rsplit("-", 1)[0]:
        yield DetailsViolation(
            "/fields/parent",
            "single-project",
            f"{parent} is in project {parent.rsplit('-', 1)[0]}, but this action is about "
            f"{keys[0].rsplit('-', 1)[0]} (one action stays inside one project; split it)",
        )


# --------------------------------------------------------------------------- the specs

BUILTIN_ACTIONS: tuple[ActionSpec, ...] = (
    # reads
    ActionSpec(
        "jira_get_issue", READ, idempotent=True, count=counts(1), edit_rules={"fields": _SUBSET}
    ),
    ActionSpec(
        "jira_search",
        READ,
        idempotent=True,
        count=lambda details: int(details.get("maxResults", 50)),
        edit_rules={"fields": _SUBSET, "maxResults": EditRule.NARROW_COUNT},
    ),
    ActionSpec("jira_get_transitions", READ, idempotent=True, count=counts(1)),
    ActionSpec("jira_list_sprints", READ, idempotent=True, count=counts(0)),
    # issues
    ActionSpec(
        "jira_create_ticket",
        WRITE,
        idempotent=False,
        count=counts(1),
        edit_rules={**_ISSUE_TEXTS, "labels": _SUBSET, "storyPoints": EditRule.MAX},
    ),
    ActionSpec(
        "jira_create_tickets",
        WRITE,
        idempotent=False,
        count=lambda details: int(details["issueCount"]),
        edit_rules={
            "issueCount": EditRule.NARROW_COUNT,
            "priority": _LOWER,
            "labels": _SUBSET,
            "tickets": _TICKET,
        },
        preview="tickets",
        invariants=(_count_matches_tickets,),
        patch_hook=_narrow_tickets,
    ),
    # transitions and sprints
    ActionSpec(
        "jira_transition_issues",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET, "comment": _TEXT},
        preview="transition",
    ),
    ActionSpec(
        "jira_move_to_sprint",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
        preview="sprint",
    ),
    # issue fields
    ActionSpec(
        "jira_update_story_points",
        WRITE,
        idempotent=True,
        count=counts_items("updates"),
        edit_rules={"updates": ItemRules({"issueKey": _FIXED, "storyPoints": EditRule.MAX})},
        preview="points",
    ),
    ActionSpec(
        "jira_update_fields",
        WRITE,
        idempotent=False,
        count=counts_items("issueKeys"),
        edit_rules={
            "issueKeys": _SUBSET,
            "fields": NestedRules({**_ISSUE_TEXTS, "labels": _FIXED, "duedate": _FIXED}),
            "addLabels": _SUBSET,
            "removeLabels": _SUBSET,
        },
        cross_field_check=_replaced_label_list,
        invariants=(_parent_in_project,),
    ),
    ActionSpec(
        "jira_assign_issues",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
        preview="assign",
    ),
    # comments
    ActionSpec(
        "jira_add_comment", WRITE, idempotent=False, count=counts(1), edit_rules={"body": _TEXT}
    ),
    # epics
    ActionSpec(
        "jira_create_epic",
        WRITE,
        idempotent=False,
        count=_epic_count,
        edit_rules={**_ISSUE_TEXTS, "labels": _SUBSET, "childIssueKeys": _SUBSET},
    ),
    ActionSpec(
        "jira_update_epic",
        WRITE,
        idempotent=True,
        count=_epic_count,
        edit_rules={**_ISSUE_TEXTS, "addChildIssueKeys": _SUBSET},
    ),
    # versions
    ActionSpec(
        "jira_create_release",
        WRITE,
        idempotent=False,
        count=counts(0),
        edit_rules={"name": _TEXT, "description": _TEXT},
    ),
    ActionSpec(
        "jira_update_release",
        WRITE,
        idempotent=True,
        count=counts(0),
        edit_rules={"name": _TEXT, "description": _TEXT},
    ),
    ActionSpec("jira_release_version", WRITE, idempotent=True, count=counts(0)),
    # destructive
    ActionSpec(
        "jira_delete_issues",
        DESTRUCTIVE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET, "deleteSubtasks": EditRule.FALSE_ONLY},
        preview="remove",
        preview_heading="Issues that would be deleted",
    ),
    ActionSpec(
        "jira_archive_issues",
        DESTRUCTIVE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
        preview="remove",
        preview_heading="Issues that would be archived",
    ),
)


def register_builtin_actions() -> None:
    for spec in BUILTIN_ACTIONS:
        register(spec)

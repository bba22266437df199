"""The agile and project-administration writes: sprints, the backlog and ranking, releases
(batch create, archive, merge, delete) and components. One `ActionSpec` each, registered
after the built-ins (`catalog/actions.py`), in the order users see them.

Every one of them carries the project policies see: `projectKey`, or the project of its
`issueKeys`. The ids it names (a sprint, board, version or component) are checked against that
project by the Jira handler before anything is written (jira/handlers/agile.py and
jira/handlers/project_admin.py), since only Jira knows which project an id belongs to.

Edit rules: a reviewer may reword texts (a sprint's name and goal, a version's or component's
description, a component's name) and drop issues (from a backlog move or a rank) or versions
(from a batch create). Targets and dates are fixed: another sprint, date, version or
component is another action, for policy to decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from jiragate.catalog.actions import DESTRUCTIVE, WRITE, counts, counts_items
from jiragate.catalog.rules import EditRule, ItemRules
from jiragate.catalog.spec import ActionSpec, Details, Invariant, register
from jiragate.errors import DetailsViolation

_FIXED, _TEXT, _SUBSET = EditRule.FIXED, EditRule.TEXT, EditRule.SUBSET

# --------------------------------------------------------------------------- invariants


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _dates_in_order(details: Details) -> Iterator[DetailsViolation]:
    """A sprint's dates must be real date-times (the pattern lets 2026-13-40 through), and
    it must end after it starts."""
    moments = {}
    for name in ("startDate", "endDate"):
        if name in details:
            moments[name] = _moment(details[name])
            if moments[name] is None:
                yield DetailsViolation(
                    f"/{name}", "date-time", f"{details[name]!r} is not a real date and time"
                )
    start, end = moments.get("startDate"), moments.get("endDate")
    if start is not None and end is not None and end <= start:
        # Both fields: either one may be the wrong one.
        order = f"the sprint must end after it starts (start {start}, end {end})"
        yield DetailsViolation("/startDate", "end-after-start", order)
        yield DetailsViolation("/endDate", "end-after-start", order)


_SIDE = {"rankBeforeIssue": "before", "rankAfterIssue": "after"}


def _one_anchor(details: Details) -> Iterator[DetailsViolation]:
    """Exactly one of rankBeforeIssue and rankAfterIssue (an invariant, not a schema oneOf,
    so that the error names the fields)."""
    given = [name for name in _SIDE if name in details]
    if len(given) == 1:
        return
    why = "give exactly one of rankBeforeIssue and rankAfterIssue"
    for name in given or ["rankBeforeIssue"]:
        yield DetailsViolation(f"/{name}", "one-anchor", why)


def _anchor_not_ranked(details: Details) -> Iterator[DetailsViolation]:
    yield from _one_anchor(details)
    keys = list(details.get("issueKeys") or ())
    for name in ("rankBeforeIssue", "rankAfterIssue"):
        if details.get(name) in keys:
            why = (
                f"{details[name]} is both the issue to rank {_SIDE[name]} "
                "and one of the issues being ranked; rank them relative to another issue"
            )
            yield DetailsViolation(f"/{name}", "not-ranked", why)
            yield DetailsViolation(f"/issueKeys/{keys.index(details[name])}", "not-ranked", why)


def _unique_version_names(details: Details) -> Iterator[DetailsViolation]:
    seen: dict[str, int] = {}
    for index, version in enumerate(details.get("versions") or ()):
        folded = str(version.get("name", "")).strip().casefold()
        if folded in seen:
            yield DetailsViolation(
                f"/versions/{index}/name",
                "unique-names",
                f"{version['name']!r} is also version {seen[folded]}; version names are unique "
                "in a project",
            )
        seen.setdefault(folded, index)


def _differs_from(own: str, *others: str) -> Invariant:
    """Each of `others`, when given, names another id than `own` (moving a version's
    issues to itself, or merging it into itself, is no operation Jira accepts)."""

    def check(details: Details) -> Iterator[DetailsViolation]:
        for name in others:
            if name in details and own in details and str(details[name]) == str(details[own]):
                why = f"{name} and {own} name the same id ({details[own]}); name another"
                yield DetailsViolation(f"/{name}", "another-id", why)
                yield DetailsViolation(f"/{own}", "another-id", why)

    return check


# --------------------------------------------------------------------------- the specs

_VERSION_ITEM = ItemRules(
    {"name": _FIXED, "description": _TEXT, "startDate": _FIXED, "releaseDate": _FIXED}
)

AGILE_ACTIONS: tuple[ActionSpec, ...] = (
    # sprints
    ActionSpec(
        "jira_create_sprint",
        WRITE,
        idempotent=False,
        count=counts(0),
        edit_rules={"name": _TEXT, "goal": _TEXT},
        invariants=(_dates_in_order,),
    ),
    ActionSpec(
        "jira_update_sprint",
        WRITE,
        idempotent=True,
        count=counts(0),
        edit_rules={"name": _TEXT, "goal": _TEXT},
        invariants=(_dates_in_order,),
    ),
    ActionSpec(
        "jira_start_sprint",
        WRITE,
        idempotent=True,
        count=counts(0),
        edit_rules={"goal": _TEXT},
        invariants=(_dates_in_order,),
    ),
    ActionSpec(
        "jira_close_sprint",
        WRITE,
        idempotent=True,
        count=counts(0),
        invariants=(_differs_from("sprintId", "moveIncompleteTo"),),
    ),
    ActionSpec("jira_delete_sprint", DESTRUCTIVE, idempotent=True, count=counts(0)),
    ActionSpec(
        "jira_move_to_backlog",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
    ),
    ActionSpec(
        "jira_rank_issues",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
        invariants=(_anchor_not_ranked,),
    ),
    # releases
    ActionSpec(
        "jira_create_releases",
        WRITE,
        idempotent=False,
        count=counts_items("versions"),
        edit_rules={"versions": _VERSION_ITEM},
        invariants=(_unique_version_names,),
    ),
    ActionSpec("jira_archive_version", WRITE, idempotent=True, count=counts(0)),
    # Merging deletes the merged version: as final as deleting it.
    ActionSpec(
        "jira_merge_versions",
        DESTRUCTIVE,
        idempotent=False,
        count=counts(0),
        invariants=(_differs_from("versionId", "targetVersionId"),),
    ),
    ActionSpec(
        "jira_delete_version",
        DESTRUCTIVE,
        idempotent=True,
        count=counts(0),
        invariants=(_differs_from("versionId", "moveFixIssuesTo", "moveAffectedIssuesTo"),),
    ),
    # components
    ActionSpec(
        "jira_create_component",
        WRITE,
        idempotent=False,
        count=counts(0),
        edit_rules={"name": _TEXT, "description": _TEXT},
    ),
    ActionSpec(
        "jira_update_component",
        WRITE,
        idempotent=True,
        count=counts(0),
        edit_rules={"name": _TEXT, "description": _TEXT},
    ),
    ActionSpec(
        "jira_delete_component",
        DESTRUCTIVE,
        idempotent=True,
        count=counts(0),
        invariants=(_differs_from("componentId", "moveIssuesTo"),),
    ),
)


def register_agile_actions() -> None:
    for spec in AGILE_ACTIONS:
        register(spec)

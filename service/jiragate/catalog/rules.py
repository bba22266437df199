"""Reviewer edit rules: how one field of an action's details may change, and the checks.

A reviewer approves what the agent proposed, or less of it. Each action declares, per field,
one of these rules (`ActionSpec.edit_rules`, shown as a table in docs/approvals.md); every
field not listed is fixed. `field_violations` compares one proposed value with its edited
value under its rule; `jiragate.catalog.edits` applies it to whole payloads.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder
from jiragate.errors import DetailsViolation


class EditRule(enum.StrEnum):
    """How a reviewer may change one field of an action's details."""

    #: May not change (the default for every field not listed).
    FIXED = "fixed"
    #: A count (issueCount, maxResults) may only go down.
    NARROW_COUNT = "narrow_count"
    #: A number (story points) may not go above what was proposed.
    MAX = "max"
    #: A priority may only go down, in the site's order (Highest > High > ... > Lowest on
    #: Jira Cloud's default scheme, P1 > P2 > P3 > P4 on a site that names them so).
    LOWER_PRIORITY = "lower_priority"
    #: A list (issue keys, labels to add or remove) may only lose items.
    SUBSET = "subset"
    #: A text the action writes (summary, description, comment) may be reworded.
    TEXT = "text"
    #: A flag may be turned off, never on (deleteSubtasks).
    FALSE_ONLY = "false_only"


@dataclass(frozen=True, slots=True)
class NestedRules:
    """A nested object (`fields`): each key by its rule (unlisted keys are fixed). A key may
    be left out — that field is then not changed in Jira — but none may be added."""

    rules: Mapping[str, FieldRule]


@dataclass(frozen=True, slots=True)
class ItemRules:
    """A list of objects (`tickets`, `updates`): the edit keeps some of the proposed items, in
    their order, each narrowed by `rules`. An `inherited` field an item does not set has its
    parent's value (a ticket without its own priority has the bulk priority)."""

    rules: Mapping[str, FieldRule]
    inherited: tuple[str, ...] = ()


FieldRule = EditRule | NestedRules | ItemRules


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


MISSING: Any = _Missing()


def same(before: object, after: object) -> bool:
    # Type-exact: True == 1 and 1 == 1.0 in Python, but not as a Jira payload.
    return json.dumps(before, sort_keys=True, default=repr) == json.dumps(
        after, sort_keys=True, default=repr
    )


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _rule_name(rule: FieldRule) -> str:
    if isinstance(rule, NestedRules):
        return "nested"
    if isinstance(rule, ItemRules):
        return "narrow_items"
    return rule.value


def field_violations(
    pointer: str,
    rule: FieldRule,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
    *,
    droppable: bool,
    priorities: PriorityOrder | None = JIRA_PRIORITIES,
) -> list[DetailsViolation]:
    """Why `after` does more than `before` under `rule` (empty: it only narrows).
    `priorities` is the site's order, highest first, for `lower_priority`; None only for
    showing an edit the gateway already checked (`align_items`): priorities not judged."""
    if same(before, after):
        return []
    if after is MISSING:
        if droppable:
            return []  # left out of a nested object: that field is not changed
        return [DetailsViolation(pointer, _rule_name(rule), "may not be removed")]
    if before is MISSING and rule is EditRule.FALSE_ONLY:
        before = False  # unset means false
    if before is MISSING:
        return [
            DetailsViolation(
                pointer, _rule_name(rule), "was not in the proposed action; an edit cannot add it"
            )
        ]
    if isinstance(rule, NestedRules):
        return _nested_violations(pointer, rule, before, after, priorities)
    if isinstance(rule, ItemRules):
        return _item_violations(pointer, rule, before, after, parents, priorities)
    if rule is EditRule.LOWER_PRIORITY:
        reason = None if priorities is None else _lower_priority(before, after, priorities)
    else:
        reason = _SCALAR_CHECKS[rule](before, after)
    return [] if reason is None else [DetailsViolation(pointer, rule.value, reason)]


def _nested_violations(
    pointer: str, rule: NestedRules, before: Any, after: Any, priorities: PriorityOrder | None
) -> list[DetailsViolation]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [DetailsViolation(pointer, "nested", "must stay an object")]
    violations: list[DetailsViolation] = []
    for key in [*before, *(k for k in after if k not in before)]:
        violations += field_violations(
            f"{pointer}/{key}",
            rule.rules.get(key, EditRule.FIXED),
            before.get(key, MISSING),
            after.get(key, MISSING),
            (before, after),
            droppable=True,
            priorities=priorities,
        )
    return violations


def _item_violations(
    pointer: str,
    rule: ItemRules,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
    priorities: PriorityOrder | None,
) -> list[DetailsViolation]:
    """Each edited item must narrow a proposed item, in order (a subsequence). Matching each
    to the earliest proposed item it narrows finds a match whenever one exists."""
    if not isinstance(before, list) or not isinstance(after, list):
        return [DetailsViolation(pointer, "narrow_items", "must stay a list")]
    position = 0
    for index, item in enumerate(after):
        where = f"{pointer}/{index}"
        tried = [
            _item_field_violations(where, rule, proposed, item, parents, priorities)
            for proposed in before[position:]
        ]
        matched = next((n for n, found in enumerate(tried) if not found), None)
        if matched is None:
            return _closest_miss(where, tried)
        position += matched + 1
    return []


def _closest_miss(where: str, tried: list[list[DetailsViolation]]) -> list[DetailsViolation]:
    """Why an edited item narrows none of the proposed items left: the nearest one's reasons."""
    order = "each item must narrow one of the proposed items, kept in their order"
    if not tried or any(v.pointer == where for v in tried[0]):
        return [DetailsViolation(where, "narrow_items", f"is not a proposed item ({order})")]
    # The nearest proposed item: the one it differs from in the fewest fixed fields, then
    # in the fewest fields at all.
    first, *rest = min(tried, key=lambda found: (sum(v.rule == "fixed" for v in found), len(found)))
    return [DetailsViolation(first.pointer, first.rule, f"{first.message} ({order})"), *rest]


def _item_field_violations(
    pointer: str,
    rule: ItemRules,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
    priorities: PriorityOrder | None,
) -> list[DetailsViolation]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [DetailsViolation(pointer, "narrow_items", "must be an object")]
    violations: list[DetailsViolation] = []
    for key in dict.fromkeys([*rule.rules, *before, *after]):
        inherited = key in rule.inherited
        old = before.get(key, parents[0].get(key, MISSING) if inherited else MISSING)
        new = after.get(key, parents[1].get(key, MISSING) if inherited else MISSING)
        violations += field_violations(
            f"{pointer}/{key}",
            rule.rules.get(key, EditRule.FIXED),
            old,
            new,
            (before, after),
            droppable=False,
            priorities=priorities,
        )
    return violations


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _not_above(before: Any, after: Any, refusal: str) -> str | None:
    """None when `after` is a number no larger than `before`; else why not (`refusal` is
    formatted with both)."""
    if not _is_number(before) or not _is_number(after):
        return "must be a number"
    if after <= before:
        return None
    return refusal.format(before=before, after=after)


def _lowered(before: Any, after: Any) -> str | None:
    return _not_above(
        before, after, "may only be lowered, but the count grew from {before} to {after}"
    )


def _at_most(before: Any, after: Any) -> str | None:
    return _not_above(
        before, after, "may not go above the proposed {before}, but the edit makes it {after}"
    )


def _lower_priority(before: Any, after: Any, order: PriorityOrder) -> str | None:
    """Lower or equal in the site's order. A name outside it cannot be placed, so an edit
    from or to one is refused (fail closed: "Blocker" or "p1" is never "lower")."""
    if before == after:
        return None
    if after not in order:
        return (
            f"must be one of the site's priorities ({', '.join(order.names)}), not "
            f"{after!r} (names are exact)"
        )
    if before not in order:
        return (
            f"the proposed {before!r} is not one of the site's priorities "
            f"({', '.join(order.names)}), so no lower one can be told; reject with a note "
            "instead"
        )
    if order.is_lower_or_same(before, after):
        return None
    return f"may only be lowered ({order.describe()}), but {after} is above the proposed {before}"


def _subset(before: Any, after: Any) -> str | None:
    if not isinstance(before, list) or not isinstance(after, list):
        return "must be a list"
    proposed = {_show(item) for item in before}
    added = [item for item in after if _show(item) not in proposed]
    if not added:
        return None
    return "may only drop items, but the edit adds " + ", ".join(str(item) for item in added)


def _text(before: Any, after: Any) -> str | None:
    return None if isinstance(after, str) else "must be text"


def _false_only(before: Any, after: Any) -> str | None:
    if after is False:
        return None
    return f"may only be turned off, never on (proposed {_show(before)}, edited {_show(after)})"


def _fixed(before: Any, after: Any) -> str:
    return f"may not be changed by a reviewer (proposed {_show(before)}, edited {_show(after)})"


# LOWER_PRIORITY is not here: it needs the site's order (`field_violations`).
_SCALAR_CHECKS: Mapping[EditRule, Callable[[Any, Any], str | None]] = {
    EditRule.FIXED: _fixed,
    EditRule.NARROW_COUNT: _lowered,
    EditRule.MAX: _at_most,
    EditRule.SUBSET: _subset,
    EditRule.TEXT: _text,
    EditRule.FALSE_ONLY: _false_only,
}


def align_items(
    rule: ItemRules,
    before: list[Any],
    after: list[Any],
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
    priorities: PriorityOrder | None = None,
) -> list[int] | None:
    """For each edited item, the index of the proposed item it narrows (None: no alignment).

    For showing an edit, never for checking one (`field_violations` is the check). Without
    `priorities` (the default) ticket priorities are not judged: the edit being shown was
    checked in the site's order when it was made, which the displays need not know.

    The check above only needs *a* matching; showing an edit to people needs the one they
    meant: among the order-keeping matchings, the one that keeps the most items' texts as
    they were (dynamic programming over both lists), so a kept, unreworded ticket is shown
    as itself and not as an earlier, dropped one reworded."""
    texts = [key for key, field_rule in rule.rules.items() if field_rule is EditRule.TEXT]
    rows, cols = len(after), len(before)
    impossible = -1
    # best[i][j]: the most unreworded items aligning after[:i] within before[:j].
    best = [[0 if i == 0 else impossible for _ in range(cols + 1)] for i in range(rows + 1)]
    pick: dict[tuple[int, int], bool] = {}
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            best[i][j], pick[i, j] = best[i][j - 1], False
            if best[i - 1][j - 1] == impossible:
                continue
            old, new = before[j - 1], after[i - 1]
            if _item_field_violations("", rule, old, new, parents, priorities):
                continue
            kept = all(same(old.get(key), new.get(key)) for key in texts)
            score = best[i - 1][j - 1] + (1 if kept else 0)
            if score > best[i][j]:
                best[i][j], pick[i, j] = score, True
    if best[rows][cols] == impossible:
        return None
    matched: list[int] = []
    i, j = rows, cols
    while i > 0:
        if pick.get((i, j)):
            matched.append(j - 1)
            i -= 1
        j -= 1
    return matched[::-1]

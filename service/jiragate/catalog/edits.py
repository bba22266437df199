"""Reviewer edits over whole payloads: the patch, the rules of each field, the one check.

Which fields a reviewer may change, and how, is each action's `ActionSpec.edit_rules` (shown
as a table in docs/approvals.md); every field not listed is fixed. `narrowed_details` is the
one check, used by Gateway.check_edit for API, inbox and Cheqpoint decisions alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jiragate.catalog.details import (
    count_of,
    issue_keys_of,
    pointer_of,
    project_of,
    validate_details,
)
from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder
from jiragate.catalog.rules import (
    MISSING,
    EditRule,
    FieldRule,
    ItemRules,
    align_items,
    field_violations,
    same,
)
from jiragate.catalog.spec import CATALOG, get_spec
from jiragate.errors import DetailsViolation, EditRefusedError, InvalidDetailsError


class _EditRulesView(Mapping[str, Mapping[str, FieldRule]]):
    """action -> field -> rule, read from the specs (every action in the catalog)."""

    def __getitem__(self, name: str) -> Mapping[str, FieldRule]:
        return CATALOG[name].edit_rules

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG)

    def __len__(self) -> int:
        return len(CATALOG)


#: action -> field -> rule, as each action's spec declares it.
EDIT_RULES: Mapping[str, Mapping[str, FieldRule]] = _EditRulesView()


def edit_rules(name: str) -> Mapping[str, FieldRule]:
    """The action's edit rules by top-level field; a field not listed is fixed."""
    return get_spec(name).edit_rules


def rule_of(name: str, field_name: str) -> FieldRule:
    return edit_rules(name).get(field_name, EditRule.FIXED)


def apply_patch(
    name: str,
    details: Mapping[str, Any],
    patch: Mapping[str, Any],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> dict[str, Any]:
    """The effective payload: `details` with the keys of a reviewer's `patch` overridden.
    `priorities` is the site's order, highest first (a bulk priority caps the tickets').

    A patch is a shallow override (Cheqpoint's `modifiedDetails`), not RFC 7396: a `null`
    value sets the key to null, it does not delete it, and a nested object (`fields`) is
    replaced by the patch's. The action's `patch_hook` may narrow the rest to match (for
    bulk creation, lowering `issueCount` keeps the first tickets).
    """
    effective = {**details, **patch}
    hook = get_spec(name).patch_hook
    return effective if hook is None else hook(details, patch, effective, priorities)


def narrowed_details(
    name: str,
    details: Mapping[str, Any],
    patch: object,
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> dict[str, Any]:
    """The effective payload of a reviewer's patch over (validated) `details`; a priority
    may only be lowered in `priorities`, the site's order (the gateway passes it).

    Raises EditRefusedError naming each field and rule when the patch has unknown fields,
    the effective payload is invalid, or it does more than narrow the action. Policy is not
    consulted here (the gateway evaluates the effective payload again)."""
    if not isinstance(patch, Mapping):
        raise EditRefusedError(
            [DetailsViolation("", "type", "an edit must be a JSON object (a patch)")]
        )
    unknown = _unknown_fields(name, patch)
    if unknown:
        raise EditRefusedError(unknown)
    effective = apply_patch(name, details, patch, priorities)
    try:
        validate_details(name, effective)
    except InvalidDetailsError as exc:
        raise EditRefusedError(exc.violations, invalid_for=name) from exc
    violations = edit_violations(name, details, effective, priorities)
    if not violations:
        violations = [
            DetailsViolation("", "not_wider", r) for r in _widening(name, details, effective)
        ]
    if violations:
        raise EditRefusedError(violations)
    return effective


def widening_reasons(
    name: str,
    original: Mapping[str, Any],
    effective: Mapping[str, Any],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> list[str]:
    """Why an edited payload does more than the original (empty when it only narrows)."""
    violations = edit_violations(name, original, effective, priorities)
    return [str(v) for v in violations] or _widening(name, original, effective)


def _unknown_fields(name: str, patch: Mapping[str, Any]) -> list[DetailsViolation]:
    known = get_spec(name).schema.get("properties") or {}
    return [
        DetailsViolation(pointer_of([key]), "unknown_field", f"is not a field of {name}")
        for key in patch
        if key not in known
    ]


def edit_violations(
    name: str,
    original: Mapping[str, Any],
    effective: Mapping[str, Any],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> list[DetailsViolation]:
    """Each field of `effective` that the action's edit rules do not allow, with the rule."""
    rules = edit_rules(name)
    violations: list[DetailsViolation] = []
    keys = [*original, *(key for key in effective if key not in original)]
    for key in keys:
        violations += field_violations(
            pointer_of([key]),
            rules.get(key, EditRule.FIXED),
            original.get(key, MISSING),
            effective.get(key, MISSING),
            (original, effective),
            droppable=False,
            priorities=priorities,
        )
    check = get_spec(name).cross_field_check
    if check is not None:
        violations += check(original, effective)
    return violations


def _widening(name: str, original: Mapping[str, Any], effective: Mapping[str, Any]) -> list[str]:
    """A second, coarse check behind the rules: no other project, no larger count, no new
    issues. It can only fire if a rule above is wrong."""
    reasons: list[str] = []
    before, after = project_of(original), project_of(effective)
    if before != after:
        reasons.append(f"the project changed from {before} to {after}")
    if count_of(name, effective) > count_of(name, original):
        reasons.append(
            f"the count grew from {count_of(name, original)} to {count_of(name, effective)}"
        )
    added = issue_keys_of(effective) - issue_keys_of(original)
    if added:
        reasons.append(f"issues were added: {', '.join(sorted(added))}")
    return reasons


def kept_items(
    name: str,
    field_name: str,
    original: Mapping[str, Any],
    effective: Mapping[str, Any],
    priorities: PriorityOrder | None = None,
) -> list[int] | None:
    """For each item of `effective[field_name]` (tickets, updates), the index of the proposed
    item it stands for; None when the field has no item rule or the edit does not align.
    For showing an edit (see `align_items`: without `priorities`, they are not judged)."""
    rule = rule_of(name, field_name)
    before, after = original.get(field_name), effective.get(field_name)
    if not isinstance(rule, ItemRules) or not isinstance(before, list):
        return None
    if not isinstance(after, list):
        return None
    return align_items(rule, before, after, (original, effective), priorities)


def describe_edit(name: str, original: Mapping[str, Any], effective: Mapping[str, Any]) -> str:
    """A reviewer's edit in words, for the agent and the reviewer ("4 of 12, as Medium; 2
    summaries reworded"); empty when the effective payload is the proposed one."""
    if same(original, effective):
        return ""
    parts: list[str] = []
    before, after = count_of(name, original), count_of(name, effective)
    if after < before:
        parts.append(f"{after} of {before}")
        kept = kept_items(name, "tickets", original, effective)
        if kept is not None and kept != list(range(len(kept))):
            parts[-1] += " (tickets " + ", ".join(f"#{n + 1}" for n in kept) + ")"
    if "priority" in effective and not same(original.get("priority"), effective["priority"]):
        parts.append(f"as {effective['priority']}")
    parts += _ticket_changes(name, original, effective)
    handled = {"issueCount", "priority", "tickets", *_counted_lists(name)}
    changed = [
        label
        for label in dict.fromkeys([*original, *effective])
        if label not in handled and not same(original.get(label), effective.get(label))
    ]
    if changed:
        parts.append("changed " + ", ".join(changed))
    return ", ".join(parts) if parts else "edited"


def _counted_lists(name: str) -> set[str]:
    """The lists whose narrowing the count already says (issue keys, updates)."""
    rules = edit_rules(name)
    return {
        key
        for key, rule in rules.items()
        if (rule is EditRule.SUBSET and key.endswith("IssueKeys")) or key == "issueKeys"
    } | ({"updates"} if "updates" in rules else set())


def _ticket_changes(
    name: str, original: Mapping[str, Any], effective: Mapping[str, Any]
) -> list[str]:
    kept = kept_items(name, "tickets", original, effective)
    if not kept:
        return []
    proposed, made = original["tickets"], effective["tickets"]
    reworded = sum(
        not same(proposed[index].get("summary"), ticket.get("summary"))
        for index, ticket in zip(kept, made, strict=True)
    )
    lowered = sum(
        not same(
            proposed[index].get("priority", original.get("priority")),
            ticket.get("priority", effective.get("priority")),
        )
        for index, ticket in zip(kept, made, strict=True)
    )
    parts = []
    if reworded:
        parts.append(f"{reworded} summar{'ies' if reworded != 1 else 'y'} reworded")
    if lowered and same(original.get("priority"), effective.get("priority")):  # else "as …"
        parts.append(f"{lowered} ticket priorit{'ies' if lowered != 1 else 'y'} lowered")
    return parts

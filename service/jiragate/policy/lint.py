"""Warnings about policies that load but probably do not say what their author meant.

- `shadowed-rule`: whenever rule B matches, a rule A with a stronger decision matches too,
  so B can never decide anything.
- `shadowed-route`: two approval rules where the one that always wins sends the action to a
  different group, so B's `route_to` is never used.
- `overlapping-routes`: two approval rules of equal priority can match the same action but
  route to different groups; the tie goes to the smaller rule id, which is rarely intended.
- `unused-group`: a review group that no rule and no default routes to.
- `unsettable-field`: a condition on a story points field or Epic Name under
  `details.customFields`, which no action can carry (the catalog refuses them there:
  estimates are a new ticket's `storyPoints` or `jira_update_story_points`, an epic's name
  `epicName`), so the condition never holds.

Implication between rules is decided syntactically, on each rule's top-level conditions: rule
A covers rule B when A applies to every action B applies to and each of A's conditions is also
one of B's. That finds the common mistakes without a solver, and never reports a false
shadow (it may miss a subtle one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jiragate.catalog import ACTION_NAMES
from jiragate.catalog.site import OWN_FIELD_NAMES
from jiragate.errors import PolicyIssue
from jiragate.policy.compiler import statically_applies
from jiragate.policy.engine import PolicySet
from jiragate.policy.facts import split_path
from jiragate.policy.model import AllOf, AnyOf, Condition, Effect, Not, Predicate, Rule

_PRECEDENCE = {Effect.DENY: 3, Effect.REQUIRE_APPROVAL: 2, Effect.ALLOW: 1}
_STATIC = ("action", "kind")


def lint(policies: PolicySet) -> list[PolicyIssue]:
    rules = policies.enforced_rules  # a shadow rule never decides, so it shadows nothing
    actions = {rule.id: _actions(rule) for rule in rules}
    conditions = {rule.id: _conditions(rule) for rule in rules}
    issues: list[PolicyIssue] = []
    for b in rules:
        for a in rules:
            if a is b or not actions[b.id] <= actions[a.id]:
                continue
            a_conditions = conditions[a.id]
            if a_conditions is None or not a_conditions <= (conditions[b.id] or frozenset()):
                continue
            issue = _shadow(a, b, policies)
            if issue:
                issues.append(issue)
                break  # one shadowing rule is enough to tell the author
    issues.extend(_overlapping_routes(rules, actions, policies))
    issues.extend(_unused_groups(policies))
    issues.extend(_unsettable_fields(policies.rules))
    return issues


def _unsettable_fields(rules: Iterable[Rule]) -> list[PolicyIssue]:
    issues = []
    for rule in rules:
        for predicate in _predicates(rule.match):
            if not predicate.field.startswith("details.customFields."):
                continue
            parts = split_path(predicate.field.removeprefix("details."))
            if len(parts) >= 2 and parts[1].casefold() in OWN_FIELD_NAMES:
                issues.append(
                    _warning(
                        rule,
                        "unsettable-field",
                        f"{predicate.field} never holds: customFields refuses a field with an "
                        "action of its own (estimates are details.storyPoints on "
                        "jira_create_ticket or the action jira_update_story_points, an epic's "
                        "name details.epicName); match those instead",
                    )
                )
                break
    return issues


def _predicates(condition: Condition) -> Iterable[Predicate]:
    if isinstance(condition, Predicate):
        yield condition
    elif isinstance(condition, AllOf | AnyOf):
        for inner in condition.conditions:
            yield from _predicates(inner)
    elif isinstance(condition, Not):
        yield from _predicates(condition.condition)


def _actions(rule: Rule) -> frozenset[str]:
    return frozenset(name for name in ACTION_NAMES if statically_applies(rule.match, name))


def _conditions(rule: Rule) -> frozenset[tuple[str, str, str]] | None:
    """A rule's runtime conditions as comparable tuples; None if it has nested blocks
    (any/not/all), which this syntactic check does not reason about."""
    out = set()
    for condition in rule.match.conditions:
        if not isinstance(condition, Predicate):
            return None
        if condition.field in _STATIC:
            continue
        argument = condition.argument
        if isinstance(argument, list) and condition.operator in ("in", "not_in"):
            argument = sorted(argument, key=str)
        out.add((condition.field, condition.operator, json.dumps(argument, sort_keys=True)))
    return frozenset(out)


def _route(rule: Rule, policies: PolicySet) -> str | None:
    return rule.route_to or policies.model.defaults.route_to


def _wins(a: Rule, b: Rule) -> bool:
    """Does A determine the decision whenever both match?"""
    return (-_PRECEDENCE[a.decision], -a.priority, a.id) < (
        -_PRECEDENCE[b.decision],
        -b.priority,
        b.id,
    )


def _shadow(a: Rule, b: Rule, policies: PolicySet) -> PolicyIssue | None:
    if not _wins(a, b):
        return None
    if _PRECEDENCE[a.decision] > _PRECEDENCE[b.decision]:
        return _warning(
            b,
            "shadowed-rule",
            f"rule {b.id!r} ({b.decision.value}) can never decide: whenever it matches, "
            f"rule {a.id!r} ({a.decision.value}, {a.location}) matches too and wins "
            f"({a.decision.value} outranks {b.decision.value} whatever the priority). Fix: "
            f"delete {b.id!r} if {a.id!r} already says it, or narrow {a.id!r} so that it "
            f"leaves {b.id!r}'s actions alone (e.g. add `not:` with {b.id!r}'s conditions)",
        )
    route_a, route_b = _route(a, policies), _route(b, policies)
    if a.decision is Effect.REQUIRE_APPROVAL and route_a != route_b:
        return _warning(
            b,
            "shadowed-route",
            f"rule {b.id!r} routes to {route_b!r}, but whenever it matches, rule {a.id!r} "
            f"({a.location}) matches too and routes to {route_a!r}. Fix: give {b.id!r} a "
            f"priority above {a.priority} if {route_b!r} should review these actions, or "
            f"drop its route_to",
        )
    return None


def _overlapping_routes(
    rules: Iterable[Rule], actions: dict[str, frozenset[str]], policies: PolicySet
) -> list[PolicyIssue]:
    approval = sorted(
        (r for r in rules if r.decision is Effect.REQUIRE_APPROVAL), key=lambda r: r.id
    )
    issues = []
    for i, a in enumerate(approval):
        for b in approval[i + 1 :]:
            if a.priority != b.priority or _route(a, policies) == _route(b, policies):
                continue
            shared = actions[a.id] & actions[b.id]
            if not shared or _disjoint(a, b):
                continue
            issues.append(
                _warning(
                    b,
                    "overlapping-routes",
                    f"rules {a.id!r} and {b.id!r} have the same priority ({a.priority}), can "
                    f"both match {sorted(shared)[0]}, and route to different groups; the tie "
                    f"goes to {a.id!r} (smaller id). Give one a higher priority.",
                )
            )
    return issues


def _equalities(rule: Rule) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for condition in rule.match.conditions:
        if isinstance(condition, Predicate) and condition.field not in _STATIC:
            if condition.operator == "eq":
                out[condition.field] = {json.dumps(condition.argument)}
            elif condition.operator == "in":
                out[condition.field] = {json.dumps(v) for v in condition.argument}
    return out


def _disjoint(a: Rule, b: Rule) -> bool:
    """True when an equality test on the same field proves the two can never both match."""
    left, right = _equalities(a), _equalities(b)
    return any(not (left[field] & right[field]) for field in left.keys() & right.keys())


def _unused_groups(policies: PolicySet) -> list[PolicyIssue]:
    used = {r.route_to for r in policies.rules if r.route_to}
    if policies.model.defaults.route_to:
        used.add(policies.model.defaults.route_to)
    issues = []
    for name, group in sorted(policies.groups.items()):
        if name not in used:
            issues.append(
                PolicyIssue(
                    group.location.file,
                    group.location.line,
                    f"review_groups.{name}",
                    f"review group {name!r} is not used by any rule or by defaults.route_to",
                    severity="warning",
                    code="unused-group",
                )
            )
    return issues


def _warning(rule: Rule, code: str, message: str) -> PolicyIssue:
    return PolicyIssue(
        rule.location.file,
        rule.location.line,
        f"rules[{rule.index}]",
        message,
        severity="warning",
        code=code,
    )

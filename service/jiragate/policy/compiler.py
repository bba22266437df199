"""Compile a policy model into an index of predicate closures, once per policy revision.

For each catalog action the compiler keeps only the rules that can apply to it: top-level
`action` and `kind` conditions are decided here, at compile time, and vanish from the
runtime test. Within an action, when enough rules test the same fact for equality (often
`project` or `agent`), the rules are further bucketed by that fact's value, so a decision
looks at the few rules that can match instead of all of them. Evaluation never re-parses
anything: a rule is one closure over a flat facts mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jiragate.catalog import ACTION_NAMES, CATALOG
from jiragate.policy.model import AllOf, AnyOf, Condition, Not, PolicyModel, Predicate, Rule
from jiragate.policy.operators import MISSING, OPERATORS

Test = Callable[[Mapping[str, Any]], bool]

# Below this many rules per action a bucketed index costs more than it saves.
_INDEX_THRESHOLD = 8
_STATIC_FIELDS = ("action", "kind")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    test: Test


@dataclass(frozen=True, slots=True)
class ActionIndex:
    """The rules that can apply to one action, bucketed by one discriminating fact."""

    rules: tuple[CompiledRule, ...]
    key_field: str | None = None
    getter: Callable[[Mapping[str, Any]], Any] | None = None
    buckets: Mapping[Any, tuple[CompiledRule, ...]] | None = None
    unbucketed: tuple[CompiledRule, ...] = ()

    def candidates(self, facts: Mapping[str, Any]) -> tuple[CompiledRule, ...]:
        if self.buckets is None or self.getter is None:
            return self.rules
        try:
            bucket = self.buckets.get(self.getter(facts), ())
        except TypeError:  # an unhashable value (a list) cannot be bucketed
            return self.rules
        return bucket + self.unbucketed if bucket else self.unbucketed


def compile_model(model: PolicyModel) -> dict[str, ActionIndex]:
    index: dict[str, ActionIndex] = {}
    for action in ACTION_NAMES:
        compiled = [
            CompiledRule(rule, _compile_rule(rule.match))
            for rule in model.rules
            if statically_applies(rule.match, action)
        ]
        index[action] = _bucket(tuple(compiled))
    return index


# --------------------------------------------------------------------------- static part


def statically_applies(match: AllOf, action: str) -> bool:
    kind = CATALOG[action].kind.value
    for condition in match.conditions:
        if isinstance(condition, Predicate) and condition.field in _STATIC_FIELDS:
            actual = action if condition.field == "action" else kind
            if not _predicate_holds(condition, actual):
                return False
    return True


def _predicate_holds(predicate: Predicate, actual: Any) -> bool:
    prepared = OPERATORS[predicate.operator].prepare(predicate.argument)
    return bool(OPERATORS[predicate.operator].test(actual, prepared))


# --------------------------------------------------------------------------- closures


def getter_for(field: str) -> Callable[[Mapping[str, Any]], Any]:
    """A function reading one fact (or a nested details field) from a facts mapping."""
    if not field.startswith("details."):
        return lambda facts: facts.get(field, MISSING)
    parts = field.split(".")[1:]
    if len(parts) == 1:
        (name,) = parts
        return lambda facts: facts["details"].get(name, MISSING)

    def nested(facts: Mapping[str, Any]) -> Any:
        node: Any = facts["details"]
        for part in parts:
            if not isinstance(node, Mapping) or part not in node:
                return MISSING
            node = node[part]
        return node

    return nested


def _compile_rule(match: AllOf) -> Test:
    # Static action/kind conditions were decided when the rule was indexed.
    runtime = [
        c for c in match.conditions if not (isinstance(c, Predicate) and c.field in _STATIC_FIELDS)
    ]
    return _all(runtime)


def _compile(condition: Condition) -> Test:
    if isinstance(condition, Predicate):
        return _compile_predicate(condition)
    if isinstance(condition, AllOf):
        return _all(condition.conditions)
    if isinstance(condition, AnyOf):
        tests = tuple(_compile(c) for c in condition.conditions)
        return lambda facts: any(test(facts) for test in tests)
    if isinstance(condition, Not):
        inner = _compile(condition.condition)
        return lambda facts: not inner(facts)
    raise TypeError(f"unknown condition {condition!r}")


def _all(conditions: Iterable[Condition]) -> Test:
    tests = tuple(_compile(c) for c in conditions)
    if not tests:
        return lambda facts: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda facts: first(facts) and second(facts)
    return lambda facts: all(test(facts) for test in tests)


def _compile_predicate(predicate: Predicate) -> Test:
    get = getter_for(predicate.field)
    operator = OPERATORS[predicate.operator]
    argument = operator.prepare(predicate.argument)
    name = predicate.operator
    # The common operators get specialised closures; MISSING equals nothing and is in no set.
    if name == "eq":
        return lambda facts: get(facts) == argument
    if name == "in":
        values: frozenset[Any] = argument

        def is_in(facts: Mapping[str, Any]) -> bool:
            value = get(facts)
            try:
                return value in values
            except TypeError:
                return False

        return is_in
    if name == "exists":
        return lambda facts: (get(facts) is not MISSING) is argument
    test = operator.test

    def generic(facts: Mapping[str, Any]) -> bool:
        value = get(facts)
        return value is not MISSING and test(value, argument)

    return generic


# --------------------------------------------------------------------------- bucketing


def _equality_keys(rule: Rule) -> dict[str, tuple[Any, ...]]:
    """Top-level `field eq X` / `field in [..]` tests of a rule: the values it can match."""
    keys: dict[str, tuple[Any, ...]] = {}
    for condition in rule.match.conditions:
        if not isinstance(condition, Predicate) or condition.field in _STATIC_FIELDS:
            continue
        if condition.operator == "eq":
            keys[condition.field] = (condition.argument,)
        elif condition.operator == "in":
            keys[condition.field] = tuple(condition.argument)
    return keys


def _bucket(rules: tuple[CompiledRule, ...]) -> ActionIndex:
    if len(rules) < _INDEX_THRESHOLD:
        return ActionIndex(rules)
    per_rule = [_equality_keys(compiled.rule) for compiled in rules]
    usage: dict[str, int] = {}
    for keys in per_rule:
        for field in keys:
            usage[field] = usage.get(field, 0) + 1
    if not usage:
        return ActionIndex(rules)
    field = max(sorted(usage), key=lambda f: usage[f])
    if usage[field] < _INDEX_THRESHOLD // 2:
        return ActionIndex(rules)
    buckets: dict[Any, list[CompiledRule]] = {}
    unbucketed: list[CompiledRule] = []
    for compiled, keys in zip(rules, per_rule, strict=True):
        if field in keys:
            for value in keys[field]:
                buckets.setdefault(value, []).append(compiled)
        else:
            unbucketed.append(compiled)
    return ActionIndex(
        rules=rules,
        key_field=field,
        getter=getter_for(field),
        buckets={value: tuple(group) for value, group in buckets.items()},
        unbucketed=tuple(unbucketed),
    )


__all__ = ["ActionIndex", "CompiledRule", "compile_model", "getter_for"]

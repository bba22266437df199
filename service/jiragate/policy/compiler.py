"""Compile a policy model into an index of predicate closures, once per policy revision.

For each catalog action the compiler keeps only the rules that can apply to it: top-level
`action` and `kind` conditions are decided here, at compile time, and vanish from the
runtime test. Within an action, when enough rules test the same fact for equality (often
`project` or `agent`), the rules are further bucketed by that fact's value, so a decision
looks at the few rules that can match instead of all of them. Evaluation never re-parses
anything: a rule is one closure over a flat facts mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jiragate.catalog import ACTION_NAMES, CATALOG
from jiragate.policy.model import AllOf, AnyOf, Condition, Not, PolicyModel, Predicate, Rule
from jiragate.policy.operators import MISSING, OPERATORS, argument_key

Test = Callable[[Mapping[str, Any]], bool]

# Below this many rules per action a bucketed index costs more than it saves.
_INDEX_THRESHOLD = 8
_STATIC_FIELDS = ("action", "kind")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    test: Test


@dataclass(frozen=True, slots=True)
class _Node:
    """One level of the index: rules bucketed by one fact's value, plus the rules that do
    not test that fact. A bucket holds a deeper node, so the index is a small decision tree;
    rules inside a bucket no longer re-test the equality their bucket already guarantees."""

    getter: Callable[[Mapping[str, Any]], Any] | None
    buckets: Mapping[Any, _Node]
    rules: tuple[CompiledRule, ...]  # the rules that stop at this level

    def collect(self, facts: Mapping[str, Any], out: list[CompiledRule]) -> None:
        out.extend(self.rules)
        if self.getter is not None:
            child = self.buckets.get(self.getter(facts))  # TypeError: unhashable value
            if child is not None:
                child.collect(facts, out)


@dataclass(frozen=True, slots=True)
class ActionIndex:
    """The rules that can apply to one action, with an index to find the few that can match."""

    rules: tuple[CompiledRule, ...]  # every rule, with its complete test
    root: _Node | None = None
    key_fields: tuple[str, ...] = ()

    @property
    def key_field(self) -> str | None:
        return self.key_fields[0] if self.key_fields else None

    def candidates(self, facts: Mapping[str, Any]) -> Sequence[CompiledRule]:
        if self.root is None:
            return self.rules
        found: list[CompiledRule] = []
        try:
            self.root.collect(facts, found)
        except TypeError:  # a list- or mapping-valued fact cannot be bucketed: test them all
            return self.rules
        return found


def compile_model(model: PolicyModel) -> dict[str, ActionIndex]:
    cache = _Closures()
    by_action: dict[str, list[Rule]] = {action: [] for action in ACTION_NAMES}
    for rule in model.rules:
        for action in static_actions(rule.match):
            by_action[action].append(rule)
    index: dict[str, ActionIndex] = {}
    for action, rules in by_action.items():
        compiled = tuple(CompiledRule(rule, cache.rule_test(rule, frozenset())) for rule in rules)
        if len(rules) < _INDEX_THRESHOLD:
            index[action] = ActionIndex(compiled)
            continue
        fields: list[str] = []
        root = _build_node(rules, frozenset(), fields, cache)
        index[action] = ActionIndex(compiled, root, tuple(dict.fromkeys(fields)))
    return index


class _Closures:
    """One compile's closures, shared: a rule indexed under several actions (or as a whole
    and inside a bucket) is compiled once per set of guaranteed fields, and predicates
    written alike in many rules (`project: ENG`) share one closure and one prepared
    argument (a frozenset, a compiled pattern)."""

    def __init__(self) -> None:
        self.rules: dict[tuple[int, frozenset[str]], Test] = {}
        self.predicates: dict[tuple[str, str, Any], Test] = {}

    def rule_test(self, rule: Rule, skip: frozenset[str]) -> Test:
        key = (id(rule), skip)  # the model holds every rule for the whole compile
        test = self.rules.get(key)
        if test is None:
            test = self.rules[key] = _compile_rule(rule.match, skip, self)
        return test

    def predicate_test(self, predicate: Predicate) -> Test:
        key = (predicate.field, predicate.operator, argument_key(predicate.argument))
        test = self.predicates.get(key)
        if test is None:
            test = self.predicates[key] = _compile_predicate(predicate)
        return test


# --------------------------------------------------------------------------- static part


def statically_applies(match: AllOf, action: str) -> bool:
    return action in static_actions(match)


def static_actions(match: AllOf) -> frozenset[str]:
    """The catalog actions a rule's top-level `action` and `kind` conditions admit."""
    admitted = _ALL_ACTIONS
    for condition in match.conditions:
        if isinstance(condition, Predicate) and condition.field in _STATIC_FIELDS:
            admitted = admitted & _admitted_by(condition)
    return admitted


_ALL_ACTIONS: frozenset[str] = frozenset(ACTION_NAMES)
# The actions one static condition admits, by how it is written: 10,000 rules repeat a few
# dozen `action: X` conditions, so each is tested against the catalog once per process.
_ADMITTED: dict[tuple[str, str, Any], frozenset[str]] = {}
_ADMITTED_MAX = 4096


def _admitted_by(predicate: Predicate) -> frozenset[str]:
    key = (predicate.field, predicate.operator, argument_key(predicate.argument))
    admitted = _ADMITTED.get(key)
    if admitted is None:
        spec = OPERATORS[predicate.operator]
        prepared = spec.prepare(predicate.argument)
        admitted = frozenset(
            action
            for action in ACTION_NAMES
            if spec.test(
                action if predicate.field == "action" else CATALOG[action].kind.value, prepared
            )
        )
        if len(_ADMITTED) >= _ADMITTED_MAX:
            _ADMITTED.clear()  # bounded: a policy of many distinct globs cannot grow it
        _ADMITTED[key] = admitted
    return admitted


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


def _compile_rule(match: AllOf, skip: frozenset[str], cache: _Closures) -> Test:
    """The rule's runtime test. Static action/kind conditions were decided when the rule was
    indexed; top-level equality tests on `skip` fields are guaranteed by its bucket."""
    runtime = [
        c
        for c in match.conditions
        if not (isinstance(c, Predicate) and c.field in _STATIC_FIELDS)
        and not (isinstance(c, Predicate) and c.field in skip and c.operator in ("eq", "in"))
    ]
    return _all(runtime, cache)


def _compile(condition: Condition, cache: _Closures) -> Test:
    if isinstance(condition, Predicate):
        return cache.predicate_test(condition)
    if isinstance(condition, AllOf):
        return _all(condition.conditions, cache)
    if isinstance(condition, AnyOf):
        tests = tuple(_compile(c, cache) for c in condition.conditions)
        return lambda facts: any(test(facts) for test in tests)
    if isinstance(condition, Not):
        inner = _compile(condition.condition, cache)
        return lambda facts: not inner(facts)
    raise TypeError(f"unknown condition {condition!r}")


def _all(conditions: Iterable[Condition], cache: _Closures) -> Test:
    tests = tuple(_compile(c, cache) for c in conditions)
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


def _build_node(
    rules: list[Rule], used: frozenset[str], fields: list[str], cache: _Closures
) -> _Node:
    """Bucket `rules` by the equality fact most of them test (not one already used above);
    recurse into big buckets. Rules stop at the first level whose fact they do not test."""
    per_rule = [_equality_keys(rule) for rule in rules]
    usage: dict[str, int] = {}
    for keys in per_rule:
        for field in keys.keys() - used:
            usage[field] = usage.get(field, 0) + 1
    best = max(sorted(usage), key=lambda f: usage[f]) if usage else None
    if best is None or len(rules) < _INDEX_THRESHOLD or usage[best] < _INDEX_THRESHOLD // 2:
        return _Node(None, {}, tuple(CompiledRule(r, cache.rule_test(r, used)) for r in rules))
    fields.append(best)
    grouped: dict[Any, list[Rule]] = {}
    stop_here: list[Rule] = []
    for rule, keys in zip(rules, per_rule, strict=True):
        if best in keys:
            for value in keys[best]:
                grouped.setdefault(value, []).append(rule)
        else:
            stop_here.append(rule)
    deeper = used | {best}
    return _Node(
        getter=getter_for(best),
        buckets={
            value: _build_node(group, deeper, fields, cache) for value, group in grouped.items()
        },
        rules=tuple(CompiledRule(r, cache.rule_test(r, used)) for r in stop_here),
    )


__all__ = ["ActionIndex", "CompiledRule", "compile_model", "getter_for", "static_actions"]

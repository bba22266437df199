"""Compile a policy model into an index of predicate closures, once per policy revision.

For each catalog action the compiler keeps only the rules that can apply to it: top-level
`action` and `kind` conditions are decided here, at compile time, and vanish from the
runtime test. Within an action, when enough rules test the same fact for equality (often
`project` or `agent`), the rules are further bucketed by that fact's value, so a decision
looks at the few rules that can match instead of all of them. Evaluation never re-parses
anything: a rule is one closure over a flat facts mapping.

Priority comparisons are compiled in the set's declared order (`model.priorities`), and a
value not in it fails closed by where the comparison stands (operators.py): every closure
and lookup knows whether its rule gates (deny, require_approval) or lets through (allow),
and how many `not`s lie above it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jiragate.catalog import ACTION_NAMES, CATALOG
from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder
from jiragate.policy.facts import split_path
from jiragate.policy.model import (
    AllOf,
    AnyOf,
    Condition,
    Effect,
    Not,
    PolicyModel,
    Predicate,
    Rule,
)
from jiragate.policy.operators import (
    MISSING,
    OPERATORS,
    PRIORITY_OPERATORS,
    PriorityBound,
    argument_key,
)

Test = Callable[[Mapping[str, Any]], bool]

# Below this many rules per action a bucketed index costs more than it saves.
_INDEX_THRESHOLD = 8
_STATIC_FIELDS = ("action", "kind")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    test: Test
    ranked: Ranked  # (its combining rank, the rule): what a match reports


# A rule with its place in the combining order (its rank: 0 determines over 1, ...), so that
# sorting a decision's matches compares small integers, never rules.
Ranked = tuple[int, Rule]
Matches = list[Ranked]


@dataclass(frozen=True, slots=True)
class _Ranges:
    """Rules whose one remaining condition is a numeric comparison on one fact (`count: {gt:
    20}`, `between`, `gte`, `lt`, `lte`), found by one bisection instead of one test each.

    The bounds of all those conditions cut the number line into regions (each bound is a
    region of its own, and so is each open stretch between two bounds); within one region
    every comparison holds or fails alike, so each region lists its rules once, at compile
    time. As the operators do, anything but a number (absent, text, a boolean, NaN) matches
    none of them."""

    getter: Callable[[Mapping[str, Any]], Any]
    bounds: list[float]  # sorted, distinct; region 2i+1 is bounds[i], region 2i the gap below
    regions: tuple[tuple[Ranked, ...], ...]

    def matching(self, facts: Mapping[str, Any]) -> tuple[Ranked, ...]:
        value = self.getter(facts)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return ()
        bounds = self.bounds
        at = bisect_left(bounds, value)
        if at < len(bounds) and bounds[at] == value:
            return self.regions[2 * at + 1]
        return self.regions[2 * at]


@dataclass(frozen=True, slots=True)
class _Choices:
    """Rules whose one remaining condition is `at_least` / `at_most` on one priority field:
    the set's priorities are listed with their rules at compile time, so a decision is one
    lookup. A value not in the order matches the rules that gate (deny, approval) and no
    allow rule (`unknown`), as the operators decide it; an absent one matches none."""

    getter: Callable[[Mapping[str, Any]], Any]
    table: Mapping[str, tuple[Ranked, ...]]
    unknown: tuple[Ranked, ...]

    def matching(self, facts: Mapping[str, Any]) -> tuple[Ranked, ...]:
        value = self.getter(facts)
        if value is MISSING:
            return ()
        if isinstance(value, str):
            found = self.table.get(value)
            if found is not None:
                return found
        return self.unknown


@dataclass(frozen=True, slots=True)
class _Node:
    """One level of the index: rules bucketed by one fact's value, plus the rules that do
    not test that fact. A bucket holds a deeper node, so the index is a small decision tree;
    rules inside a bucket no longer re-test the equality their bucket already guarantees.

    The rules that stop at a level are kept by what is left to test: nothing (`certain`:
    the buckets above guarantee every condition), one numeric range or one priority bound
    on a fact (`lookups`: found by bisection or by table), or anything else (`tested`)."""

    getter: Callable[[Mapping[str, Any]], Any] | None
    buckets: Mapping[Any, _Node]
    tested: tuple[CompiledRule, ...] = ()
    certain: tuple[Ranked, ...] = ()
    lookups: tuple[_Ranges | _Choices, ...] = ()


class _FullScan:
    """Every rule of an action with its complete test, tested one by one: the whole answer
    for an action with few rules, the fallback of an index (a fact that cannot be bucketed,
    such as a list). An index's tests are compiled the first time it falls back, since
    most sets never do; two threads doing so at once build equal tuples."""

    __slots__ = ("_order", "_tests", "entries")

    def __init__(
        self,
        entries: tuple[Ranked, ...],
        tests: tuple[Test, ...] | None = None,
        order: PriorityOrder = JIRA_PRIORITIES,
    ):
        self.entries = entries
        self._tests = tests
        self._order = order

    def matching(self, facts: Mapping[str, Any]) -> Matches:
        tests = self._tests
        if tests is None:
            cache = _Closures((), self._order)
            tests = tuple(cache.rule_test(rule, frozenset()) for _, rule in self.entries)
            self._tests = tests
        return [entry for entry, test in zip(self.entries, tests, strict=True) if test(facts)]


@dataclass(frozen=True, slots=True)
class ActionIndex:
    """The rules that can apply to one action, with an index to find the few that can match."""

    scan: _FullScan  # every rule, with its complete test
    root: _Node | None = None
    key_fields: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(rule for _, rule in self.scan.entries)

    @property
    def key_field(self) -> str | None:
        return self.key_fields[0] if self.key_fields else None

    def matching(self, facts: Mapping[str, Any]) -> Matches:
        """The rules whose conditions hold for these facts, ranked, in no particular order:
        at each level down the tree the rules that stop there, then the bucket of the fact's
        value (one loop rather than a call per level: this is the hot path)."""
        node = self.root
        if node is None:
            return self.scan.matching(facts)
        found: Matches = []
        try:
            while True:
                if node.certain:
                    found.extend(node.certain)
                for compiled in node.tested:
                    if compiled.test(facts):
                        found.append(compiled.ranked)
                for lookup in node.lookups:
                    found.extend(lookup.matching(facts))
                getter = node.getter
                if getter is None:
                    return found
                child = node.buckets.get(getter(facts))  # TypeError: unhashable value
                if child is None:
                    return found
                node = child
        except TypeError:  # a list- or mapping-valued fact cannot be bucketed: scan
            return self.scan.matching(facts)


def compile_model(
    model: PolicyModel, order: Sequence[Rule] | None = None
) -> dict[str, ActionIndex]:
    """The index of every action. `order` ranks the rules for combining (the first
    determines); by default the order they were written in."""
    cache = _Closures(model.rules if order is None else order, model.priorities)
    by_action: dict[str, list[Rule]] = {action: [] for action in ACTION_NAMES}
    for rule in model.rules:
        for action in static_actions(rule.match):
            by_action[action].append(rule)
    index: dict[str, ActionIndex] = {}
    for action, rules in by_action.items():
        entries = tuple(cache.ranked(rule) for rule in rules)
        if len(rules) < _INDEX_THRESHOLD:
            tests = tuple(cache.rule_test(rule, frozenset()) for rule in rules)
            index[action] = ActionIndex(_FullScan(entries, tests, model.priorities))
            continue
        fields: list[str] = []
        root = _build_node(rules, frozenset(), fields, cache)
        scan = _FullScan(entries, order=model.priorities)
        index[action] = ActionIndex(scan, root, tuple(dict.fromkeys(fields)))
    return index


class _Closures:
    """One compile's closures, shared: a rule indexed under several actions (or as a whole
    and inside a bucket) is compiled once per set of guaranteed fields, and predicates
    written alike in many rules (`project: ENG`) share one closure and one prepared
    argument (a frozenset, a compiled pattern)."""

    def __init__(self, order: Sequence[Rule], priorities: PriorityOrder) -> None:
        self.priorities = priorities
        self.rules: dict[tuple[int, frozenset[str]], Test] = {}
        self.predicates: dict[tuple[str, str, Any, bool], Test] = {}
        self.equalities: dict[int, dict[str, tuple[Any, ...]]] = {}
        # by id(): the model holds every rule for the whole compile, and hashing a rule
        # would hash its whole condition tree
        self.ranked_by_id: dict[int, Ranked] = {
            id(rule): (rank, rule) for rank, rule in enumerate(order)
        }

    def equality_keys(self, rule: Rule) -> dict[str, tuple[Any, ...]]:
        """`_equality_keys`, once per rule (each level of the tree asks again)."""
        keys = self.equalities.get(id(rule))
        if keys is None:
            keys = self.equalities[id(rule)] = _equality_keys(rule)
        return keys

    def ranked(self, rule: Rule) -> Ranked:
        return self.ranked_by_id[id(rule)]

    def compiled(self, rule: Rule, skip: frozenset[str]) -> CompiledRule:
        return CompiledRule(rule, self.rule_test(rule, skip), self.ranked(rule))

    def rule_test(self, rule: Rule, skip: frozenset[str]) -> Test:
        key = (id(rule), skip)  # the model holds every rule for the whole compile
        test = self.rules.get(key)
        if test is None:
            test = self.rules[key] = _compile_rule(rule.match, skip, self, gates(rule))
        return test

    def predicate_test(self, predicate: Predicate, gate: bool) -> Test:
        # Only a priority comparison depends on where it stands (an unknown value).
        strict = gate and predicate.operator in PRIORITY_OPERATORS
        key = (predicate.field, predicate.operator, argument_key(predicate.argument), strict)
        test = self.predicates.get(key)
        if test is None:
            test = self.predicates[key] = _compile_predicate(predicate, self.priorities, gate)
        return test


def gates(rule: Rule) -> bool:
    """Whether a rule holding is the strict outcome (it denies or asks for approval), so an
    undecidable priority comparison at its top should hold (operators.py)."""
    return rule.decision is not Effect.ALLOW


def prepared_argument(predicate: Predicate, order: PriorityOrder, gate: bool) -> Any:
    """A predicate's prepared argument in the set's priority order; a priority bound fails
    closed for where the predicate stands (`gate`, see `gates`, flipped under each `not`)."""
    prepared = OPERATORS[predicate.operator].prepare(predicate.argument, order)
    return prepared.failing_closed(gate) if isinstance(prepared, PriorityBound) else prepared


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
    parts = split_path(field.removeprefix("details."))
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


def _compile_rule(match: AllOf, skip: frozenset[str], cache: _Closures, gate: bool) -> Test:
    """The rule's runtime test."""
    return _all(runtime_conditions(match, skip), cache, gate)


def runtime_conditions(match: AllOf, skip: frozenset[str]) -> list[Condition]:
    """What is left to test of a rule at run time. Static action/kind conditions were
    decided when the rule was indexed; top-level equality tests on `skip` fields are
    guaranteed by its bucket (see `_equality_keys`)."""
    return [
        c
        for c in match.conditions
        if not (isinstance(c, Predicate) and c.field in _STATIC_FIELDS)
        and not (isinstance(c, Predicate) and c.field in skip and c.operator in ("eq", "in"))
    ]


def _compile(condition: Condition, cache: _Closures, gate: bool) -> Test:
    if isinstance(condition, Predicate):
        return cache.predicate_test(condition, gate)
    if isinstance(condition, AllOf):
        return _all(condition.conditions, cache, gate)
    if isinstance(condition, AnyOf):
        tests = tuple(_compile(c, cache, gate) for c in condition.conditions)
        return lambda facts: any(test(facts) for test in tests)
    if isinstance(condition, Not):
        inner = _compile(condition.condition, cache, not gate)  # holding now means the opposite
        return lambda facts: not inner(facts)
    raise TypeError(f"unknown condition {condition!r}")


def _all(conditions: Iterable[Condition], cache: _Closures, gate: bool) -> Test:
    tests = tuple(_compile(c, cache, gate) for c in conditions)
    if not tests:
        return lambda facts: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda facts: first(facts) and second(facts)
    return lambda facts: all(test(facts) for test in tests)


def _compile_predicate(predicate: Predicate, order: PriorityOrder, gate: bool) -> Test:
    get = getter_for(predicate.field)
    operator = OPERATORS[predicate.operator]
    argument = prepared_argument(predicate, order, gate)
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
            values: tuple[Any, ...] = (condition.argument,)
        elif condition.operator == "in":
            values = tuple(dict.fromkeys(condition.argument))
        else:
            continue
        if condition.field in keys:
            # `project: {in: [A, B], eq: A}`: the bucket skips *both* tests, so the rule may
            # sit only where both hold (an empty intersection: in no bucket, as it never
            # matches). Keeping only the last test's values would match project B.
            earlier = keys[condition.field]
            values = tuple(v for v in values if any(_same_key(v, e) for e in earlier))
        keys[condition.field] = values
    return keys


def _same_key(a: Any, b: Any) -> bool:
    """Whether two written values land in one bucket (one dict key, as `1` and `true` do)."""
    try:
        return len({a: None, b: None}) == 1
    except TypeError:
        return False


def _build_node(
    rules: list[Rule], used: frozenset[str], fields: list[str], cache: _Closures
) -> _Node:
    """Bucket `rules` by the equality fact most of them test (not one already used above);
    recurse into big buckets. Rules stop at the first level whose fact they do not test."""
    per_rule = [cache.equality_keys(rule) for rule in rules]
    usage: dict[str, int] = {}
    for keys in per_rule:
        for field in keys.keys() - used:
            usage[field] = usage.get(field, 0) + 1
    best = max(sorted(usage), key=lambda f: usage[f]) if usage else None
    if best is None or len(rules) < _INDEX_THRESHOLD or usage[best] < _INDEX_THRESHOLD // 2:
        return _leaf(None, {}, rules, used, cache)
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
    buckets = {value: _build_node(group, deeper, fields, cache) for value, group in grouped.items()}
    return _leaf(getter_for(best), buckets, stop_here, used, cache)


_RANGE_OPERATORS = frozenset({"gt", "gte", "lt", "lte", "between"})
_PRIORITY_OPERATORS = frozenset({"at_least", "at_most"})
# A lookup is built for at least this many rules on one fact; fewer are tested one by one.
_LOOKUP_MIN_RULES = 3
# A range lookup lists a rule once per region it covers; past this many entries per rule
# (wide, overlapping ranges) the rules are tested one by one instead, so memory stays linear.
_RANGE_ENTRIES_PER_RULE = 64
_RANGE_ENTRIES_FREE = 256


def _leaf(
    getter: Callable[[Mapping[str, Any]], Any] | None,
    buckets: Mapping[Any, _Node],
    rules: list[Rule],
    used: frozenset[str],
    cache: _Closures,
) -> _Node:
    """A level's node, its stopping rules sorted by what is left to test."""
    certain: list[Ranked] = []
    tested: list[Rule] = []
    by_lookup: dict[tuple[str, str], list[tuple[Rule, Predicate]]] = {}
    for rule in rules:
        runtime = runtime_conditions(rule.match, used)
        if not runtime:
            certain.append(cache.ranked(rule))
            continue
        only = runtime[0] if len(runtime) == 1 else None
        if isinstance(only, Predicate) and only.operator in _RANGE_OPERATORS:
            by_lookup.setdefault(("range", only.field), []).append((rule, only))
        elif isinstance(only, Predicate) and only.operator in _PRIORITY_OPERATORS:
            by_lookup.setdefault(("priority", only.field), []).append((rule, only))
        else:
            tested.append(rule)
    lookups: list[_Ranges | _Choices] = []
    for (kind, field), members in by_lookup.items():
        ranked = [(cache.ranked(rule), predicate) for rule, predicate in members]
        lookup = (
            _ranges(field, ranked) if kind == "range" else _choices(field, ranked, cache.priorities)
        )
        if lookup is None or len(members) < _LOOKUP_MIN_RULES:
            tested.extend(rule for rule, _ in members)
        else:
            lookups.append(lookup)
    return _Node(
        getter=getter,
        buckets=buckets,
        tested=tuple(cache.compiled(r, used) for r in tested),
        certain=tuple(certain),
        lookups=tuple(lookups),
    )


def _interval(predicate: Predicate) -> tuple[float, bool, float, bool]:
    """(low, low included, high, high included) of a numeric comparison's prepared bound."""
    bound = OPERATORS[predicate.operator].prepare(predicate.argument)
    inf = float("inf")
    return {
        "gt": lambda: (bound, False, inf, False),
        "gte": lambda: (bound, True, inf, False),
        "lt": lambda: (-inf, False, bound, False),
        "lte": lambda: (-inf, False, bound, True),
        "between": lambda: (bound[0], True, bound[1], True),
    }[predicate.operator]()


def _ranges(field: str, members: list[tuple[Ranked, Predicate]]) -> _Ranges | None:
    """The range lookup, or None when it would list too many (rule, region) pairs."""
    intervals = [(rule, _interval(predicate)) for rule, predicate in members]
    ends = {end for _, (low, _, high, _) in intervals for end in (low, high)}
    bounds = sorted(end for end in ends if not math.isinf(end))
    spans = [(rule, _span(interval, bounds)) for rule, interval in intervals]
    entries = sum(last - first + 1 for _, (first, last) in spans)
    if entries > _RANGE_ENTRIES_PER_RULE * len(members) + _RANGE_ENTRIES_FREE:
        return None
    regions: list[list[Ranked]] = [[] for _ in range(2 * len(bounds) + 1)]
    for rule, (first, last) in spans:
        for region in range(first, last + 1):
            regions[region].append(rule)
    return _Ranges(getter_for(field), bounds, tuple(map(tuple, regions)))


def _span(interval: tuple[float, bool, float, bool], bounds: list[float]) -> tuple[int, int]:
    """The first and last region (see `_Ranges`) an interval covers; its finite ends are
    among the bounds, so it covers whole regions only."""
    low, low_in, high, high_in = interval
    if math.isinf(low):
        first = 0
    else:
        at = bisect_left(bounds, low)
        first = 2 * at + 1 if low_in else 2 * at + 2
    if math.isinf(high):
        last = 2 * len(bounds)
    else:
        at = bisect_left(bounds, high)
        last = 2 * at + 1 if high_in else 2 * at
    return first, last


def _choices(field: str, members: list[tuple[Ranked, Predicate]], order: PriorityOrder) -> _Choices:
    # Each predicate is its rule's only condition, at the top: no `not` above it.
    bounds = [
        (ranked, OPERATORS[p.operator], prepared_argument(p, order, gates(ranked[1])))
        for ranked, p in members
    ]
    table = {
        name: tuple(ranked for ranked, operator, bound in bounds if operator.test(name, bound))
        for name in order
    }
    unknown = tuple(ranked for ranked, _, bound in bounds if bound.unknown)
    return _Choices(getter_for(field), table, unknown)


__all__ = ["ActionIndex", "CompiledRule", "compile_model", "getter_for", "static_actions"]

"""Why each rule did or did not match one action.

The slow path, taken only when a caller asks (`evaluate(..., explain=True)`): it walks each
rule's condition tree with the actual facts and reports every condition with the value the
action had, so an author can see that `details.priority at_least 'High'` failed on `'Low'`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jiragate.policy.compiler import getter_for
from jiragate.policy.model import AllOf, AnyOf, Condition, Effect, Not, Predicate, Rule
from jiragate.policy.operators import MISSING, OPERATORS, apply_operator


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition of a rule, evaluated: what was tested, what the action had, the verdict."""

    path: str
    test: str
    actual: Any
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "test": self.test, "actual": self.actual, "passed": self.passed}


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    rule: str
    decision: Effect
    matched: bool
    summary: str
    location: str = ""
    conditions: tuple[ConditionResult, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "location": self.location,
            "decision": self.decision.value,
            "matched": self.matched,
            "summary": self.summary,
            "conditions": [c.as_dict() for c in self.conditions],
        }


def explain_rules(
    rules: Iterable[Rule], facts: Mapping[str, Any], matched: set[str]
) -> list[RuleExplanation]:
    explanations = []
    for rule in rules:
        results: list[ConditionResult] = []
        holds = _walk(rule.match, facts, results)
        is_matched = rule.id in matched
        if holds != is_matched:  # the fast and slow paths must agree; a bug if they don't
            raise AssertionError(f"explain disagrees with the engine on rule {rule.id!r}")
        explanations.append(
            RuleExplanation(
                rule=rule.id,
                decision=rule.decision,
                matched=is_matched,
                summary=_summary(is_matched, results),
                # The file's name, not its path: a decision may be shown to agents, who have
                # no business knowing where the server keeps its policies.
                location=f"{Path(rule.location.file).name}:{rule.location.line}",
                conditions=tuple(results),
            )
        )
    return explanations


def _walk(condition: Condition, facts: Mapping[str, Any], out: list[ConditionResult]) -> bool:
    if isinstance(condition, Predicate):
        actual = getter_for(condition.field)(facts)
        prepared = OPERATORS[condition.operator].prepare(condition.argument)
        passed = apply_operator(condition.operator, actual, prepared)
        out.append(
            ConditionResult(
                path=condition.path,
                test=condition.describe(),
                actual=None if actual is MISSING else actual,
                passed=passed,
            )
        )
        return passed
    if isinstance(condition, AllOf):
        results = [_walk(child, facts, out) for child in condition.conditions]
        return all(results)
    if isinstance(condition, AnyOf):
        results = [_walk(child, facts, out) for child in condition.conditions]
        return any(results)
    if isinstance(condition, Not):
        inner: list[ConditionResult] = []
        holds = not _walk(condition.condition, facts, inner)
        out.extend(inner)
        out.append(ConditionResult(condition.path, "not (the block above)", None, holds))
        return holds
    raise TypeError(f"unknown condition {condition!r}")


def _summary(matched: bool, results: list[ConditionResult]) -> str:
    if matched:
        return "matched: every condition held"
    failed = [r for r in results if not r.passed]
    if not failed:
        return "did not match"
    first = failed[0]
    actual = "absent" if first.actual is None else repr(first.actual)
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"did not match: {first.test} failed on {actual}{more}"

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

from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder
from jiragate.policy.compiler import gates, getter_for, prepared_argument
from jiragate.policy.model import AllOf, AnyOf, Condition, Effect, Not, Predicate, Rule
from jiragate.policy.operators import MISSING, apply_operator


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
    rules: Iterable[Rule],
    facts: Mapping[str, Any],
    matched: set[str],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> list[RuleExplanation]:
    explanations = []
    for rule in rules:
        results: list[ConditionResult] = []
        holds = _Walk(facts, priorities).walk(rule.match, results, gates(rule))
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


@dataclass(frozen=True, slots=True)
class _Walk:
    """One rule's conditions against the facts, as the compiler decides them: in the set's
    priority order, an unknown priority failing closed where it stands (`gate`)."""

    facts: Mapping[str, Any]
    priorities: PriorityOrder

    def walk(self, condition: Condition, out: list[ConditionResult], gate: bool) -> bool:
        return _walk(condition, self, out, gate)


def _walk(condition: Condition, ctx: _Walk, out: list[ConditionResult], gate: bool) -> bool:
    facts = ctx.facts
    if isinstance(condition, Predicate):
        actual = getter_for(condition.field)(facts)
        prepared = prepared_argument(condition, ctx.priorities, gate)
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
        results = [_walk(child, ctx, out, gate) for child in condition.conditions]
        return all(results)
    if isinstance(condition, AnyOf):
        results = [_walk(child, ctx, out, gate) for child in condition.conditions]
        return any(results)
    if isinstance(condition, Not):
        inner: list[ConditionResult] = []
        holds = not _walk(condition.condition, ctx, inner, not gate)
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

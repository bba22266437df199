"""Reporting a failed case: what differs, and why the rules did what they did."""

from __future__ import annotations

from typing import Any

from jiragate.policy.engine import PolicySet
from jiragate.policy.explain import RuleExplanation
from jiragate.policy.testing.model import CaseResult


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]" if value else "[] (no rule matched)"
    return str(value)


def format_failure(result: CaseResult) -> str:
    """A readable account of one failed case: what differs, and why the rules did what they did."""
    case = result.case
    lines = [f"{case.name}  ({case.location})"]
    agent = f" as agent {case.agent!r}" if case.agent else ""
    lines.append(f"  action: {case.envelope.get('action')}{agent}")
    width = max(len(m.field) for m in result.mismatches) if result.mismatches else 0
    for mismatch in result.mismatches:
        expected, actual = _show(mismatch.expected), _show(mismatch.actual)
        if mismatch.field == "rule":  # a null rule means the defaults decided
            expected = expected.replace("none", "none (the defaults decide)")
            actual = actual.replace("none", "none (the defaults decided)")
        lines.append(f"  {mismatch.field:<{width}}  expected: {expected}")
        lines.append(f"  {'':<{width}}  actual:   {actual}")
    if result.outcome.error_message:
        lines.append(f"  refused: {result.outcome.error_message}")
    lines.extend(f"  {line}" for line in _why(result))
    return "\n".join(lines)


def _why(result: CaseResult) -> list[str]:
    decision, policies = result.decision, result.policies
    if decision is None or policies is None or decision.explanations is None:
        return []
    explained = {e.rule: e for e in decision.explanations}
    expect = result.case.expect
    out: list[str] = []
    if decision.determining_rule is not None:
        top = policies.rule(decision.determining_rule)
        out.append(
            f"determined by {top.id} ({top.decision.value}, priority {top.priority}) "
            f"at {top.location}: {top.effective_reason}"
        )
    else:
        out.append(f"no rule matched; {decision.reason}")
    if decision.matched_rules:
        out.append(f"matched rules: {', '.join(decision.matched_rules)}")
    wanted: list[str] = []
    if isinstance(expect.rule, str):
        wanted.append(expect.rule)
    wanted.extend(r for r in expect.matched_rules or () if r not in wanted)
    for rule_id in wanted:
        explanation = explained.get(rule_id)
        if explanation is None:
            continue
        if not explanation.matched:
            out.extend(_did_not_match(explanation, str(policies.rule(rule_id).location)))
        elif rule_id != decision.determining_rule and rule_id == expect.rule:
            out.append(_outranked(policies, rule_id, decision.determining_rule))
    return out


def _did_not_match(explanation: RuleExplanation, location: str) -> list[str]:
    # The rule's full path (the author is at the terminal), not the decision's bare file name.
    out = [f"why {explanation.rule} ({location}) {explanation.summary}:"]
    for condition in explanation.conditions:
        mark = "✓" if condition.passed else "✗"
        actual = "absent" if condition.actual is None else repr(condition.actual)
        out.append(f"  {mark} {condition.test}  (actual: {actual})  [{condition.path}]")
    return out


def _outranked(policies: PolicySet, expected: str, determining: str | None) -> str:
    if determining is None:
        return f"{expected} matched, yet the defaults decided (an engine bug)"
    want, won = policies.rule(expected), policies.rule(determining)
    if want.decision != won.decision:
        why = f"{won.decision.value} overrides {want.decision.value}"
    elif want.priority != won.priority:
        why = f"priority {won.priority} beats {want.priority}"
    else:
        why = f"equal priority {won.priority}, and {won.id!r} sorts first"
    return f"{expected} matched, but {determining} determined the decision: {why}"

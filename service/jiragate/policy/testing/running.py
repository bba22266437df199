"""Running cases against a policy set, comparing outcomes, and the rules' coverage."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from jiragate.errors import ActionError
from jiragate.policy.engine import Decision, PolicySet, load_policies
from jiragate.policy.testing.model import (
    UNSET,
    CaseResult,
    Coverage,
    Expectation,
    Mismatch,
    Outcome,
    PolicyCase,
    PolicySuite,
    PolicyTestRun,
    SuiteResult,
)
from jiragate.policy.testing.suites import load_suites, suite_files


def run_case(policies: PolicySet, case: PolicyCase) -> CaseResult:
    try:
        decision: Decision | None = policies.evaluate(
            case.envelope, agent=case.agent, usage=case.usage
        )
    except ActionError as exc:
        decision = None
        outcome = Outcome.from_error(exc)
    else:
        assert decision is not None
        outcome = Outcome.from_decision(decision)
    mismatches = compare(case.expect, outcome)
    if mismatches and decision is not None:
        decision = policies.evaluate(
            case.envelope, agent=case.agent, explain=True, usage=case.usage
        )
    return CaseResult(case, outcome, tuple(mismatches), decision, policies)


def compare(expect: Expectation, actual: Outcome) -> list[Mismatch]:
    """Every way the outcome differs from the expectation (empty when the case passes)."""
    if expect.error or actual.error:
        if expect.error == actual.error:
            return []
        return [Mismatch("outcome", expect.describe(), actual.describe())]
    out: list[Mismatch] = []
    if expect.decision != actual.decision:
        out.append(Mismatch("decision", expect.decision, actual.decision))
    if expect.review_group is not UNSET and expect.review_group != actual.review_group:
        out.append(Mismatch("review_group", expect.review_group, actual.review_group))
    if expect.rule is not UNSET and expect.rule != actual.rule:
        out.append(Mismatch("rule", expect.rule, actual.rule))
    wanted = expect.matched_rules
    if wanted is not None and set(wanted) != set(actual.matched_rules):
        out.append(Mismatch("matched_rules", list(wanted), list(actual.matched_rules)))
    if expect.reason is not None and expect.reason.lower() not in actual.reason.lower():
        out.append(Mismatch("reason", f"contains {expect.reason!r}", actual.reason))
    return out


def run_suite(
    policies: PolicySet, suite: PolicySuite, *, select: Callable[[str], bool] | None = None
) -> SuiteResult:
    cases = [case for case in suite.cases if select is None or select(case.name)]
    return SuiteResult(suite, tuple(run_case(policies, case) for case in cases))


def coverage_of(policies: PolicySet, results: Iterable[CaseResult]) -> Coverage:
    matched: dict[str, int] = {}
    determined: dict[str, int] = {}
    defaults = 0
    for result in results:
        outcome = result.outcome
        if outcome.error:
            continue
        for rule in outcome.matched_rules:
            matched[rule] = matched.get(rule, 0) + 1
        if outcome.rule is None:
            defaults += 1
        else:
            determined[outcome.rule] = determined.get(outcome.rule, 0) + 1
    return Coverage(tuple(rule.id for rule in policies.rules), matched, determined, defaults)


def run_policy_tests(
    policy_dir: str | Path,
    *,
    select: Callable[[str], bool] | None = None,
    files: Sequence[Path] | None = None,
) -> PolicyTestRun:
    """Load the policy set at `policy_dir` and run its test suites (or the given `files`).
    Raises PolicyLoadError for the policy set and PolicyTestLoadError for the test files."""
    policies = load_policies(policy_dir)
    suites = load_suites(suite_files(policy_dir) if files is None else files, policies)
    results = tuple(run_suite(policies, suite, select=select) for suite in suites)
    every = [result for suite in results for result in suite.results]
    return PolicyTestRun(policies, results, coverage_of(policies, every))

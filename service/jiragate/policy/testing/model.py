"""The policy-test model: suites, cases, expectations, outcomes, results, coverage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jiragate.catalog import schemas_dir
from jiragate.errors import ActionError
from jiragate.policy.engine import Decision, PolicySet

TEST_FILE_PATTERNS = ("*_test.yaml", "*_test.yml")
TESTS_DIR = "tests"
ERROR_CODES = ("unknown_action", "invalid_details", "invalid_action")


class _Unset:
    """An expectation key left out: not checked (distinct from an explicit null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not checked>"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


@cache
def policy_test_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (schemas_dir() / "policy-test.schema.json").read_text(encoding="utf-8")
    )
    return schema


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a case requires. UNSET fields are not checked; None means "must be none"."""

    decision: str | None = None
    error: str | None = None
    review_group: Any = UNSET  # str | None | UNSET
    rule: Any = UNSET  # str | None | UNSET
    matched_rules: tuple[str, ...] | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"error {self.error}"
        return _describe(self.decision, self.review_group, self.rule)


@dataclass(frozen=True, slots=True)
class PolicyCase:
    """One resolved case: the envelope to evaluate, the agent, and the expectation."""

    name: str
    envelope: Mapping[str, Any]
    agent: str | None
    expect: Expectation
    file: str
    line: int | None
    #: Units each budget has used already (by name), as if counted from recorded actions.
    usage: Mapping[str, int] = field(default_factory=dict)

    @property
    def location(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class PolicySuite:
    """One loaded `*_test.yaml` file."""

    name: str
    description: str
    file: str
    cases: tuple[PolicyCase, ...]

    @property
    def policy_dir(self) -> Path:
        """The policy set this suite tests: the directory that holds its `tests/` directory."""
        return Path(self.file).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Outcome:
    """What actually happened to a case's action: a decision, or a refusal."""

    decision: str | None
    review_group: str | None
    rule: str | None
    matched_rules: tuple[str, ...]
    reason: str
    error: str | None = None
    error_message: str | None = None

    @classmethod
    def from_decision(cls, decision: Decision) -> Outcome:
        return cls(
            decision=decision.decision.value,
            review_group=decision.review_group,
            rule=decision.determining_rule,
            matched_rules=decision.matched_rules,
            reason=decision.reason,
        )

    @classmethod
    def from_error(cls, error: ActionError) -> Outcome:
        return cls(None, None, None, (), "", error=error.code, error_message=str(error))

    def describe(self) -> str:
        if self.error:
            return f"error {self.error}"
        return _describe(self.decision, self.review_group, self.rule)


@dataclass(frozen=True, slots=True)
class Mismatch:
    field: str
    expected: Any
    actual: Any


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    outcome: Outcome
    mismatches: tuple[Mismatch, ...]
    # With explanations when the case failed, so a report can say why a rule did not match.
    decision: Decision | None = None
    policies: PolicySet | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True, slots=True)
class SuiteResult:
    suite: PolicySuite
    results: tuple[CaseResult, ...]

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.passed)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which rules the cases that ran matched and determined (refused actions count for none)."""

    rules: tuple[str, ...]
    matched: Mapping[str, int]
    determined: Mapping[str, int]
    defaults_decided: int

    @property
    def never_matched(self) -> tuple[str, ...]:
        return tuple(rule for rule in self.rules if not self.matched.get(rule))

    @property
    def never_determined(self) -> tuple[str, ...]:
        return tuple(rule for rule in self.rules if not self.determined.get(rule))

    @property
    def complete(self) -> bool:
        return not self.never_determined


@dataclass(frozen=True, slots=True)
class PolicyTestRun:
    """Every suite of one policy directory, run."""

    policies: PolicySet
    suites: tuple[SuiteResult, ...]
    coverage: Coverage

    @property
    def results(self) -> tuple[CaseResult, ...]:
        return tuple(result for suite in self.suites for result in suite.results)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)


def _describe(decision: str | None, group: Any, rule: Any) -> str:
    text = str(decision)
    if isinstance(group, str):
        text += f" → {group}"
    if rule is None:
        text += " (defaults)"
    elif isinstance(rule, str):
        text += f" by {rule}"
    return text

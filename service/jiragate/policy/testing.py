"""Policy tests: load `*_test.yaml` suites, run their cases against a policy set, and report
which rules no case exercised.

A suite lives in `<policy dir>/tests/<name>_test.yaml` and tests the policy set in
`<policy dir>`. Its format is described (for editors too) by `schemas/policy-test.schema.json`:
named fixtures (agents and action envelopes), then cases, each an action (a fixture name or an
inline envelope), an optional agent and patch, and an expectation; or a matrix of variations
of one action, each with its own expectation.

Loading is staged like the policy loader: YAML with line numbers → JSON Schema → fixtures and
matrices resolved → expectations checked against the policy set (a typo in a rule id is a load
error, not a puzzling failure). Every problem names `file:line path`. This module is a library:
`jiragate test` (commands.py) and the pytest plugin (pytest_plugin.py) both drive it.

    policies = load_policies("policies")
    suite = load_suite("policies/tests/default_test.yaml", policies)
    results = run_suite(policies, suite)
    print(format_failure(results.results[0]))
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from jiragate.catalog import schemas_dir
from jiragate.errors import ActionError, PolicyIssue, PolicyTestLoadError, YamlLimitError
from jiragate.policy.engine import Decision, PolicySet, load_policies
from jiragate.policy.explain import RuleExplanation
from jiragate.policy.model import Effect
from jiragate.policy.schema_messages import friendly, most_specific
from jiragate.policy.yamlsource import (
    DEFAULT_LIMITS,
    Lines,
    PathKey,
    describe_syntax_error,
    format_path,
    parse,
    read_limited,
    too_big,
)

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


# --------------------------------------------------------------------------- discovery


def suite_files(policy_dir: str | Path) -> list[Path]:
    """The test files of a policy directory: `<policy_dir>/tests/*_test.yaml`, sorted."""
    tests_dir = Path(policy_dir) / TESTS_DIR
    if not tests_dir.is_dir():
        return []
    found = {path for pattern in TEST_FILE_PATTERNS for path in tests_dir.glob(pattern)}
    return sorted(path for path in found if path.is_file())


def is_suite_file(path: Path) -> bool:
    return any(fnmatch.fnmatchcase(path.name, pattern) for pattern in TEST_FILE_PATTERNS)


def case_filter(pattern: str) -> Callable[[str], bool]:
    """Select case names by a glob (`*bulk*`) or, without glob characters, a substring.
    Both ignore case."""
    needle = pattern.lower()
    if any(char in pattern for char in "*?["):
        return lambda name: fnmatch.fnmatchcase(name.lower(), needle)
    return lambda name: needle in name.lower()


# --------------------------------------------------------------------------- loading


def load_suite(path: str | Path, policies: PolicySet | None = None) -> PolicySuite:
    """Load one test file. With `policies`, rule ids and review groups the expectations name
    are checked to exist. Raises PolicyTestLoadError listing every problem found."""
    name = str(path)
    try:
        # The same bounds as a policy file: a test file is YAML from the same authors.
        content = read_limited(Path(path), DEFAULT_LIMITS.max_file_bytes)
    except YamlLimitError as exc:
        raise PolicyTestLoadError([PolicyIssue(name, None, "", exc.message)]) from exc
    except OSError as exc:
        raise PolicyTestLoadError(
            [PolicyIssue(name, None, "", f"cannot read: {exc.strerror}")]
        ) from exc
    return load_suite_from_text(name, content, policies)


def load_suite_from_text(
    name: str, content: bytes | str, policies: PolicySet | None = None
) -> PolicySuite:
    builder = _SuiteBuilder(name, policies)
    suite = builder.build(content)
    if builder.issues or suite is None:
        raise PolicyTestLoadError(builder.issues)
    return suite


def load_suites(files: Iterable[Path], policies: PolicySet | None = None) -> list[PolicySuite]:
    """Load several test files, collecting every file's problems into one error."""
    suites: list[PolicySuite] = []
    issues: list[PolicyIssue] = []
    for path in files:
        try:
            suites.append(load_suite(path, policies))
        except PolicyTestLoadError as exc:
            issues.extend(exc.issues)
    if issues:
        raise PolicyTestLoadError(issues)
    return suites


class _SuiteBuilder:
    def __init__(self, name: str, policies: PolicySet | None) -> None:
        self.name = name
        self.policies = policies
        self.issues: list[PolicyIssue] = []
        self.lines = Lines()
        self.agents: dict[str, str] = {}
        self.actions: dict[str, dict[str, Any]] = {}

    def error(self, path: PathKey, message: str) -> None:
        self.issues.append(
            PolicyIssue(self.name, self.lines.line(path), format_path(path), message)
        )

    def build(self, content: bytes | str) -> PolicySuite | None:
        data = self._parse(content)
        if data is None or not self._structure_ok(data):
            return None
        fixtures = data.get("fixtures") or {}
        self.agents = dict(fixtures.get("agents") or {})
        self.actions = dict(fixtures.get("actions") or {})
        cases: list[PolicyCase] = []
        seen: dict[str, int | None] = {}
        for index, raw in enumerate(data["cases"]):
            for case, path in self._cases(index, raw):
                if case.name in seen:
                    self.error(
                        path,
                        f"duplicate case name {case.name!r} (first on line {seen[case.name]})",
                    )
                    continue
                seen[case.name] = case.line
                cases.append(case)
        return PolicySuite(
            name=data["name"],
            description=data.get("description", ""),
            file=self.name,
            cases=tuple(cases),
        )

    # ----------------------------------------------------------------- stages 1 and 2

    def _parse(self, content: bytes | str) -> Any:
        size = len(content.encode() if isinstance(content, str) else content)
        if size > DEFAULT_LIMITS.max_file_bytes:
            message = too_big(size, DEFAULT_LIMITS.max_file_bytes)
            self.issues.append(PolicyIssue(self.name, None, "", message))
            return None
        try:
            text = content.decode("utf-8") if isinstance(content, bytes) else content
        except UnicodeDecodeError as exc:
            self.issues.append(PolicyIssue(self.name, None, "", f"not UTF-8 text: {exc}"))
            return None
        try:
            data, self.lines, problems = parse(text, DEFAULT_LIMITS)
        except YamlLimitError as exc:
            self.issues.append(PolicyIssue(self.name, exc.line, "", exc.message))
            return None
        except yaml.YAMLError as exc:
            line, message = describe_syntax_error(exc, text)
            self.issues.append(PolicyIssue(self.name, line, "", message))
            return None
        for problem in problems:
            self.issues.append(
                PolicyIssue(self.name, problem.line, format_path(problem.path), problem.message)
            )
        if data is None:
            self.issues.append(PolicyIssue(self.name, None, "", "the test file is empty"))
        return data

    def _structure_ok(self, data: Any) -> bool:
        validator = jsonschema.Draft202012Validator(policy_test_schema())
        errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
        for error in errors:
            detail = most_specific(error)
            self.error(tuple(detail.absolute_path), friendly(detail))
        return not errors and not self.issues

    # ----------------------------------------------------------------- stage 3: cases

    def _cases(self, index: int, raw: Mapping[str, Any]) -> list[tuple[PolicyCase, PathKey]]:
        path: PathKey = ("cases", index)
        envelope = self._envelope(raw["action"], (*path, "action"))
        agent = self._agent(raw.get("agent"))
        usage = self._usage(raw.get("usage") or {}, (*path, "usage"))
        if envelope is not None and "patch" in raw:
            envelope = self._patched(envelope, raw["patch"], (*path, "patch"))
        if "matrix" not in raw:
            if "expect" not in raw:
                self.error(path, "a case needs `expect` (or `matrix` rows with their own)")
                return []
            expect = self._expectation(raw["expect"], (*path, "expect"))
            if envelope is None or expect is None:
                return []
            return [(self._case(raw["name"], envelope, agent, expect, path, usage), path)]
        cases = []
        for row_index, row in enumerate(raw["matrix"]):
            row_path: PathKey = (*path, "matrix", row_index)
            row_envelope = envelope
            if row_envelope is not None and "patch" in row:
                row_envelope = self._patched(row_envelope, row["patch"], (*row_path, "patch"))
            row_agent = self._agent(row["agent"]) if "agent" in row else agent
            merged = _merge_expectations(raw.get("expect") or {}, row.get("expect") or {})
            expect_path = (*row_path, "expect") if "expect" in row else (*path, "expect")
            if not merged:
                self.error(row_path, "this row has no `expect`, and its case gives none")
                continue
            expect = self._expectation(merged, expect_path)
            if row_envelope is None or expect is None:
                continue
            row_name = row.get("name") or _row_name(row, row_index)
            name = f"{raw['name']} / {row_name}"
            row_usage = {**usage, **self._usage(row.get("usage") or {}, (*row_path, "usage"))}
            case = self._case(name, row_envelope, row_agent, expect, row_path, row_usage)
            cases.append((case, row_path))
        return cases

    def _case(
        self,
        name: str,
        envelope: dict[str, Any],
        agent: str | None,
        expect: Expectation,
        path: PathKey,
        usage: Mapping[str, int] | None = None,
    ) -> PolicyCase:
        line = self.lines.line(path)
        return PolicyCase(name, envelope, agent, expect, self.name, line, dict(usage or {}))

    def _usage(self, raw: Mapping[str, int], path: PathKey) -> dict[str, int]:
        """A case's prior budget usage; a budget the policy set does not declare is an error
        (a typo would silently test an unused budget)."""
        if self.policies is not None:
            known = list(self.policies.budgets)
            for name in raw:
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = (
                        f"; did you mean {close[0]!r}?"
                        if close
                        else f" (budgets: {', '.join(known) or 'none'})"
                    )
                    self.error((*path, name), f"no budget {name!r} in the policy set{hint}")
        return dict(raw)

    def _envelope(self, raw: str | Mapping[str, Any], path: PathKey) -> dict[str, Any] | None:
        if isinstance(raw, Mapping):
            return copy.deepcopy(dict(raw))
        if raw not in self.actions:
            known = ", ".join(sorted(self.actions)) or "none defined"
            self.error(
                path,
                f"unknown action fixture {raw!r} (known: {known}); "
                "to write an envelope inline, give a mapping",
            )
            return None
        return copy.deepcopy(self.actions[raw])

    def _agent(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        return self.agents.get(raw, raw)

    def _patched(
        self, envelope: dict[str, Any], patch: Mapping[str, Any], path: PathKey
    ) -> dict[str, Any] | None:
        out = copy.deepcopy(envelope)
        for key in ("summary", "justification"):
            if key in patch:
                out[key] = patch[key]
        if "details" not in patch and "unset" not in patch:
            return out
        details = out.get("details", {})
        if not isinstance(details, Mapping):
            self.error(path, "the envelope's details are not a mapping, so they cannot be patched")
            return None
        details = {**details, **copy.deepcopy(patch.get("details") or {})}
        for index, key in enumerate(patch.get("unset") or ()):
            if key not in details:
                self.error(
                    (*path, "unset", index),
                    f"cannot unset {key!r}: the details have no such key "
                    f"(they have: {', '.join(sorted(details)) or 'none'})",
                )
                return None
            del details[key]
        out["details"] = details
        return out

    def _expectation(self, raw: Mapping[str, Any], path: PathKey) -> Expectation | None:
        has_decision, has_error = "decision" in raw, "error" in raw
        if has_decision == has_error:
            what = "both" if has_decision else "neither"
            self.error(path, f"give exactly one of `decision` or `error` (this gives {what})")
            return None
        if has_error:
            extra = sorted(set(raw) - {"error"})
            if extra:
                self.error(
                    path,
                    f"a refused action has no {', '.join(extra)}; expect only the `error`",
                )
                return None
        group = raw.get("review_group", UNSET)
        if has_decision and raw["decision"] != Effect.REQUIRE_APPROVAL and group:
            self.error(
                (*path, "review_group"),
                f"only require_approval routes to a review group, not {raw['decision']} "
                "(use null or leave it out)",
            )
            return None
        expect = Expectation(
            decision=raw.get("decision"),
            error=raw.get("error"),
            review_group=group,
            rule=raw.get("rule", UNSET),
            matched_rules=tuple(raw["matched_rules"]) if "matched_rules" in raw else None,
            reason=raw.get("reason"),
        )
        if self.policies is not None and not self._references_ok(expect, path):
            return None
        return expect

    def _references_ok(self, expect: Expectation, path: PathKey) -> bool:
        assert self.policies is not None
        rule_ids = [rule.id for rule in self.policies.rules]
        ok = True
        named: list[tuple[PathKey, str]] = []
        if isinstance(expect.rule, str):
            named.append(((*path, "rule"), expect.rule))
        for index, rule in enumerate(expect.matched_rules or ()):
            named.append(((*path, "matched_rules", index), rule))
        for where, rule in named:
            if rule not in rule_ids:
                self.error(where, f"no rule {rule!r} in the policy set{_suggest(rule, rule_ids)}")
                ok = False
        group = expect.review_group
        if isinstance(group, str) and group not in self.policies.groups:
            known = ", ".join(self.policies.groups) or "none"
            self.error((*path, "review_group"), f"unknown review group {group!r} (known: {known})")
            ok = False
        return ok


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (rules: {', '.join(known)})"


def _merge_expectations(case: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's keys override the case's; a row that expects an error replaces it whole."""
    if "error" in row:
        return dict(row)
    merged = {key: value for key, value in case.items() if key != "error"}
    merged.update(row)
    return merged


def _row_name(row: Mapping[str, Any], index: int) -> str:
    parts = []
    patch = row.get("patch") or {}
    for key, value in (patch.get("details") or {}).items():
        parts.append(f"{key}={json.dumps(value, separators=(',', ':'))}")
    parts.extend(f"-{key}" for key in patch.get("unset") or ())
    parts.extend(f"{key}=…" for key in ("summary", "justification") if key in patch)
    if "agent" in row:
        parts.append(f"agent={row['agent']}")
    return ", ".join(parts) or f"row {index + 1}"


# --------------------------------------------------------------------------- running


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


# --------------------------------------------------------------------------- reporting


def _describe(decision: str | None, group: Any, rule: Any) -> str:
    text = str(decision)
    if isinstance(group, str):
        text += f" → {group}"
    if rule is None:
        text += " (defaults)"
    elif isinstance(rule, str):
        text += f" by {rule}"
    return text


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


__all__ = [
    "UNSET",
    "CaseResult",
    "Coverage",
    "Expectation",
    "Mismatch",
    "Outcome",
    "PolicyCase",
    "PolicySuite",
    "PolicyTestRun",
    "SuiteResult",
    "case_filter",
    "compare",
    "coverage_of",
    "format_failure",
    "is_suite_file",
    "load_suite",
    "load_suite_from_text",
    "load_suites",
    "policy_test_schema",
    "run_case",
    "run_policy_tests",
    "run_suite",
]

"""Finding and loading `*_test.yaml` suites: YAML with line numbers, JSON Schema, fixtures
and matrices resolved, expectations checked against the policy set."""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from jiragate.errors import PolicyIssue, PolicyTestLoadError, YamlLimitError
from jiragate.policy.engine import PolicySet
from jiragate.policy.model import Effect
from jiragate.policy.schema_messages import friendly, most_specific
from jiragate.policy.testing.model import (
    TEST_FILE_PATTERNS,
    TESTS_DIR,
    UNSET,
    Expectation,
    PolicyCase,
    PolicySuite,
    policy_test_schema,
)
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

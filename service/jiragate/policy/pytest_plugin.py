"""The pytest plugin: plain `pytest` runs the policy tests, one test item per case.

Registered through the `pytest11` entry point in pyproject.toml, so installing jiragate is
enough. It collects every `*_test.yaml` (or `*_test.yml`) file that sits in a directory named
`tests` whose parent holds policy YAML, and tests it against that parent's policy set:

    policies/
      tickets.yaml ...            the policy set
      tests/routing_test.yaml     its tests -> items `routing_test.yaml::<case name>`

Other YAML files are never touched. A failing case reports what differed and why (which rule
determined the decision, and why the expected rule did not match), pointing at the case's
file:line. A policy set or test file that does not load is a collection error listing every
problem as `file:line path: message`.

For hand-written tests, the `jiragate_policies` fixture loads (and caches) a policy set:

    def test_seed_goes_to_leads(jiragate_policies):
        policies = jiragate_policies("policies")      # relative to the rootdir
        decision = policies.evaluate(
            {"action": "jira_create_tickets", "summary": "...", "details": {...}},
            agent="log-triage-bot",
        )
        assert decision.review_group == "engineering-leads"

which is the same as `jiragate.policy.engine.load_policies(path).evaluate(action)`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jiragate.policy.engine import PolicySet
    from jiragate.policy.testing import CaseResult, PolicyCase

_TEST_FILE_PATTERNS = ("*_test.yaml", "*_test.yml")
_POLICY_SUFFIXES = (".yaml", ".yml")

# Per run: loaded policy sets by directory, and every case result (for the coverage summary).
_POLICY_SETS = pytest.StashKey[dict[Path, Any]]()
_RESULTS = pytest.StashKey[dict[Path, list["CaseResult"]]]()


def is_policy_test_file(path: Path) -> bool:
    """`<dir with policy YAML>/tests/<name>_test.yaml`."""
    if not any(fnmatch.fnmatchcase(path.name, pattern) for pattern in _TEST_FILE_PATTERNS):
        return False
    tests_dir = path.parent
    if tests_dir.name != "tests":
        return False
    return any(
        child.suffix in _POLICY_SUFFIXES and child.is_file() for child in tests_dir.parent.iterdir()
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_POLICY_SETS] = {}
    config.stash[_RESULTS] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_policy_test_file(file_path):
        collector: pytest.Collector = PolicyTestFile.from_parent(parent, path=file_path)
        return collector
    return None


def _load_policy_set(config: pytest.Config, directory: Path) -> PolicySet:
    """Load each policy directory once per run; a load error is remembered and re-raised."""
    from jiragate.errors import PolicyLoadError
    from jiragate.policy.engine import load_policies

    cache = config.stash[_POLICY_SETS]
    key = directory.resolve()
    if key not in cache:
        try:
            cache[key] = load_policies(_relative_if_possible(key))
        except PolicyLoadError as exc:
            cache[key] = exc
    loaded = cache[key]
    if isinstance(loaded, PolicyLoadError):
        raise loaded
    policies: PolicySet = loaded
    return policies


def _relative_if_possible(path: Path) -> Path:
    # Messages then read `policies/tickets.yaml:16`, as an author would type the path.
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


class PolicyCaseFailed(Exception):
    """A case's outcome differed from its expectation."""

    def __init__(self, result: CaseResult) -> None:
        self.result = result
        super().__init__(result.case.name)


class PolicyTestFile(pytest.File):
    """One `*_test.yaml` file; its cases are the items."""

    def collect(self) -> Iterator[pytest.Item]:
        from jiragate.policy.testing import load_suite

        policies = _load_policy_set(self.config, self.path.parent.parent)
        suite = load_suite(self.path, policies)
        for case in suite.cases:
            yield PolicyCaseItem.from_parent(
                self, name=case.name.replace("::", ": :"), case=case, policies=policies
            )

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        from jiragate.errors import PolicyLoadError, PolicyTestLoadError

        error = excinfo.value
        if isinstance(error, PolicyLoadError):
            return "the policy set does not load:\n" + "\n".join(map(str, error.issues))
        if isinstance(error, PolicyTestLoadError):
            return "the test file does not load:\n" + "\n".join(map(str, error.issues))
        return super().repr_failure(excinfo)


class PolicyCaseItem(pytest.Item):
    """One case (or one matrix row) of a policy test file."""

    def __init__(self, *, case: PolicyCase, policies: PolicySet, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.policies = policies

    def runtest(self) -> None:
        from jiragate.policy.testing import run_case

        result = run_case(self.policies, self.case)
        directory = self.path.parent.parent.resolve()
        self.config.stash[_RESULTS].setdefault(directory, []).append(result)
        if not result.passed:
            raise PolicyCaseFailed(result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        from jiragate.policy.testing import format_failure

        if isinstance(excinfo.value, PolicyCaseFailed):
            return format_failure(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = None if self.case.line is None else self.case.line - 1  # pytest counts from 0
        return self.path, line, f"policy case: {self.case.name}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line per policy set tested: how many of its rules the cases that ran determined."""
    from jiragate.policy.testing import coverage_of

    results = config.stash.get(_RESULTS, {})
    for directory, case_results in results.items():
        policies = config.stash[_POLICY_SETS].get(directory)
        if policies is None or isinstance(policies, Exception):
            continue
        coverage = coverage_of(policies, case_results)
        total = len(coverage.rules)
        determined = total - len(coverage.never_determined)
        line = f"jiragate policies {directory}: {determined}/{total} rules determine a case"
        if coverage.never_determined:
            line += f"; not determined by any case run: {', '.join(coverage.never_determined)}"
        terminalreporter.write_line(line)


@pytest.fixture
def jiragate_policies(request: pytest.FixtureRequest) -> Callable[..., PolicySet]:
    """`jiragate_policies(path="policies")` loads a policy set (a directory or one YAML file);
    a relative path is taken from the rootdir. Each set is loaded once per test run."""

    def load(path: str | Path = "policies") -> PolicySet:
        resolved = Path(path)
        if not resolved.is_absolute():
            resolved = request.config.rootpath / resolved
        return _load_policy_set(request.config, resolved)

    return load

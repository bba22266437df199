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

from jiragate.policy.testing.model import (
    ERROR_CODES,
    TEST_FILE_PATTERNS,
    TESTS_DIR,
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
    policy_test_schema,
)
from jiragate.policy.testing.report import format_failure
from jiragate.policy.testing.running import (
    compare,
    coverage_of,
    run_case,
    run_policy_tests,
    run_suite,
)
from jiragate.policy.testing.suites import (
    case_filter,
    is_suite_file,
    load_suite,
    load_suite_from_text,
    load_suites,
    suite_files,
)

__all__ = [
    "ERROR_CODES",
    "TESTS_DIR",
    "TEST_FILE_PATTERNS",
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
    "suite_files",
]

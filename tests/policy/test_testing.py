"""The *_test.yaml runner as a library: loading (with file:line errors), running, coverage."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from jiragate.errors import PolicyTestLoadError
from jiragate.policy.engine import PolicySet, load_policies
from jiragate.policy.testing import (
    UNSET,
    case_filter,
    coverage_of,
    format_failure,
    load_suite_from_text,
    run_case,
    run_policy_tests,
    run_suite,
    suite_files,
)

REPO = Path(__file__).resolve().parents[2]

FIXTURES = """
name: sample
fixtures:
  agents: {bot: log-triage-bot}
  actions:
    bulk:
      action: jira_create_tickets
      summary: tickets from a log scan
      details: {projectKey: ENG, issueCount: 12, issueType: Bug, priority: High}
"""


@pytest.fixture(scope="module")
def default_policies() -> PolicySet:
    return load_policies(REPO / "policies")


def suite(text: str, policies: PolicySet | None = None, name: str = "x_test.yaml"):
    return load_suite_from_text(name, textwrap.dedent(text), policies)


def load_errors(text: str, policies: PolicySet | None = None) -> list[str]:
    with pytest.raises(PolicyTestLoadError) as caught:
        suite(text, policies)
    return [str(issue) for issue in caught.value.issues]


# --------------------------------------------------------------------------- the shipped tests


def test_the_default_policy_suites_pass_and_every_rule_determines_a_case():
    run = run_policy_tests(REPO / "policies")
    failures = [format_failure(r) for r in run.results if not r.passed]
    assert failures == []
    assert run.passed >= 50
    assert run.coverage.never_determined == ()
    assert run.coverage.defaults_decided >= 1  # an unmatched write is tested


def test_suite_files_finds_only_test_yaml(tmp_path: Path):
    (tmp_path / "tests").mkdir()
    for name in ("a_test.yaml", "b_test.yml", "notes.yaml", "c_test.json"):
        (tmp_path / "tests" / name).write_text("x: 1\n")
    assert [p.name for p in suite_files(tmp_path)] == ["a_test.yaml", "b_test.yml"]
    assert suite_files(tmp_path / "nowhere") == []


# --------------------------------------------------------------------------- loading


def test_fixtures_patch_and_agent_are_resolved():
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: patched
    action: bulk
    agent: bot
    patch: {details: {priority: Low}, unset: [issueType], summary: changed}
    expect: {decision: deny}
  - name: literal agent
    action: bulk
    agent: someone-else
    expect: {decision: deny}
"""
    )
    patched, literal = loaded.cases
    assert patched.agent == "log-triage-bot"
    assert patched.envelope["summary"] == "changed"
    assert patched.envelope["details"] == {"projectKey": "ENG", "issueCount": 12, "priority": "Low"}
    assert patched.line == 12
    assert literal.agent == "someone-else"
    # The fixture itself is untouched by the first case's patch.
    assert literal.envelope["details"]["priority"] == "High"
    assert patched.expect.rule is UNSET and patched.expect.review_group is UNSET


def test_matrix_rows_inherit_and_override_the_case():
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: volume
    action: bulk
    agent: bot
    expect: {decision: require_approval, review_group: engineering-leads}
    matrix:
      - patch: {details: {issueCount: 50}}
      - name: flood
        patch: {details: {issueCount: 51}}
        expect: {decision: deny, review_group: null}
      - agent: other
        expect: {error: invalid_details}
"""
    )
    first, flood, third = loaded.cases
    assert first.name == "volume / issueCount=50"
    assert first.expect.decision == "require_approval"
    assert first.expect.review_group == "engineering-leads"
    assert flood.name == "volume / flood"
    assert flood.expect.decision == "deny" and flood.expect.review_group is None
    assert flood.envelope["details"]["issueCount"] == 51
    assert third.name == "volume / agent=other" and third.agent == "other"
    # An error row replaces the whole expectation: a refused action has no group.
    assert third.expect.error == "invalid_details" and third.expect.decision is None


@pytest.mark.parametrize(
    ("cases", "message"),
    [
        (
            "  - {name: a, action: missing, expect: {decision: allow}}",
            "x_test.yaml:11 cases[0].action: unknown action fixture 'missing' (known: bulk)",
        ),
        (
            "  - {name: a, action: bulk, expect: {decision: maybe}}",
            "x_test.yaml:11 cases[0].expect.decision: 'maybe' is not one of",
        ),
        (
            "  - {name: a, action: bulk, expect: {decision: deny}, extra: 1}",
            "x_test.yaml:11 cases[0]: unknown key(s) 'extra'",
        ),
        (
            "  - {name: a, action: bulk}",
            "x_test.yaml:11 cases[0]: a case needs `expect`",
        ),
        (
            "  - {name: a, action: bulk, expect: {decision: deny, error: invalid_details}}",
            "cases[0].expect: give exactly one of `decision` or `error` (this gives both)",
        ),
        (
            "  - {name: a, action: bulk, expect: {error: invalid_details, rule: x}}",
            "cases[0].expect: a refused action has no rule",
        ),
        (
            "  - {name: a, action: bulk, patch: {unset: [nope]}, expect: {decision: deny}}",
            "cases[0].patch.unset[0]: cannot unset 'nope'",
        ),
        (
            "  - {name: a, action: bulk, expect: {decision: deny, review_group: leads}}",
            "cases[0].expect.review_group: only require_approval routes to a review group",
        ),
    ],
)
def test_load_errors_name_file_line_and_path(cases: str, message: str):
    errors = load_errors(FIXTURES + "cases:\n" + cases + "\n")
    assert any(message in error for error in errors), errors


def test_duplicate_case_names_are_refused_with_the_first_line():
    errors = load_errors(
        FIXTURES
        + """
cases:
  - {name: same, action: bulk, expect: {decision: deny}}
  - {name: same, action: bulk, expect: {decision: deny}}
"""
    )
    assert errors == ["x_test.yaml:13 cases[1]: duplicate case name 'same' (first on line 12)"]


def test_yaml_syntax_and_duplicate_keys_are_located():
    (syntax,) = load_errors("name: a\ncases: [\n")
    assert syntax.startswith("x_test.yaml:3 YAML syntax error:")
    errors = load_errors("name: a\nname: b\ncases: []\n")
    assert errors[0] == "x_test.yaml:2 name: duplicate key 'name' (first written on line 1)"


def test_expectations_are_checked_against_the_policy_set(default_policies: PolicySet):
    errors = load_errors(
        FIXTURES
        + """
cases:
  - name: typo
    action: bulk
    expect:
      decision: require_approval
      rule: high-priority-creaton
      review_group: leads
      matched_rules: [bulk-creation, nope]
""",
        default_policies,
    )
    assert errors == [
        "x_test.yaml:16 cases[0].expect.rule: no rule 'high-priority-creaton' in the policy "
        "set; did you mean 'high-priority-creation'?",
        "x_test.yaml:18 cases[0].expect.matched_rules[1]: no rule 'nope' in the policy set "
        "(rules: " + ", ".join(r.id for r in default_policies.rules) + ")",
        "x_test.yaml:17 cases[0].expect.review_group: unknown review group 'leads' "
        "(known: engineering-leads, project-managers)",
    ]


# --------------------------------------------------------------------------- running


def test_a_failing_case_explains_why_the_expected_rule_did_not_match(
    default_policies: PolicySet,
):
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: low bulk expected high
    action: bulk
    patch: {details: {priority: Low}}
    expect: {decision: require_approval, rule: high-priority-creation}
""",
        default_policies,
    )
    result = run_case(default_policies, loaded.cases[0])
    assert not result.passed
    assert [(m.field, m.expected, m.actual) for m in result.mismatches] == [
        ("rule", "high-priority-creation", "bulk-creation")
    ]
    text = format_failure(result)
    assert "low bulk expected high  (x_test.yaml:12)" in text
    assert "determined by bulk-creation (require_approval, priority 50)" in text
    assert "why high-priority-creation (policies/tickets.yaml:16)" in text.replace(
        str(REPO) + "/", ""
    )
    assert "✗ details.priority at_least 'High'  (actual: 'Low')" in text


def test_an_outranked_rule_is_explained(default_policies: PolicySet):
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: flood
    action: bulk
    patch: {details: {issueCount: 60}}
    expect: {decision: require_approval, rule: high-priority-creation}
""",
        default_policies,
    )
    result = run_case(default_policies, loaded.cases[0])
    assert {m.field for m in result.mismatches} == {"decision", "rule"}
    assert (
        "high-priority-creation matched, but deny-ticket-floods determined the decision: "
        "deny overrides require_approval" in format_failure(result)
    )


def test_refusals_are_outcomes_that_can_be_expected_or_reported(default_policies: PolicySet):
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: refused as expected
    action: bulk
    patch: {details: {priority: " "}}
    expect: {error: invalid_details}
  - name: refused unexpectedly
    action: bulk
    patch: {details: {priority: " "}}
    expect: {decision: require_approval}
  - name: not refused
    action: bulk
    expect: {error: invalid_details}
""",
        default_policies,
    )
    expected, unexpected, not_refused = run_suite(default_policies, loaded).results
    assert expected.passed
    assert not unexpected.passed
    assert "refused: invalid details for jira_create_tickets: /priority" in format_failure(
        unexpected
    )
    assert [(m.expected, m.actual) for m in not_refused.mismatches] == [
        ("error invalid_details", "require_approval → engineering-leads by high-priority-creation")
    ]


def test_reason_and_matched_rules_are_checked(default_policies: PolicySet):
    loaded = suite(
        FIXTURES
        + """
cases:
  - name: right
    action: bulk
    expect:
      decision: require_approval
      matched_rules: [bulk-creation, high-priority-creation]
      reason: HIGH-PRIORITY
  - name: wrong
    action: bulk
    expect: {decision: require_approval, matched_rules: [bulk-creation], reason: nope}
""",
        default_policies,
    )
    right, wrong = run_suite(default_policies, loaded).results
    assert right.passed
    assert [m.field for m in wrong.mismatches] == ["matched_rules", "reason"]


def test_coverage_lists_rules_no_case_matched_or_determined(default_policies: PolicySet):
    loaded = suite(
        FIXTURES
        + """
cases:
  - {name: seed, action: bulk, expect: {decision: require_approval}}
  - {name: refused, action: bulk, patch: {unset: [priority]}, expect: {error: invalid_details}}
""",
        default_policies,
    )
    coverage = coverage_of(default_policies, run_suite(default_policies, loaded).results)
    assert coverage.determined == {"high-priority-creation": 1}
    assert coverage.matched == {"high-priority-creation": 1, "bulk-creation": 1}
    assert "bulk-creation" in coverage.never_determined
    assert "bulk-creation" not in coverage.never_matched
    assert "transitions" in coverage.never_matched
    assert not coverage.complete


def test_case_filter_is_a_glob_or_a_substring():
    assert case_filter("*bulk*")("Bulk ticket volume")
    assert not case_filter("bulk*")("the bulk tickets")
    assert case_filter("BULK")("the bulk tickets")
    assert not case_filter("sprint")("the bulk tickets")


def test_run_policy_tests_on_a_copy_with_one_file(tmp_path: Path):
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target)
    run = run_policy_tests(target, files=[target / "tests" / "refusals_test.yaml"])
    assert len(run.suites) == 1
    assert run.failed == 0
    assert run.suites[0].suite.policy_dir == target.resolve()

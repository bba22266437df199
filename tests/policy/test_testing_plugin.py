"""The pytest plugin, run in a throwaway pytest session (pytester) over a tmp policy dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]

SUITE = """
name: plugin sample
fixtures:
  actions:
    bulk:
      action: jira_create_tickets
      summary: tickets from a log scan
      details: {projectKey: ENG, issueCount: 12, issueType: Bug, priority: High}
cases:
  - name: the seed goes to leads
    action: bulk
    expect: {decision: require_approval, review_group: engineering-leads}
  - name: volume
    action: bulk
    matrix:
      - patch: {details: {issueCount: 50, priority: Low}}
        expect: {decision: require_approval, rule: bulk-creation}
      - name: wrongly expected to pass
        patch: {details: {issueCount: 51}}
        expect: {decision: require_approval, rule: bulk-creation}
"""


@pytest.fixture
def policy_dir(pytester: pytest.Pytester) -> Path:
    target = pytester.path / "policies"
    shutil.copytree(REPO / "policies", target, ignore=shutil.ignore_patterns("tests"))
    (target / "tests").mkdir()
    return target


def test_cases_are_items_with_readable_failures(pytester: pytest.Pytester, policy_dir: Path):
    (policy_dir / "tests" / "sample_test.yaml").write_text(SUITE)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*sample_test.yaml::the seed goes to leads PASSED*",
            '*sample_test.yaml::volume / issueCount=50, priority="Low" PASSED*',
            "*sample_test.yaml::volume / wrongly expected to pass FAILED*",
            "*volume / wrongly expected to pass  (*sample_test.yaml:18)",
            "*decision  expected: require_approval",
            "*          actual:   deny",
            "*bulk-creation matched, but deny-ticket-floods determined the decision*",
            "jiragate policies *: 3/19 rules determine a case; not determined by any case run:*",
        ]
    )


def test_other_yaml_is_left_alone(pytester: pytest.Pytester, policy_dir: Path):
    (policy_dir / "tests" / "sample_test.yaml").write_text(SUITE)
    # A *_test.yaml outside a policy dir's tests/ and a non-test YAML in tests/ are not items.
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "tests").mkdir()
    (pytester.path / "config" / "tests" / "ci_test.yaml").write_text("steps: [1, 2]\n")
    (policy_dir / "tests" / "notes.yaml").write_text("not: a test\n")
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == 0
    collected = [line for line in result.outlines if "::" in line]
    assert len(collected) == 3
    assert all("sample_test.yaml::" in line for line in collected)


def test_load_errors_are_collection_errors_with_file_line(
    pytester: pytest.Pytester, policy_dir: Path
):
    (policy_dir / "tests" / "bad_test.yaml").write_text(
        "name: bad\ncases:\n  - name: a\n    action: nothing\n    expect: {decision: allow}\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "the test file does not load:",
            "*bad_test.yaml:4 cases?0?.action: unknown action fixture 'nothing'*",
        ]
    )


def test_a_broken_policy_set_is_a_collection_error(pytester: pytest.Pytester, policy_dir: Path):
    (policy_dir / "tests" / "sample_test.yaml").write_text(SUITE)
    (policy_dir / "broken.yaml").write_text("rules:\n  - id: x\n    decision: maybe\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["the policy set does not load:", "*broken.yaml:2 rules?0?:*"])


def test_the_jiragate_policies_fixture(pytester: pytest.Pytester, policy_dir: Path):
    pytester.makepyfile(
        test_hand_written="""
        def test_seed(jiragate_policies):
            policies = jiragate_policies("policies")
            decision = policies.evaluate(
                {
                    "action": "jira_create_tickets",
                    "summary": "12 bugs",
                    "details": {"projectKey": "ENG", "issueCount": 12,
                                "issueType": "Bug", "priority": "High"},
                },
                agent="log-triage-bot",
            )
            assert decision.review_group == "engineering-leads"
            assert jiragate_policies("policies") is policies  # loaded once per run
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "test_hand_written.py")
    result.assert_outcomes(passed=1)

"""`jiragate check`, `test` and `eval`, run for real through the CLI's `main`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jiragate.cli import main
from jiragate.examples import seed_envelope

REPO = Path(__file__).resolve().parents[2]

SEED = seed_envelope()

FAILING_SUITE = """
name: broken expectations
fixtures:
  actions:
    low_ticket:
      action: jira_create_ticket
      summary: a low ticket
      details: {projectKey: ENG, issueType: Bug, summary: x, priority: Low}
cases:
  - name: low ticket wrongly expected to go to leads
    action: low_ticket
    expect: {decision: require_approval, review_group: engineering-leads,
             rule: high-priority-creation}
  - name: reads are allowed
    action: {action: jira_get_issue, summary: read, details: {issueKey: ENG-1}}
    expect: {decision: allow, rule: allow-safe-reads}
"""


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """The default policy set (without its tests) in a directory of its own."""
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target, ignore=shutil.ignore_patterns("tests"))
    (target / "tests").mkdir()
    return target


def jiragate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- check


def test_check_the_default_policy(capsys):
    code, out, err = jiragate(capsys, "check", str(REPO / "policies"))
    assert code == 0, err
    assert out.startswith("ok: 19 rules, 2 groups, revision sha256:")
    assert "\x1b[" not in out  # not a terminal: no colour


def test_check_a_broken_policy_prints_file_line_path_message(capsys, policy_copy: Path):
    (policy_copy / "extra.yaml").write_text(
        textwrap.dedent(
            """
            rules:
              - id: typo
                match: {action: jira_create_tickets}
                decision: require_approval
                route_to: leads
            """
        )
    )
    code, out, err = jiragate(capsys, "check", str(policy_copy))
    assert code == 2
    assert out == ""
    assert (
        f"{policy_copy}/extra.yaml:6 rules[0].route_to: unknown review group 'leads' "
        "(known: engineering-leads, project-managers)"
    ) in err.splitlines()


def test_check_prints_lint_warnings_and_strict_fails(capsys, policy_copy: Path):
    (policy_copy / "extra.yaml").write_text(
        textwrap.dedent(
            """
            review_groups:
              nobody:
                description: A group no rule routes to.
            """
        )
    )
    code, out, _ = jiragate(capsys, "check", str(policy_copy))
    assert code == 0
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: {policy_copy}/extra.yaml:")
    assert warnings[0].endswith("[unused-group]")
    code, _, err = jiragate(capsys, "check", "--strict", str(policy_copy))
    assert code == 1
    assert "--strict" in err


# --------------------------------------------------------------------------- test


def test_test_the_default_policy_passes_with_full_coverage(capsys):
    code, out, err = jiragate(capsys, "test", "-v", str(REPO / "policies"))
    assert code == 0, out + err
    lines = out.splitlines()
    assert any(line.endswith("routing_test.yaml — Default policy routing") for line in lines)
    assert any(line.split()[:1] == ["PASS"] and "the seed's 12 High bugs" in line for line in lines)
    assert "coverage: 19/19 rules determine a case" in lines
    assert re.match(r"\d+ passed, 0 failed \(4 files, policy revision sha256:", lines[-1])


def test_test_failures_exit_1_with_a_table_and_a_diff(capsys, policy_copy: Path):
    (policy_copy / "tests" / "broken_test.yaml").write_text(FAILING_SUITE)
    code, out, _ = jiragate(capsys, "test", "--verbose", str(policy_copy))
    assert code == 1
    table = [line.split("  ") for line in out.splitlines() if line.startswith("  FAIL  ")]
    assert len(table) == 1
    row = [cell.strip() for cell in table[0] if cell.strip()]
    assert row == [
        "FAIL",
        "low ticket wrongly expected to go to leads",
        "require_approval → engineering-leads by high-priority-creation",
        "require_approval → project-managers (defaults)",
    ]
    diff = out[out.index("1 FAILED") :]
    assert "broken_test.yaml:10)" in diff
    assert "review_group  expected: engineering-leads" in diff
    assert "              actual:   project-managers" in diff
    assert "rule          expected: high-priority-creation" in diff
    assert "actual:   none (the defaults decided)" in diff
    assert "why high-priority-creation" in diff
    assert "✗ details.priority at_least 'High'  (actual: 'Low')" in diff
    assert out.splitlines()[-1].startswith("1 passed, 1 failed (1 file,")


def test_test_coverage_lists_rules_no_case_exercises(capsys, policy_copy: Path):
    (policy_copy / "tests" / "broken_test.yaml").write_text(FAILING_SUITE)
    _, out, _ = jiragate(capsys, "test", "--filter", "reads", str(policy_copy))
    assert "coverage: 1/19 rules determine a case (of the selected cases)" in out
    (unmatched,) = [line for line in out.splitlines() if "rules no case matched:" in line]
    assert "high-priority-creation" in unmatched and "allow-safe-reads" not in unmatched


def test_test_filter_selects_by_substring_or_glob(capsys, policy_copy: Path):
    (policy_copy / "tests" / "broken_test.yaml").write_text(FAILING_SUITE)
    code, out, _ = jiragate(capsys, "test", "-k", "READS", str(policy_copy))
    assert code == 0
    assert out.splitlines()[-1].startswith("1 passed, 0 failed")
    code, out, _ = jiragate(capsys, "test", "--filter", "low*leads", str(policy_copy))
    assert code == 1
    assert out.splitlines()[-1].startswith("0 passed, 1 failed")


def test_test_a_single_file_and_require_coverage(capsys, policy_copy: Path):
    path = policy_copy / "tests" / "reads_test.yaml"
    path.write_text(
        "name: reads\ncases:\n  - name: read\n    action: {action: jira_get_issue, summary: r, "
        "details: {issueKey: ENG-1}}\n    expect: {decision: allow}\n"
    )
    code, out, _ = jiragate(capsys, "test", str(path))
    assert code == 0
    assert out.splitlines()[-1].startswith("1 passed, 0 failed (1 file,")
    code, _, err = jiragate(capsys, "test", "--require-coverage", "-q", str(path))
    assert code == 1
    assert "--require-coverage" in err


def test_test_exit_2_when_the_policy_set_does_not_load(capsys, policy_copy: Path):
    (policy_copy / "tests" / "ok_test.yaml").write_text(FAILING_SUITE)
    (policy_copy / "bad.yaml").write_text("rules:\n  - id: x\n    decision: maybe\n")
    code, out, err = jiragate(capsys, "test", str(policy_copy))
    assert code == 2
    assert out == ""
    assert f"{policy_copy}/bad.yaml:2 rules[0]:" in err


def test_test_exit_3_when_a_test_file_does_not_load(capsys, policy_copy: Path):
    (policy_copy / "tests" / "bad_test.yaml").write_text(
        "name: bad\ncases:\n  - name: a\n    action: nothing\n    expect: {decision: allow}\n"
    )
    code, out, err = jiragate(capsys, "test", str(policy_copy))
    assert code == 3
    assert out == ""
    assert (
        f"{policy_copy}/tests/bad_test.yaml:4 cases[0].action: unknown action fixture "
        "'nothing' (known: none defined)"
    ) in err


def test_test_exit_4_when_no_tests_are_found(capsys, policy_copy: Path):
    code, _, err = jiragate(capsys, "test", str(policy_copy))
    assert code == 4
    assert "no tests found" in err
    (policy_copy / "tests" / "ok_test.yaml").write_text(FAILING_SUITE)
    code, _, err = jiragate(capsys, "test", "--filter", "no such case", str(policy_copy))
    assert code == 4
    assert "no case name matches 'no such case'" in err


def test_test_defaults_to_the_policies_directory_of_the_working_directory(
    capsys, policy_copy: Path, monkeypatch: pytest.MonkeyPatch
):
    (policy_copy / "tests" / "ok_test.yaml").write_text(FAILING_SUITE)
    monkeypatch.chdir(policy_copy.parent)
    code, out, _ = jiragate(capsys, "test", "-q")
    assert code == 1
    assert "tests/ok_test.yaml:10)" in out


# --------------------------------------------------------------------------- eval


def test_eval_prints_the_decision_as_json(capsys, tmp_path: Path):
    action = tmp_path / "seed.json"
    action.write_text(json.dumps(SEED))
    code, out, err = jiragate(
        capsys, "eval", str(action), "--policies", str(REPO / "policies"), "--agent", "bot"
    )
    assert code == 0, err
    decision = json.loads(out)
    assert decision["decision"] == "require_approval"
    assert decision["review_group"] == "engineering-leads"
    assert decision["determining_rule"] == "high-priority-creation"
    assert decision["agent"] == "bot"
    assert "explanations" not in decision


def test_eval_explain_and_a_deny_still_exit_0(capsys, tmp_path: Path):
    flood = {**SEED, "details": {**SEED["details"], "issueCount": 51}}
    action = tmp_path / "flood.json"
    action.write_text(json.dumps(flood))
    code, out, _ = jiragate(
        capsys, "eval", str(action), "--explain", "--policies", str(REPO / "policies")
    )
    assert code == 0
    decision = json.loads(out[out.index("\n{") :])  # the JSON follows the summary
    assert decision["decision"] == "deny"
    explained = {e["rule"]: e for e in decision["explanations"]}
    assert explained["deny-ticket-floods"]["matched"] is True
    assert explained["transitions"]["matched"] is False


def test_eval_refuses_invalid_actions_with_json_on_stderr(capsys, tmp_path: Path):
    action = tmp_path / "bad.json"
    action.write_text(json.dumps({**SEED, "details": {**SEED["details"], "priority": " Urgent"}}))
    code, out, err = jiragate(capsys, "eval", str(action), "--policies", str(REPO / "policies"))
    assert code == 3
    assert out == ""
    refusal = json.loads(err)
    assert refusal["error"] == "invalid_details"
    assert refusal["violations"][0]["pointer"] == "/priority"


def test_eval_unreadable_or_malformed_input_exits_3(capsys, tmp_path: Path):
    code, _, err = jiragate(capsys, "eval", str(tmp_path / "missing.json"))
    assert code == 3
    assert json.loads(err)["error"] == "unreadable"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = jiragate(capsys, "eval", str(broken))
    assert code == 3
    assert json.loads(err)["message"].startswith(f"{broken}:1:2: not valid JSON")


def test_eval_exit_2_when_the_policy_set_does_not_load(capsys, tmp_path: Path):
    action = tmp_path / "seed.json"
    action.write_text(json.dumps(SEED))
    code, _, err = jiragate(capsys, "eval", str(action), "--policies", str(tmp_path / "none"))
    assert code == 2
    assert "no such policy file or directory" in err


def test_eval_reads_stdin_in_a_real_process(tmp_path: Path):
    env = {**os.environ, "NO_COLOR": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "eval", "-", "--policies", str(REPO / "policies")],
        input=json.dumps(
            {
                "action": "jira_search",
                "summary": "find",
                "details": {"jql": "assignee = currentUser()"},
            }
        ),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["decision"] == "allow"


# --------------------------------------------------------------------------- authoring messages
# Real `jiragate` processes, as a policy author runs them.


def run_jiragate(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jiragate.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )


def check_with(policy_copy: Path, extra: str) -> subprocess.CompletedProcess[str]:
    (policy_copy / "extra.yaml").write_text(extra, encoding="utf-8")
    return run_jiragate("check", str(policy_copy))


GATED_RULE = """\
rules:
  - id: gate-urgent
    match:
      action: jira_create_ticket
      details.priority: {CONDITION}
    decision: require_approval
    route_to: engineering-leads
"""


def test_check_names_an_unknown_operator_and_lists_the_valid_ones(policy_copy: Path):
    completed = check_with(policy_copy, GATED_RULE.replace("{CONDITION}", "{at_leest: High}"))
    assert completed.returncode == 2, completed.stderr
    (line,) = [line for line in completed.stderr.splitlines() if "extra.yaml" in line]
    assert line == (
        f"{policy_copy}/extra.yaml:5 rules[0].match.details.priority: unknown operator "
        "'at_leest' (did you mean 'at_least'?); operators: at_least, at_most, between, "
        "contains, eq, exists, glob, gt, gte, in, lt, lte, matches, ne, not_in"
    )
    assert "is not of type" not in completed.stderr


def test_check_says_what_an_operator_takes(policy_copy: Path):
    completed = check_with(policy_copy, GATED_RULE.replace("{CONDITION}", "{in: High}"))
    assert completed.returncode == 2
    assert (
        "rules[0].match.details.priority.in: 'in' takes a list, e.g. {in: [High, Highest]}; "
        "got 'High'"
    ) in completed.stderr
    assert "is not of type" not in completed.stderr


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        pytest.param(
            "rules:\n  - id: x\n\tmatch: {action: jira_get_issue}\n",
            3,
            "Hint: indent with spaces: YAML does not allow tabs in indentation",
            id="tab",
        ),
        pytest.param(
            "rules:\n  - id: x\n    reason: Note: reads are fine\n    decision: allow\n",
            3,
            'Hint: a value that contains ": " must be quoted: reason: "Note: reads are fine"',
            id="unquoted-colon",
        ),
        pytest.param(
            "rules:\n  - id: x\n    decision: allow\n      match: {action: jira_get_issue}\n",
            4,
            "Hint: this line is indented deeper than the key above it",
            id="indented-too-deep",
        ),
        pytest.param(
            "rules:\n  - id: x\n    decision: allow\n  match: {action: jira_get_issue}\n",
            4,
            "Hint: check the indentation: keys of one mapping must start in the same column",
            id="indented-too-little",
        ),
        pytest.param(
            'rules:\n  - id: x\n    reason: "never closed\n    decision: allow\n',
            3,
            "Hint: a quoted string is not closed",
            id="unclosed-quote",
        ),
        pytest.param(
            "rules:\n  - id: x\n    decision allow\n    match: {}\n",
            3,
            "Hint: write each key as 'key: value'",
            id="missing-colon",
        ),
    ],
)
def test_check_yaml_syntax_errors_come_with_a_hint(
    policy_copy: Path, text: str, line: int, hint: str
):
    completed = check_with(policy_copy, text)
    assert completed.returncode == 2
    (reported,) = [r for r in completed.stderr.splitlines() if "extra.yaml" in r]
    assert reported.startswith(f"{policy_copy}/extra.yaml:{line} YAML syntax error: "), reported
    assert hint in reported


def test_a_policy_test_file_syntax_error_comes_with_a_hint_too(policy_copy: Path):
    (policy_copy / "tests" / "bad_test.yaml").write_text(
        "name: x\ncases:\n  - name: Note: unquoted\n", encoding="utf-8"
    )
    completed = run_jiragate("test", str(policy_copy))
    assert completed.returncode == 3
    assert "bad_test.yaml:3 YAML syntax error: mapping values" in completed.stderr
    assert 'Hint: a value that contains ": " must be quoted: - name: "Note: unquoted"' in (
        completed.stderr
    )


def test_check_shadowed_rule_warning_says_how_to_fix(policy_copy: Path):
    completed = check_with(
        policy_copy,
        textwrap.dedent(
            """\
            rules:
              - {id: deny-epics, match: {action: jira_create_epic}, decision: deny}
              - id: gate-big-epics
                match: {action: jira_create_epic, details.projectKey: ENG}
                decision: require_approval
                route_to: project-managers
            """
        ),
    )
    assert completed.returncode == 0, completed.stderr
    (warning,) = [w for w in completed.stdout.splitlines() if "[shadowed-rule]" in w]
    assert "rule 'gate-big-epics' (require_approval) can never decide" in warning
    assert "(deny outranks require_approval whatever the priority)" in warning
    assert "Fix: delete 'gate-big-epics' if 'deny-epics' already says it, or narrow" in warning
    assert "add `not:` with 'gate-big-epics''s conditions" in warning


def test_test_prints_failures_and_a_summary_and_v_lists_every_case(policy_copy: Path):
    (policy_copy / "tests" / "broken_test.yaml").write_text(FAILING_SUITE)
    quiet = run_jiragate("test", str(policy_copy))
    assert quiet.returncode == 1
    lines = quiet.stdout.splitlines()
    assert not any(line.startswith("  PASS  ") for line in lines)  # no passing case listed
    assert not any(line.startswith("  FAIL  ") for line in lines)  # nor the table
    assert lines[0] == "1 FAILED"
    assert "low ticket wrongly expected to go to leads" in quiet.stdout
    assert "reads are allowed" not in quiet.stdout
    assert lines[-1].startswith("1 passed, 1 failed (1 file,")
    verbose = run_jiragate("test", "-v", str(policy_copy))
    assert verbose.returncode == 1
    listed = verbose.stdout.splitlines()
    assert any(line.startswith("  PASS  reads are allowed") for line in listed)
    assert any(line.startswith("  FAIL  low ticket wrongly") for line in listed)
    assert listed[-1] == lines[-1]


def test_eval_explain_starts_with_a_short_summary(tmp_path: Path):
    action = tmp_path / "seed.json"
    action.write_text(json.dumps(SEED))
    completed = run_jiragate("eval", str(action), "--explain", "--policies", str(REPO / "policies"))
    assert completed.returncode == 0, completed.stderr
    summary, _, rest = completed.stdout.partition("\n\n")
    assert summary.splitlines() == [
        "decision: require_approval → engineering-leads (jira_create_tickets, write)",
        "deciding rule: high-priority-creation (tickets.yaml:16)",
        "reason: High-priority ticket creation needs an engineering lead.",
        "matched rules: high-priority-creation, bulk-creation "
        "(1 outranked by high-priority-creation)",
        "budget tickets-per-agent-hour: 0 of 50 used in the last 1h, this action needs 12",
    ]
    decision = json.loads(rest)
    assert decision["determining_rule"] == "high-priority-creation"
    assert {e["rule"] for e in decision["explanations"]} >= {"bulk-creation"}
    plain = run_jiragate("eval", str(action), "--policies", str(REPO / "policies"))
    assert json.loads(plain.stdout)["decision"] == "require_approval"  # JSON alone

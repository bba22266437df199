"""`matches` runs on RE2: linear in the input whatever the pattern, so no policy author's
regular expression can hold the event loop; what RE2 cannot run (backreferences, lookaround)
is refused at load time with file:line and the reason; and on the patterns both engines take,
the answers are Python's `re` answers, except that `$` is only ever the end of the text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.errors import PolicyLoadError
from jiragate.policy.engine import load_policies
from jiragate.policy.operators import MAX_PATTERN_CHARS, OPERATORS, ArgumentError
from tests.policy.conftest import GROUPS

SERVICE = str(Path(__file__).resolve().parents[2] / "service")
CATASTROPHIC = ["^(a+)+$", "(a|a)*b", "(a*)*b", "^(a|aa)+$", "(.*a){12}x", "(a+)+(b+)+c"]

# A child evaluates actions whose description is 10,000 characters against every pattern. A
# backtracking engine needs 2**10,000 steps for the first one; RE2 needs a pass per pattern.
CHILD = """
import json, sys
from jiragate.policy.engine import load_policies
policies = load_policies(sys.argv[1])
results = []
for text in ("a" * 10_000 + "!", "a" * 10_000, "ab" * 5_000):
    action = {
        "action": "jira_create_ticket",
        "summary": "a long one",
        "details": {"projectKey": "ENG", "issueType": "Task", "summary": "s",
                    "description": text},
    }
    for explain in (False, True):
        decision = policies.evaluate(action, agent="bot", explain=explain)
        results.append(sorted(decision.matched_rules))
print(json.dumps(results))
"""


def _rules(patterns: list[str], glob: str) -> str:
    rules = [
        {
            "id": f"re-{index}",
            "match": {"action": "jira_create_ticket", "details.description": {"matches": p}},
            "decision": "deny",
        }
        for index, p in enumerate(patterns)
    ]
    rules.append(
        {
            "id": "many-stars",
            "match": {"action": "jira_create_ticket", "details.description": {"glob": glob}},
            "decision": "deny",
        }
    )
    return json.dumps({"rules": rules})  # JSON is YAML


def test_catastrophic_patterns_run_in_linear_time_on_10000_characters(tmp_path: Path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "groups.yaml").write_text(textwrap.dedent(GROUPS), encoding="utf-8")
    glob = "*a" * 40 + "*b"
    (policy_dir / "rules.yaml").write_text(_rules(CATASTROPHIC, glob), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(policy_dir)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard only: backtracking would not finish this century
        env={**os.environ, "PYTHONPATH": SERVICE},
        check=True,
    )
    results = json.loads(done.stdout)
    only_a, ab = ["re-0", "re-3"], ["many-stars", "re-1", "re-2"]
    assert results == [[], [], only_a, only_a, ab, ab], results


def _issues(write_policies, pattern: str, operator: str = "matches") -> list[str]:
    rules = f"""
    rules:
      - id: r
        match:
          action: jira_create_ticket
          details.summary: {{{operator}: {json.dumps(pattern)}}}
        decision: deny
    """
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(write_policies(groups=GROUPS, rules=rules))
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(ENG)-\1", "backreferences are not supported"),
        (r"(?P<p>ENG)(?P=p)", "backreferences are not supported"),
        (r"ENG(?=-1)", "lookahead is not supported"),
        (r"ENG(?!-1)", "lookahead is not supported"),
        (r"(?<=x)ENG", "lookbehind is not supported"),
        (r"(?<!x)ENG", "lookbehind is not supported"),
        (r"(?>a+)b", "atomic groups are not needed: RE2 never backtracks"),
        (r"a++b", "possessive quantifiers are not needed: RE2 never backtracks"),
        (r"ENG\Z", r"write \z for the very end of the text"),
        (r"\pL{1000}", "its compiled form needs more than 2 MiB; simplify it"),
        ("(unclosed", "missing ): (unclosed"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_file_line_and_why(write_policies, pattern, why):
    (issue,) = _issues(write_policies, pattern)
    assert (
        ".yaml:6 rules[0].match.details.summary.matches: matches is not a valid regular " in issue
    )
    assert "regular expression (RE2 syntax): " in issue and why in issue, issue


@pytest.mark.parametrize("operator", ["matches", "glob"])
def test_patterns_are_bounded_in_length(write_policies, operator):
    (issue,) = _issues(write_policies, "x" * (MAX_PATTERN_CHARS + 1), operator)
    assert (
        f".yaml:6 rules[0].match.details.summary.{operator}: {operator} pattern is 1,001 " in issue
    )
    assert issue.endswith("characters long; the limit is 1,000"), issue
    with pytest.raises(ArgumentError, match="the limit is 1,000"):
        OPERATORS[operator].prepare("x" * (MAX_PATTERN_CHARS + 1))


def test_dollar_is_the_end_of_the_text_never_before_a_trailing_newline():
    prepared = OPERATORS["matches"].prepare("^ENG-1$")
    assert OPERATORS["matches"].test("ENG-1", prepared)
    assert not OPERATORS["matches"].test("ENG-1\n", prepared)  # `re` would say it matches
    assert re.search("^ENG-1$", "ENG-1\n") is not None
    multiline = OPERATORS["matches"].prepare("(?m)^ENG-1$")
    assert OPERATORS["matches"].test("x\nENG-1\ny", multiline)  # (?m): per line, as asked


def test_matches_on_the_action_narrows_the_rule_at_load_time(write_policies):
    policies = load_policies(
        write_policies(
            groups=GROUPS,
            rules="""
            rules:
              - id: creates
                match:
                  action: {matches: "^jira_create_ticket$"}
                  details.summary: {matches: "(?i)drop table"}
                decision: deny
            """,
        )
    )
    action = {
        "action": "jira_create_ticket",
        "summary": "s",
        "details": {"projectKey": "ENG", "issueType": "Task", "summary": "please DROP TABLE x"},
    }
    assert policies.evaluate(action, agent="bot").determining_rule == "creates"


# --------------------------------------------------------------------------- same answers as re

_CHARS = st.sampled_from(["a", "b", "1", "-", ".", "\\.", "[ab]", "[^a]", "\\d", "\\w", "\\s"])


@st.composite
def _regex(draw: st.DrawFn, depth: int = 0) -> tuple[str, str]:
    """A random pattern both engines take, as (RE2 text, Python text): the same, except
    that `$` (RE2: the end of the text) is written `\\Z` for Python."""
    kind = draw(st.sampled_from(["char", "seq", "alt", "group", "repeat", "anchor"]))
    if depth > 3 or kind == "char":
        char = draw(_CHARS)
        return char, char
    if kind == "anchor":
        return draw(st.sampled_from([("^", "^"), ("$", "\\Z"), ("\\b", "\\b")]))
    if kind in ("seq", "alt"):
        parts = draw(st.lists(_regex(depth + 1), min_size=1, max_size=3))
        glue = "|" if kind == "alt" else ""
        return glue.join(p for p, _ in parts), glue.join(q for _, q in parts)
    inner, python = draw(_regex(depth + 1))
    if kind == "group":
        opener = draw(st.sampled_from(["(", "(?:", "(?i:"]))
        return f"{opener}{inner})", f"{opener}{python})"
    quantifier = draw(st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "*?", "+?", "??"]))
    return f"(?:{inner}){quantifier}", f"(?:{python}){quantifier}"


@settings(max_examples=200, deadline=None)
@given(_regex(), st.lists(st.text("ab1-. \nA", max_size=12), min_size=1, max_size=5))
def test_matches_gives_what_python_re_gives_on_patterns_both_take(
    pattern: tuple[str, str], values: list[str]
):
    re2_text, python_text = pattern
    prepared = OPERATORS["matches"].prepare(re2_text)
    expected = re.compile(python_text, re.ASCII)  # RE2's \d \w \s \b are ASCII
    for value in values:
        assert OPERATORS["matches"].test(value, prepared) == (expected.search(value) is not None), (
            re2_text,
            value,
        )

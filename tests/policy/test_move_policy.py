"""`jira_move_issue` and the policies: routing, and the attacks on project scope.

A move writes to two projects: its `project` fact is the source (the project of `issueKey`),
`details.targetProjectKey` the target. Agents are kept to projects by rules on `project`
(e.g. `project: OPS` -> deny, or `agent: X` + `not: {project: {in: [...]}}` -> deny), so the
engine decides a move once for each project and keeps the strictest decision: an agent must be
in scope for BOTH. Each test below is an agent (or a reviewer) trying to get around that.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jiragate.catalog import narrowed_details, parse_envelope, project_of
from jiragate.errors import EditRefusedError, InvalidDetailsError
from jiragate.policy.engine import PolicySet, load_policies
from jiragate.policy.model import Effect

SCOPE = """
rules:
  - id: deny-ops
    match:
      project: OPS
    decision: deny
    reason: Nothing is written to OPS by an agent.

  - id: bot-stays-in-eng-and-data
    match:
      agent: log-triage-bot
      not: {project: {in: [ENG, DATA]}}
    decision: deny
    reason: log-triage-bot may only change ENG and DATA.

  - id: bot-may-touch-eng
    description: An allow written with the source project in mind.
    match:
      agent: log-triage-bot
      project: ENG
    decision: allow
    priority: 500
"""


def move(issue: str, target: str, **more: Any) -> dict[str, Any]:
    return {
        "action": "jira_move_issue",
        "summary": f"move {issue} to {target}",
        "details": {"issueKey": issue, "targetProjectKey": target, **more},
    }


@pytest.fixture(scope="module")
def shipped(default_policy_dir: Path) -> PolicySet:
    return load_policies(default_policy_dir)


@pytest.fixture(scope="module")
def scoped(default_policy_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    """The shipped set plus the scope rules above."""
    directory = tmp_path_factory.mktemp("move-scope") / "policies"
    shutil.copytree(default_policy_dir, directory, ignore=shutil.ignore_patterns("tests"))
    (directory / "scope.yaml").write_text(SCOPE, encoding="utf-8")
    return load_policies(directory)


@pytest.fixture(scope="session")
def default_policy_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "policies"


# --------------------------------------------------------------------------- facts, routing


def test_the_project_fact_is_the_source_and_the_target_is_a_detail() -> None:
    request = parse_envelope(move("ENG-7", "OPS"))
    assert project_of(request.details) == "ENG"
    assert request.details["targetProjectKey"] == "OPS"
    assert request.spec.projects_besides(request.details) == ("OPS",)


@pytest.mark.parametrize(
    ("issue", "target"), [("ENG-7", "OPS"), ("OPS-1", "ENG"), ("DATA-3", "X1")]
)
def test_every_shipped_move_goes_to_project_managers(
    shipped: PolicySet, issue: str, target: str
) -> None:
    decision = shipped.evaluate(move(issue, target), agent="ide-assistant")
    assert decision.decision is Effect.REQUIRE_APPROVAL
    assert (decision.determining_rule, decision.review_group) == (
        "moves-out-of-a-project",
        "project-managers",
    )


def test_a_rule_can_match_the_target_by_name(tmp_path: Path, default_policy_dir: Path) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(default_policy_dir, directory, ignore=shutil.ignore_patterns("tests"))
    (directory / "target.yaml").write_text(
        "rules:\n  - id: no-moves-into-ops\n    match:\n      action: jira_move_issue\n"
        "      details.targetProjectKey: OPS\n    decision: deny\n",
        encoding="utf-8",
    )
    policies = load_policies(directory)
    assert policies.evaluate(move("ENG-1", "OPS")).denied
    assert not policies.evaluate(move("ENG-1", "DATA")).denied


# --------------------------------------------------------------------------- scope attacks


def test_moving_an_issue_into_a_project_the_agent_cannot_touch_is_denied(
    scoped: PolicySet,
) -> None:
    for agent in ("log-triage-bot", "ide-assistant"):
        decision = scoped.evaluate(move("ENG-7", "OPS"), agent=agent, explain=True)
        assert decision.denied, agent
        assert "deny-ops" in decision.matched_rules
        if agent == "ide-assistant":
            assert decision.determining_rule == "deny-ops"
        # Explained with the facts it matched on: project OPS, the target.
        (explained,) = [e for e in decision.explanations or () if e.rule == "deny-ops"]
        assert explained.matched and explained.conditions[0].actual == "OPS"


def test_moving_out_of_a_forbidden_project_is_denied_too(scoped: PolicySet) -> None:
    assert scoped.evaluate(move("OPS-1", "ENG"), agent="ide-assistant").determining_rule == (
        "deny-ops"
    )


def test_an_agent_scoped_to_projects_must_be_in_scope_for_both(scoped: PolicySet) -> None:
    # Into SALES: outside the bot's projects (and no deny-ops to help).
    outside = scoped.evaluate(move("ENG-7", "SALES"), agent="log-triage-bot")
    assert outside.denied and outside.determining_rule == "bot-stays-in-eng-and-data"
    # Out of SALES into ENG: the source is outside its scope.
    assert scoped.evaluate(move("SALES-2", "ENG"), agent="log-triage-bot").denied
    # Both in scope: the shipped routing decides.
    inside = scoped.evaluate(move("ENG-7", "DATA"), agent="log-triage-bot")
    assert inside.needs_approval and inside.determining_rule == "moves-out-of-a-project"
    # Another agent is not scoped by the bot's rule.
    assert scoped.evaluate(move("ENG-7", "SALES"), agent="ide-assistant").needs_approval


def test_an_allow_written_for_the_source_does_not_open_the_target(scoped: PolicySet) -> None:
    """`bot-may-touch-eng` (allow, priority 500) matches a move out of ENG; it outranks the
    shipped approval for the source, but the target DATA is decided on its own (approval),
    and the strictest of the two holds."""
    decision = scoped.evaluate(move("ENG-7", "DATA"), agent="log-triage-bot")
    assert decision.needs_approval
    assert "bot-may-touch-eng" in decision.matched_rules  # seen, not deciding


@pytest.mark.parametrize(
    "target",
    [
        "ops",
        "Ops",
        "oPS",
        "OPS ",
        " OPS",
        "OPS\n",
        "OP\u0405",
        "\uff2f\uff30\uff33",
        "OPS-1",
        "O",
        "",
    ],
    ids=repr,
)
def test_case_and_lookalike_spellings_of_a_target_are_refused(
    scoped: PolicySet, target: str
) -> None:
    """`ops` would not equal `OPS` in a rule, though Jira may take it for OPS: the schema
    holds project keys to upper-case ASCII, so no spelling gets past `project: OPS` (nor a
    Cyrillic S or full-width letters that render as OPS)."""
    with pytest.raises(InvalidDetailsError) as caught:
        scoped.evaluate(move("ENG-7", target), agent="log-triage-bot")
    assert caught.value.violations[0].pointer == "/targetProjectKey"


@pytest.mark.parametrize("issue", ["eng-7", "Eng-7", "ENG-07", "ENG-7 ", "ENG 7"])
def test_case_spellings_of_the_source_issue_are_refused(scoped: PolicySet, issue: str) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        scoped.evaluate(move(issue, "DATA"), agent="log-triage-bot")
    assert caught.value.violations[0].pointer == "/issueKey"


def test_a_target_equal_to_the_source_is_refused(scoped: PolicySet) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        scoped.evaluate(move("ENG-7", "ENG"), agent="log-triage-bot")
    (violation,) = caught.value.violations
    assert (violation.pointer, violation.rule) == ("/targetProjectKey", "another-project")
    assert "a move goes to another project" in violation.message


@pytest.mark.parametrize(
    "extra",
    [
        {"projectKey": "ENG"},  # try to set the project fact to an allowed project
        {"targetProjectKeys": ["DATA"]},
        {"issueKeys": ["ENG-1"]},
        {"sendBulkNotification": False},
        {"kind": "read"},
    ],
    ids=lambda e: next(iter(e)),
)
def test_an_agent_cannot_add_fields_that_would_change_the_facts(
    scoped: PolicySet, extra: dict[str, Any]
) -> None:
    with pytest.raises(InvalidDetailsError):
        scoped.evaluate(move("ENG-7", "OPS", **extra), agent="log-triage-bot")


def test_the_kind_is_the_catalogs_write_whatever_the_envelope_says(scoped: PolicySet) -> None:
    from jiragate.errors import ActionError

    with pytest.raises(ActionError, match="unknown field"):
        scoped.evaluate({**move("ENG-7", "DATA"), "kind": "read"}, agent="ide-assistant")
    assert scoped.evaluate(move("ENG-7", "DATA")).kind.value == "write"


# --------------------------------------------------------------------------- reviewer edits


@pytest.mark.parametrize(
    "patch",
    [
        {"targetProjectKey": "DATA"},  # approved into OPS, produced into DATA
        {"issueKey": "ENG-8"},  # another issue
        {"targetIssueType": "Task"},  # a type nobody asked for
    ],
    ids=lambda p: next(iter(p)),
)
def test_a_reviewer_cannot_change_any_field_of_a_move(patch: dict[str, Any]) -> None:
    details = parse_envelope(move("ENG-7", "OPS")).details
    with pytest.raises(EditRefusedError):
        narrowed_details("jira_move_issue", details, patch)


def test_a_reviewer_cannot_drop_or_change_a_named_issue_type() -> None:
    details = parse_envelope(move("ENG-7", "OPS", targetIssueType="Bug")).details
    for patch in ({"targetIssueType": "Task"}, {"targetIssueType": None}):
        with pytest.raises(EditRefusedError):
            narrowed_details("jira_move_issue", details, patch)
    assert narrowed_details("jira_move_issue", details, {}) == details

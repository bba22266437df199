"""Budgets and shadow rules in the policy language: loading (with file:line errors), the
`over_budget` condition on the usage facts a caller gives, and shadow rules that are
evaluated but never decide (a property over generated sets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.errors import PolicyLoadError
from jiragate.policy.engine import BudgetUsage, PolicySet, load_policies
from jiragate.policy.loader import load_model_from_sources

BUDGET = """
budgets:
  tickets:
    description: Tickets per agent and project per day.
    actions: [jira_create_ticket, jira_create_tickets]
    per: [agent, project]
    window: 1d
    limit: 20
  edits:
    description: Any write, counted per action.
    kind: [write]
    counts: actions
    per: []
    window: 30m
    limit: 3
rules:
  - id: allow-tickets
    match: {action: [jira_create_ticket, jira_create_tickets]}
    decision: allow
  - id: over-tickets
    match:
      action: [jira_create_ticket, jira_create_tickets]
      over_budget: tickets
    decision: deny
    reason: Twenty tickets a day.
  - id: over-edits
    match:
      action: jira_update_fields
      over_budget: edits
    decision: deny
"""


def tickets(count: int) -> dict:
    return {
        "action": "jira_create_tickets",
        "summary": "bulk",
        "details": {
            "projectKey": "ENG",
            "issueCount": count,
            "issueType": "Bug",
            "priority": "Low",
        },
    }


def errors_of(*files: tuple[str, str]) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_model_from_sources([(name, text.encode()) for name, text in files])
    return [str(issue) for issue in caught.value.issues]


def test_a_budget_is_declared_once_and_counts_what_it_says():
    policies = PolicySet(load_model_from_sources([("b.yaml", BUDGET.encode())]))
    tickets_budget = policies.budgets["tickets"]
    assert tickets_budget.per == ("agent", "project")
    assert tickets_budget.window_seconds == 86400
    assert tickets_budget.units(12) == 12
    edits = policies.budgets["edits"]
    assert edits.units(12) == 1  # counts: actions
    assert "jira_update_fields" in edits.actions and "jira_get_issue" not in edits.actions
    assert [b.name for b in policies.budgets_for("jira_create_tickets")] == ["tickets", "edits"]
    assert policies.budgets_for("jira_search") == ()


@pytest.mark.parametrize(
    ("used", "count", "decision"),
    [(0, 20, "allow"), (8, 12, "allow"), (9, 12, "deny"), (20, 1, "deny"), (0, 21, "deny")],
)
def test_over_budget_holds_when_used_plus_this_action_exceeds_the_limit(used, count, decision):
    policies = PolicySet(load_model_from_sources([("b.yaml", BUDGET.encode())]))
    result = policies.evaluate(tickets(count), agent="bot", usage={"tickets": used})
    assert result.decision.value == decision
    (check,) = [c for c in result.budgets if c.budget == "tickets"]
    assert (check.used, check.units, check.limit, check.window_seconds) == (used, count, 20, 86400)
    if decision == "deny":
        assert result.reason.startswith("Twenty tickets a day. (budget tickets: ")


def test_the_reason_says_when_the_budget_frees_up():
    policies = PolicySet(load_model_from_sources([("b.yaml", BUDGET.encode())]))
    usage = {"tickets": BudgetUsage(20, "2026-12-02T10:00:00Z")}
    decision = policies.evaluate(tickets(1), agent="bot", usage=usage, explain=True)
    assert decision.reason == (
        "Twenty tickets a day. (budget tickets: 20 of 20 used in the last 1d, this action "
        "needs 1; frees up at 2026-12-02T10:00:00Z)"
    )
    assert "budget tickets: 20 of 20 used in the last 1d" in decision.summary()
    explained = {e.rule: e for e in decision.explanations or ()}
    assert explained["over-tickets"].matched


@settings(max_examples=200, deadline=None)
@given(used=st.integers(0, 100), count=st.integers(1, 60))
def test_over_budget_agrees_with_arithmetic(used: int, count: int):
    policies = _budget_policies()
    decision = policies.evaluate(tickets(count), agent="bot", usage={"tickets": used})
    assert decision.denied is (used + count > 20)


_CACHE: dict[str, PolicySet] = {}


def _budget_policies() -> PolicySet:
    if "b" not in _CACHE:
        _CACHE["b"] = PolicySet(load_model_from_sources([("b.yaml", BUDGET.encode())]))
    return _CACHE["b"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "rules:\n  - id: x\n    match: {action: jira_create_ticket, over_budget: nope}\n"
            "    decision: deny\n",
            "b.yaml:3 rules[0].match.over_budget: unknown budget 'nope' (known: none defined)",
        ),
        (
            BUDGET + "  - id: y\n    match: {action: jira_delete_issues, over_budget: tickets}\n"
            "    decision: deny\n",
            "budget 'tickets' counts none of the actions this rule applies to",
        ),
        (
            "budgets:\n  r:\n    description: reads\n    actions: [jira_search]\n"
            "    window: 1h\n    limit: 5\n",
            "b.yaml:4 budgets.r.actions[0]: jira_search is a read; budgets count writes and "
            "destructive actions",
        ),
        (
            "budgets:\n  r:\n    description: typo\n    actions: [jira_create_tikets]\n"
            "    window: 1h\n    limit: 5\n",
            "b.yaml:4 budgets.r.actions[0]: unknown action 'jira_create_tikets' (did you mean "
            "'jira_create_tickets'? known: jira_create_ticket,",
        ),
        (
            "budgets:\n  r:\n    description: no window\n    actions: [jira_create_ticket]\n"
            "    limit: 5\n",
            "b.yaml:2 budgets.r: 'window' is required",
        ),
        (
            "budgets:\n  r:\n    description: d\n    actions: [jira_create_ticket]\n"
            "    window: 1h\n    limit: 5\n    per: [team]\n",
            "budgets.r.per[0]",
        ),
    ],
)
def test_budget_mistakes_are_refused_with_file_line_and_path(text: str, says: str):
    assert any(says in error for error in errors_of(("b.yaml", text))), errors_of(("b.yaml", text))


def test_a_budget_defined_twice_is_refused():
    one = "budgets:\n  t:\n    description: d\n    actions: [jira_create_ticket]\n"
    one += "    window: 1h\n    limit: 5\n"
    assert any(
        "budget 't' is already defined at a.yaml:2" in e
        for e in errors_of(("a.yaml", one), ("b.yaml", one))
    )


SHADOW_BASE = """
review_groups:
  leads: {description: Leads, members: [alice]}
rules:
  - id: allow-tickets
    match: {action: jira_create_ticket}
    decision: allow
  - id: gate-bulk
    match: {action: jira_create_tickets}
    decision: require_approval
    route_to: leads
"""
SHADOW_RULES = """
shadow: true
rules:
  - id: shadow-deny-high
    match: {details.priority: {at_least: High}}
    decision: deny
  - id: shadow-gate-tickets
    match: {action: jira_create_ticket}
    decision: require_approval
    route_to: leads
"""


def _sets() -> tuple[PolicySet, PolicySet]:
    if "shadow" not in _CACHE:
        _CACHE["plain"] = PolicySet(load_model_from_sources([("a.yaml", SHADOW_BASE.encode())]))
        _CACHE["shadow"] = PolicySet(
            load_model_from_sources(
                [("a.yaml", SHADOW_BASE.encode()), ("s.yaml", SHADOW_RULES.encode())]
            )
        )
    return _CACHE["plain"], _CACHE["shadow"]


@settings(max_examples=200, deadline=None)
@given(
    action=st.sampled_from(["jira_create_ticket", "jira_create_tickets"]),
    priority=st.sampled_from(["Lowest", "Low", "Medium", "High", "Highest"]),
    count=st.integers(1, 60),
)
def test_shadow_rules_never_change_the_decision(action: str, priority: str, count: int):
    details = {"projectKey": "ENG", "issueType": "Bug", "priority": priority}
    if action == "jira_create_ticket":
        details["summary"] = "one"
    else:
        details["issueCount"] = count
    envelope = {"action": action, "summary": "s", "details": details}
    plain, shadowed = _sets()
    enforced = plain.evaluate(envelope, agent="bot")
    with_shadow = shadowed.evaluate(envelope, agent="bot", explain=True)
    assert (with_shadow.decision, with_shadow.review_group, with_shadow.determining_rule) == (
        enforced.decision,
        enforced.review_group,
        enforced.determining_rule,
    )
    assert with_shadow.matched_rules == enforced.matched_rules
    shadow = with_shadow.shadow
    high = priority in ("High", "Highest")
    if not high and action == "jira_create_tickets":
        assert shadow is None  # no shadow rule matched
        return
    assert shadow is not None
    expected = "deny" if high else "require_approval"
    assert shadow.decision.value == expected
    assert shadow.disagrees is (expected != enforced.decision.value)
    assert with_shadow.as_dict()["shadow"]["matched_rules"] == list(shadow.matched_rules)


def test_a_shadow_rule_is_flagged_per_rule_or_per_file():
    _, shadowed = _sets()
    assert [r.id for r in shadowed.shadow_rules] == ["shadow-deny-high", "shadow-gate-tickets"]
    assert [r.id for r in shadowed.enforced_rules] == ["allow-tickets", "gate-bulk"]
    one = SHADOW_BASE + "  - id: s\n    shadow: true\n    match: {action: jira_add_comment}\n"
    one += "    decision: deny\n"
    model = load_model_from_sources([("a.yaml", one.encode())])
    assert {r.id: r.shadow for r in model.rules}["s"] is True


def test_the_shipped_policy_carries_the_hourly_ticket_budget(default_policy_dir):
    policies = load_policies(default_policy_dir)
    budget = policies.budgets["tickets-per-agent-hour"]
    assert (budget.limit, budget.window_seconds, budget.per) == (50, 3600, ("agent",))
    one = {
        "action": "jira_create_ticket",
        "summary": "s",
        "details": {"projectKey": "ENG", "summary": "x", "issueType": "Bug", "priority": "Low"},
    }
    assert policies.evaluate(one, agent="bot", usage={budget.name: 49}).decision.value != "deny"
    denied = policies.evaluate(one, agent="bot", usage={budget.name: 50})
    assert (denied.decision.value, denied.determining_rule) == ("deny", "ticket-budget")

"""Combining: deny > require_approval > allow, priority then id, defaults, explanations."""

from __future__ import annotations

import pytest

from jiragate.catalog import parse_envelope
from jiragate.errors import InvalidDetailsError, UnknownActionError
from jiragate.policy.engine import load_policies
from jiragate.policy.model import Effect
from tests.policy.samples import SEED, envelope

DEFAULTS = """
defaults:
  write: require_approval
  destructive: deny
  route_to: pms
"""


def test_deny_overrides_approval_overrides_allow(policies_from):
    policies = policies_from(
        """
        rules:
          - {id: allow-all-creates, match: {action: jira_create_tickets}, decision: allow}
          - id: gate-high
            match: {action: jira_create_tickets, details.priority: {at_least: High}}
            decision: require_approval
            route_to: leads
          - id: deny-floods
            match: {action: jira_create_tickets, count: {gt: 10}}
            decision: deny
            reason: too many
        """
    )
    low = {**SEED, "details": {**SEED["details"], "priority": "Low", "issueCount": 3}}
    high = {**SEED, "details": {**SEED["details"], "issueCount": 3}}
    assert policies.evaluate(low).decision is Effect.ALLOW
    gated = policies.evaluate(high)
    assert gated.decision is Effect.REQUIRE_APPROVAL
    assert gated.matched_rules == ("gate-high", "allow-all-creates")
    denied = policies.evaluate(SEED)
    assert denied.decision is Effect.DENY
    assert denied.determining_rule == "deny-floods"
    assert denied.reason == "too many"
    assert denied.review_group is None
    assert set(denied.matched_rules) == {"deny-floods", "gate-high", "allow-all-creates"}


def test_highest_priority_approval_rule_picks_the_group_and_ties_go_to_the_smaller_id(
    policies_from,
):
    policies = policies_from(
        """
        rules:
          - {id: b-leads, match: {action: jira_create_tickets}, decision: require_approval,
             route_to: leads, priority: 5}
          - {id: a-pms, match: {action: jira_create_tickets}, decision: require_approval,
             route_to: pms, priority: 5}
          - {id: z-low, match: {action: jira_create_tickets}, decision: require_approval,
             route_to: leads, priority: 1}
        """
    )
    decision = policies.evaluate(SEED)
    assert decision.determining_rule == "a-pms"
    assert decision.review_group == "pms"
    assert decision.matched_rules == ("a-pms", "b-leads", "z-low")


def test_unmatched_writes_get_the_defaults_and_unmatched_reads_are_denied(policies_from):
    policies = policies_from(
        DEFAULTS + "rules:\n  - {id: only-epics, match: {action: jira_create_epic}, "
        "decision: require_approval, route_to: leads}\n"
    )
    write = policies.evaluate(envelope("jira_add_comment", issueKey="ENG-1", body="hi"))
    assert (write.decision, write.review_group, write.determining_rule) == (
        Effect.REQUIRE_APPROVAL,
        "pms",
        None,
    )
    destructive = policies.evaluate(envelope("jira_delete_issues", issueKeys=["ENG-1"]))
    assert destructive.decision is Effect.DENY
    read = policies.evaluate(envelope("jira_get_issue", issueKey="ENG-1"))
    assert read.decision is Effect.DENY
    assert "reads are allowed only by a rule" in read.reason


def test_without_defaults_unmatched_writes_are_denied(policies_from):
    policies = policies_from("rules:\n  - {id: r, match: {kind: read}, decision: allow}\n")
    decision = policies.evaluate(envelope("jira_add_comment", issueKey="ENG-1", body="hi"))
    assert decision.decision is Effect.DENY


def test_conditions_on_agent_project_count_and_blocks(policies_from):
    policies = policies_from(
        """
        rules:
          - id: trusted-bot-comments
            match:
              action: jira_add_comment
              agent: {in: [triage-bot, release-bot]}
              project: ENG
            decision: allow
          - id: not-eng-or-big
            match:
              action: jira_transition_issues
              any:
                - not: {project: ENG}
                - count: {between: [5, 25]}
            decision: deny
          - id: all-block
            match:
              action: jira_assign_issues
              all:
                - {details.assignee: {exists: true}}
                - {agent: {glob: "pm-*"}}
            decision: allow
        """
    )
    comment = envelope("jira_add_comment", issueKey="ENG-1", body="hi")
    assert policies.evaluate(comment, agent="triage-bot").allowed
    assert not policies.evaluate(comment, agent="rogue").allowed
    assert not policies.evaluate(comment).allowed  # no agent: agent conditions fail
    other = envelope("jira_add_comment", issueKey="OPS-1", body="hi")
    assert not policies.evaluate(other, agent="triage-bot").allowed

    ops = envelope("jira_transition_issues", issueKeys=["OPS-1"], targetStatus="Done")
    assert policies.evaluate(ops).denied
    small = envelope("jira_transition_issues", issueKeys=["ENG-1"], targetStatus="Done")
    assert policies.evaluate(small).determining_rule is None  # the fallback, not the rule
    keys = [f"ENG-{i}" for i in range(1, 6)]
    assert policies.evaluate(
        envelope("jira_transition_issues", issueKeys=keys, targetStatus="Done")
    ).denied

    assign = envelope("jira_assign_issues", issueKeys=["ENG-1"], assignee="alice")
    assert policies.evaluate(assign, agent="pm-bot").allowed
    assert not policies.evaluate(assign, agent="dev-bot").allowed


def test_explanations_say_why_each_rule_did_not_match(default_policy_dir):
    policies = load_policies(default_policy_dir)
    low = {**SEED, "details": {**SEED["details"], "priority": "Low"}}
    decision = policies.evaluate(low, agent="log-bot", explain=True)
    assert decision.determining_rule == "bulk-creation"
    by_rule = {e.rule: e for e in decision.explanations}
    assert set(by_rule) == {rule.id for rule in policies.rules}
    high = by_rule["high-priority-creation"]
    assert not high.matched
    assert high.summary == "did not match: details.priority at_least 'High' failed on 'Low'"
    failing = [c for c in high.conditions if not c.passed]
    assert failing[0].actual == "Low"
    assert high.location.endswith("tickets.yaml:16")
    assert by_rule["bulk-creation"].matched
    assert decision.as_dict()["explanations"][0]["rule"]


def test_evaluate_validates_mappings_but_trusts_requests(default_policy_dir):
    policies = load_policies(default_policy_dir)
    with pytest.raises(UnknownActionError):
        policies.evaluate(envelope("jira_nuke"))
    with pytest.raises(InvalidDetailsError):
        policies.evaluate(envelope("jira_get_issue", issueKey="not a key"))
    request = parse_envelope(SEED)
    assert policies.evaluate(request) == policies.evaluate(SEED)


def test_decision_as_dict_carries_every_field(default_policy_dir):
    decision = load_policies(default_policy_dir).evaluate(SEED, agent="log-bot").as_dict()
    assert decision == {
        "decision": "require_approval",
        "action": "jira_create_tickets",
        "kind": "write",
        "agent": "log-bot",
        "review_group": "engineering-leads",
        "determining_rule": "high-priority-creation",
        "matched_rules": ["high-priority-creation", "bulk-creation"],
        "reasons": [
            "High-priority ticket creation needs an engineering lead.",
            "Bulk ticket creation needs an engineering lead to check for noise and duplicates.",
        ],
        "policy_revision": decision["policy_revision"],
        # a dry run without a store: the budgets that count the action, as unused
        "budgets": [
            {
                "budget": "tickets-per-agent-hour",
                "used": 0,
                "units": 12,
                "limit": 50,
                "window_seconds": 3600,
                "over": False,
                "frees_at": None,
            }
        ],
    }


def test_the_compiled_index_buckets_many_rules_and_answers_the_same(write_policies):
    rules = ["rules:"]
    for i in range(40):
        project = f"P{i:02d}"
        rules.append(
            f"  - {{id: r{i}, match: {{action: jira_create_tickets, project: {project}, "
            f"count: {{gt: {i}}}}}, decision: deny}}"
        )
    rules.append(
        "  - {id: any-project, match: {action: jira_create_tickets, count: {gt: 30}},"
        " decision: deny}"
    )
    from tests.policy.conftest import GROUPS

    policies = load_policies(write_policies(groups=GROUPS, r="\n".join(rules) + "\n"))
    index = policies._index["jira_create_tickets"]
    assert index.key_field == "project"
    for i in (3, 17, 29):
        details = {**SEED["details"], "projectKey": f"P{i:02d}", "issueCount": i + 1}
        decision = policies.evaluate({**SEED, "details": details})
        assert decision.determining_rule == f"r{i}"
        details["issueCount"] = i
        assert policies.evaluate({**SEED, "details": details}).determining_rule is None
    big = {**SEED["details"], "projectKey": "ZZ", "issueCount": 31}
    assert policies.evaluate({**SEED, "details": big}).determining_rule == "any-project"


def test_the_public_api_is_importable_from_the_package(default_policy_dir, monkeypatch):
    import doctest

    import jiragate

    assert {"load_policies", "Decision", "PolicySet", "Effect"} <= set(jiragate.__all__)
    decision = jiragate.load_policies(default_policy_dir).evaluate(SEED, agent="log-bot")
    assert isinstance(decision, jiragate.Decision)
    assert decision.decision is jiragate.Effect.REQUIRE_APPROVAL
    monkeypatch.chdir(default_policy_dir.parent)  # the docstring example says "policies"
    assert doctest.testmod(jiragate).failed == 0


def test_the_summary_says_who_decided_even_when_no_rule_did(policies_from):
    """`Decision.summary()`: what `jiragate eval --explain` (and any edge) shows a person."""
    policies = policies_from(
        DEFAULTS + "rules:\n  - {id: only-epics, match: {action: jira_create_epic}, "
        "decision: require_approval, route_to: leads}\n"
    )
    write = policies.evaluate(envelope("jira_add_comment", issueKey="ENG-1", body="hi"))
    assert write.summary().splitlines()[:2] == [
        "decision: require_approval → pms (jira_add_comment, write)",
        "deciding rule: none (no rule matched: the defaults decided)",
    ]
    assert write.summary().splitlines()[-1] == "matched rules: none"
    read = policies.evaluate(envelope("jira_get_issue", issueKey="ENG-1"))
    assert read.summary().splitlines()[1] == (
        "deciding rule: none (no rule allows this read, so it is denied)"
    )
    epic = policies.evaluate(
        envelope("jira_create_epic", projectKey="ENG", summary="e"), explain=True
    )
    assert epic.summary().splitlines()[1] == "deciding rule: only-epics (rules.yaml:7)"

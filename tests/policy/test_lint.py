"""Lint warnings: shadowed rules, shadowed routes, overlapping routes, unused groups."""

from __future__ import annotations

from jiragate.policy.engine import load_policies
from jiragate.policy.lint import lint


def _codes(policies) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for issue in lint(policies):
        assert issue.severity == "warning"
        out.setdefault(issue.code, []).append(str(issue))
    return out


def test_the_default_policy_is_lint_clean(default_policy_dir):
    assert lint(load_policies(default_policy_dir)) == []


def test_a_rule_covered_by_a_stronger_rule_is_shadowed(policies_from):
    codes = _codes(
        policies_from(
            """
            rules:
              - {id: deny-creates, match: {action: jira_create_tickets}, decision: deny}
              - id: gate-high-creates
                match: {action: jira_create_tickets, details.priority: High}
                decision: require_approval
                route_to: leads
              - {id: unrelated, match: {action: jira_create_epic}, decision: require_approval,
                 route_to: pms}
            """
        )
    )
    (shadowed,) = codes["shadowed-rule"]
    assert "rule 'gate-high-creates' (require_approval) can never decide" in shadowed
    assert "rule 'deny-creates' (deny" in shadowed
    assert "rules.yaml:" in shadowed


def test_a_narrower_deny_is_not_shadowed_by_a_broader_approval(policies_from):
    codes = _codes(
        policies_from(
            """
            rules:
              - {id: gate, match: {action: jira_create_tickets}, decision: require_approval,
                 route_to: leads}
              - {id: limit, match: {action: jira_create_tickets, count: {gt: 5}}, decision: deny}
              - {id: epics, match: {action: jira_create_epic}, decision: require_approval,
                 route_to: pms}
            """
        )
    )
    assert codes == {}


def test_routes_that_always_lose_and_equal_priority_overlaps(policies_from):
    codes = _codes(
        policies_from(
            """
            rules:
              - {id: all-transitions, match: {action: jira_transition_issues},
                 decision: require_approval, route_to: leads, priority: 10}
              - {id: eng-transitions, match: {action: jira_transition_issues, project: ENG},
                 decision: require_approval, route_to: pms, priority: 5}
              - {id: a-epics, match: {action: jira_create_epic}, decision: require_approval,
                 route_to: leads}
              - {id: b-epics, match: {action: jira_create_epic, agent: bot},
                 decision: require_approval, route_to: pms}
              - {id: c-epics-ops, match: {action: jira_create_epic, project: OPS},
                 decision: require_approval, route_to: pms, priority: 1}
            """
        )
    )
    assert any("rule 'eng-transitions' routes to 'pms'" in w for w in codes["shadowed-route"])
    (overlap,) = codes["overlapping-routes"]
    assert "rules 'a-epics' and 'b-epics' have the same priority (0)" in overlap


def test_disjoint_equalities_do_not_overlap(policies_from):
    codes = _codes(
        policies_from(
            """
            rules:
              - {id: eng, match: {action: jira_create_epic, project: ENG},
                 decision: require_approval, route_to: leads}
              - {id: ops, match: {action: jira_create_epic, project: OPS},
                 decision: require_approval, route_to: pms}
            """
        )
    )
    assert "overlapping-routes" not in codes


def test_unused_groups_are_reported(policies_from):
    codes = _codes(
        policies_from(
            "rules:\n  - {id: r, match: {action: jira_create_epic}, decision: require_approval,"
            " route_to: leads}\n"
        )
    )
    (unused,) = codes["unused-group"]
    assert "review group 'pms' is not used" in unused
    assert "groups.yaml:" in unused


def test_a_condition_on_story_points_as_a_custom_field_is_reported(policies_from):
    """The catalog refuses story points in customFields (they have their own detail and
    action), so such a condition never holds: the author is told where to match instead,
    also when it hides in a nested block or uses another of the field's names."""
    codes = _codes(
        policies_from(
            """
            rules:
              - id: big-estimates
                match:
                  action: jira_create_ticket
                  details.customFields."Story Points": {gt: 5}
                decision: require_approval
                route_to: leads
              - id: nested
                match:
                  action: jira_update_fields
                  any:
                    - details.customFields."story point estimate": {gt: 5}
                    - project: OPS
                decision: require_approval
                route_to: pms
              - id: fine
                match:
                  action: jira_create_ticket
                  details.customFields."Customer impact": {gt: 5}
                decision: require_approval
                route_to: leads
            """
        )
    )
    unsettable = codes["unsettable-field"]
    assert len(unsettable) == 2
    assert "rules[0]" in unsettable[0] and "details.storyPoints" in unsettable[0]
    assert "jira_update_story_points" in unsettable[1]

"""Site priorities (issue 12): `PriorityOrder`, a policy set's declared `priorities:`, the
`at_least` / `at_most` operators in that order, and the fail-closed rule for a value the
order does not know (docs/policies.md "Priorities"). Attack tests: an agent sending
"Blocker", "p1" or a number must never be auto-allowed, nor slip past a deny."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.catalog import ActionRequest
from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder, PriorityOrderError
from jiragate.errors import PolicyLoadError
from jiragate.policy.engine import PolicySet
from jiragate.policy.loader import load_model_from_sources
from jiragate.policy.model import Effect

DC = PriorityOrder(("P1", "P2", "P3", "P4"))

GROUPS = b"review_groups:\n  leads: {description: Leads, members: [alice]}\n"


def policies(text: str, *more: tuple[str, str]) -> PolicySet:
    sources = [("g.yaml", GROUPS), ("p.yaml", text.encode())]
    sources += [(name, body.encode()) for name, body in more]
    return PolicySet(load_model_from_sources(sources))


def create(priority: Any = None, **details: Any) -> ActionRequest:
    base: dict[str, Any] = {"projectKey": "ENG", "issueType": "Bug", "summary": "Crash"}
    if priority is not None:
        base["priority"] = priority
    return ActionRequest("jira_create_ticket", "file it", {**base, **details})


def decide(policy: PolicySet, request: ActionRequest) -> Effect:
    decision = policy.evaluate(request, agent="bot", explain=True)  # explain re-checks
    return decision.decision


def load_issues(text: str, *more: tuple[str, str]) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        policies(text, *more)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


# --------------------------------------------------------------------------- the type


def test_an_order_ranks_highest_first_and_names_are_exact() -> None:
    assert DC.highest == "P1" and DC.lowest == "P4"
    assert [DC.level(name) for name in DC] == [4, 3, 2, 1]
    assert DC.level("p1") is None and DC.level("P1 ") is None and DC.level(1) is None
    assert "P2" in DC and "p2" not in DC and 2 not in DC
    assert DC.at_or_below("P2") == ("P2", "P3", "P4")
    assert DC.at_least("P3") == ("P1", "P2", "P3")
    assert DC.at_or_below("Blocker") == () and DC.at_least("Blocker") == ()
    assert DC.is_lower_or_same("P1", "P3") is True
    assert DC.is_lower_or_same("P3", "P1") is False
    assert DC.is_lower_or_same("P3", "Blocker") is None
    assert DC.index("P3") == 2
    unknown = re.escape("'High' is not a priority of this site (P1 > P2")
    with pytest.raises(ValueError, match=unknown):
        DC.index("High")
    assert JIRA_PRIORITIES.describe() == "Highest > High > Medium > Low > Lowest"


@pytest.mark.parametrize(
    ("names", "says"),
    [
        ((), "at least one priority"),
        (("P1", "P1"), "listed twice"),
        (("P1", "p1"), re.escape("listed twice (as 'P1')")),
        (("P1", " "), "non-blank"),
        (("P1", 2), "non-blank"),
    ],
)
def test_an_order_refuses_what_no_site_can_have(names: tuple[Any, ...], says: str) -> None:
    with pytest.raises(PriorityOrderError, match=says):
        PriorityOrder(names)


# --------------------------------------------------------------------------- the loader

P_RULES = """\
priorities: [P1, P2, P3, P4]
rules:
  - id: urgent-needs-a-lead
    match: {action: jira_create_ticket, details.priority: {at_least: P2}}
    decision: require_approval
    route_to: leads
  - id: tickets
    match: {action: jira_create_ticket, project: ENG}
    decision: allow
"""


def test_the_declared_order_is_the_sets() -> None:
    assert policies(P_RULES).priorities == DC
    assert policies(P_RULES.split("rules:")[0] + "rules: []\n").priorities == DC
    assert policies("rules: []\n").priorities == JIRA_PRIORITIES  # Jira's five by default


def test_the_order_may_be_declared_in_any_file_of_the_set() -> None:
    rules, declared = P_RULES.split("\n", 1)[1], "priorities: [P1, P2, P3, P4]\n"
    assert policies(rules, ("z-site.yaml", declared)).priorities == DC


def test_a_bound_outside_the_declared_order_is_refused_naming_the_valid_ones() -> None:
    (issue,) = load_issues(P_RULES.replace("at_least: P2", "at_least: High"))
    assert "rules[0].match.details.priority.at_least" in issue
    assert "expects one of the set's priorities (P1, P2, P3, P4), got 'High'" in issue
    (issue,) = load_issues(P_RULES.replace("at_least: P2", "at_most: p2"))
    assert "got 'p2'" in issue and "names are exact" in issue
    # Without a declaration, the default five are named, and how to declare the site's.
    (issue,) = load_issues(P_RULES.replace("priorities: [P1, P2, P3, P4]\n", ""))
    assert "(Highest, High, Medium, Low, Lowest), got 'P2'" in issue
    assert "Jira's default, none declared" in issue and "priorities:" in issue


@pytest.mark.parametrize(
    ("declaration", "says"),
    [
        ("priorities: []", "priorities"),
        ("priorities: [P1, P1]", "priorities"),
        ("priorities: [P1, p1]", "listed twice"),
        ("priorities: P1", "priorities"),
        ("priorities: [P1, ' ']", "priorities"),
    ],
)
def test_a_declaration_that_is_no_order_is_refused(declaration: str, says: str) -> None:
    issues = load_issues(declaration + "\nrules: []\n")
    assert issues and all(says in issue for issue in issues), issues


def test_the_order_is_declared_once() -> None:
    issues = load_issues(P_RULES, ("z.yaml", "priorities: [P1, P2, P3, P4]\n"))
    assert any("priorities are already declared at p.yaml" in issue for issue in issues)


# --------------------------------------------------------------------------- deciding


def test_on_a_p1_to_p4_set_p1_is_gated_p4_allowed_and_unknown_names_gated() -> None:
    policy = policies(P_RULES)
    assert decide(policy, create("P1")) is Effect.REQUIRE_APPROVAL
    assert decide(policy, create("P2")) is Effect.REQUIRE_APPROVAL
    assert decide(policy, create("P3")) is Effect.ALLOW
    assert decide(policy, create("P4")) is Effect.ALLOW
    # An agent's spelling the order does not know is never "lower": gated, not allowed.
    for odd in ("Blocker", "p1", "P1 ", "Highest", "P5", "", 1, True, ["P4"]):
        decision = policy.evaluate(create(odd), agent="bot", explain=True)
        assert decision.decision is Effect.REQUIRE_APPROVAL, odd
        assert decision.determining_rule == "urgent-needs-a-lead", odd
    # Absence is not an unknown priority (Jira applies its default): no comparison holds.
    assert decide(policy, create()) is Effect.ALLOW


def test_before_this_change_high_on_a_p_site_matched_nothing_now_it_cannot_load() -> None:
    """The bypass of issue 12: `at_least: High` with P1..P4 tickets auto-allowed a P1."""
    issues = load_issues(P_RULES.replace("at_least: P2", "at_least: High"))
    assert issues  # refused at load time instead of silently matching nothing


ALLOW_LOW = """\
priorities: [P1, P2, P3, P4]
rules:
  - id: low-ones-are-fine
    match: {action: jira_create_ticket, details.priority: {at_most: P3}}
    decision: allow
  - id: not-urgent-is-fine
    match:
      action: jira_create_ticket
      project: OPS
      not: {details.priority: {at_least: P2}}
    decision: allow
  - id: no-noise
    match: {action: jira_create_ticket, project: HR, details.priority: {at_most: P4}}
    decision: deny
defaults: {write: require_approval, destructive: deny, route_to: leads}
"""


def test_an_allow_rule_never_lets_an_unknown_priority_through() -> None:
    policy = policies(ALLOW_LOW)
    assert decide(policy, create("P3")) is Effect.ALLOW
    assert decide(policy, create("P1")) is Effect.REQUIRE_APPROVAL
    assert decide(policy, create("Blocker")) is Effect.REQUIRE_APPROVAL  # at_most: not "low"
    # Under `not`, holding flips: "not at least P2" must not hold for an unknown either.
    assert decide(policy, create("P4", projectKey="OPS")) is Effect.ALLOW
    assert decide(policy, create("Blocker", projectKey="OPS")) is Effect.REQUIRE_APPROVAL


def test_a_deny_rule_is_not_bypassed_by_an_unknown_priority() -> None:
    policy = policies(ALLOW_LOW)
    assert decide(policy, create("P4", projectKey="HR")) is Effect.DENY
    # A deny's `at_most` holds for a value it cannot place: the deny applies.
    assert decide(policy, create("p4", projectKey="HR")) is Effect.DENY
    assert decide(policy, create("Lowest", projectKey="HR")) is Effect.DENY


def test_explain_reports_the_fail_closed_verdict() -> None:
    decision = policies(P_RULES).evaluate(create("Blocker"), agent="bot", explain=True)
    assert decision.explanations is not None
    (urgent,) = [e for e in decision.explanations if e.rule == "urgent-needs-a-lead"]
    assert urgent.matched
    assert any(c.actual == "Blocker" and c.passed for c in urgent.conditions)


def _crowd(order: PriorityOrder, bounds: list[tuple[str, str, str]]) -> str:
    """Enough rules on one action that the compiler builds its index and priority lookups."""
    names = ", ".join(order.names)
    lines = [f"priorities: [{names}]", "rules:"]
    for n, (operator, bound, decision) in enumerate(bounds):
        lines += [
            f"  - id: r{n}",
            f"    match: {{action: jira_create_ticket, details.priority: {{{operator}: {bound}}}}}",
            f"    decision: {decision}",
        ]
        if decision == "require_approval":
            lines.append("    route_to: leads")
    for n in range(8):  # filler the index buckets by project
        lines += [
            f"  - id: f{n}",
            f"    match: {{action: jira_create_ticket, project: P{n}}}",
            "    decision: allow",
        ]
    lines.append("defaults: {write: require_approval, destructive: deny, route_to: leads}")
    return "\n".join(lines) + "\n"


ANY_PRIORITY = st.one_of(
    st.sampled_from(["P1", "P2", "P3", "P4", "p1", "Blocker", "High", "", "P1\n"]),
    st.text(max_size=8),
    st.integers(),
)


@settings(max_examples=150, deadline=None)
@given(
    bound=st.sampled_from(DC.names),
    value=ANY_PRIORITY,
    decision=st.sampled_from(["require_approval", "deny"]),
)
def test_at_least_never_lets_an_unknown_value_through_as_lower(
    bound: str, value: object, decision: str
) -> None:
    """For any priority an agent sends, a gating rule `at_least: X` holds unless the value
    is one of the site's and below X; through the indexed path and the explainer alike."""
    bounds = [("at_least", bound, decision), ("at_least", "P1", "deny"), ("at_most", "P4", "allow")]
    policy = policies(_crowd(DC, bounds))
    decision_made = policy.evaluate(create(value), agent="bot", explain=True)
    level, limit = DC.level(value), DC.level(bound)
    assert limit is not None
    below = level is not None and level < limit
    assert ("r0" in decision_made.matched_rules) is (not below)
    if level is None:
        assert decision_made.decision is not Effect.ALLOW
        assert "r2" not in decision_made.matched_rules  # the allow's at_most: not "low"


@settings(max_examples=100, deadline=None)
@given(
    bounds=st.lists(
        st.tuples(
            st.sampled_from(["at_least", "at_most"]),
            st.sampled_from(DC.names),
            st.sampled_from(["allow", "deny", "require_approval"]),
        ),
        min_size=3,
        max_size=7,
    ),
    value=ANY_PRIORITY,
)
def test_an_unknown_value_matches_every_gating_rule_and_no_allow_rule(
    bounds: list[tuple[str, str, str]], value: object
) -> None:
    policy = policies(_crowd(DC, bounds))
    made = policy.evaluate(create(value), agent="bot", explain=True)
    if DC.level(value) is None:
        expected = {f"r{n}" for n, (_, _, decision) in enumerate(bounds) if decision != "allow"}
        assert {r for r in made.matched_rules if r.startswith("r")} == expected
        assert made.decision is not Effect.ALLOW


# --------------------------------------------------------------------------- reviewer edits


def _tickets(priority: str, *own: str | None) -> dict[str, Any]:
    tickets = []
    for n, mine in enumerate(own):
        item: dict[str, Any] = {"summary": f"t{n}"}
        if mine is not None:
            item["priority"] = mine
        tickets.append(item)
    return {
        "projectKey": "ENG",
        "issueCount": len(tickets),
        "issueType": "Bug",
        "priority": priority,
        "tickets": tickets,
    }


def test_a_reviewer_lowers_in_the_sites_order_and_never_raises() -> None:
    from jiragate.catalog import narrowed_details
    from jiragate.errors import EditRefusedError

    details = {"projectKey": "ENG", "issueType": "Bug", "summary": "Crash", "priority": "P2"}
    lowered = narrowed_details("jira_create_ticket", details, {"priority": "P4"}, DC)
    assert lowered["priority"] == "P4"
    for patch, says in (
        ({"priority": "P1"}, "may only be lowered (P1 > P2 > P3 > P4), but P1 is above"),
        ({"priority": "p4"}, "not 'p4' (names are exact)"),
        ({"priority": "Lowest"}, "must be one of the site's priorities (P1, P2, P3, P4)"),
    ):
        with pytest.raises(EditRefusedError) as refused:
            narrowed_details("jira_create_ticket", details, patch, DC)
        assert says in str(refused.value), str(refused.value)
    # In Jira's five (the default), "P4" is no priority at all: refused, never "lower".
    with pytest.raises(EditRefusedError, match="must be one of the site's priorities"):
        narrowed_details("jira_create_ticket", details, {"priority": "P4"})


def test_a_proposed_priority_the_site_lacks_cannot_be_lowered_into_it() -> None:
    from jiragate.catalog import narrowed_details
    from jiragate.errors import EditRefusedError

    details = {"projectKey": "ENG", "issueType": "Bug", "summary": "Crash", "priority": "Crit"}
    with pytest.raises(EditRefusedError, match="the proposed 'Crit' is not one of the site's"):
        narrowed_details("jira_create_ticket", details, {"priority": "P4"}, DC)


def test_a_bulk_priority_caps_the_tickets_in_the_sites_order() -> None:
    from jiragate.catalog import narrowed_details

    details = _tickets("P1", "P1", "P3", None)
    edited = narrowed_details("jira_create_tickets", details, {"priority": "P2"}, DC)
    # P1 (above the cap) inherits P2; P3 (below it) stays.
    assert [t.get("priority") for t in edited["tickets"]] == [None, "P3", None]
    assert edited["priority"] == "P2"


def test_a_ticket_priority_the_site_lacks_is_capped_and_the_edit_refused() -> None:
    """The cap treats "Blocker" as above every priority (it inherits the reviewer's), and
    the edit rule then refuses to call any change of it "lower": fail closed both ways."""
    from jiragate.catalog import apply_patch, narrowed_details
    from jiragate.errors import EditRefusedError

    details = _tickets("P1", "Blocker", "P4")
    capped = apply_patch("jira_create_tickets", details, {"priority": "P3"}, DC)
    assert [t.get("priority") for t in capped["tickets"]] == [None, "P4"]
    with pytest.raises(EditRefusedError, match="the proposed 'Blocker' is not one of"):
        narrowed_details("jira_create_tickets", details, {"priority": "P3"}, DC)


def test_a_ticket_raised_above_its_proposal_is_refused_in_the_sites_order() -> None:
    from jiragate.catalog import narrowed_details
    from jiragate.errors import EditRefusedError

    details = _tickets("P3", "P3", "P4")
    patch = {"tickets": [{"summary": "t0", "priority": "P3"}, {"summary": "t1", "priority": "P1"}]}
    with pytest.raises(EditRefusedError, match="may only be lowered"):
        narrowed_details("jira_create_tickets", details, patch, DC)
    fine = {"tickets": [{"summary": "t0", "priority": "P4"}, {"summary": "t1", "priority": "P4"}]}
    assert narrowed_details("jira_create_tickets", details, fine, DC)["tickets"][0] == {
        "summary": "t0",
        "priority": "P4",
    }


def test_an_edit_is_described_whatever_the_sites_names() -> None:
    from jiragate.catalog import describe_edit

    details = _tickets("P3", "P2", "P3")
    effective = {**details, "tickets": [{"summary": "t0", "priority": "P4"}, details["tickets"][1]]}
    assert describe_edit("jira_create_tickets", details, effective) == "1 ticket priority lowered"


# --------------------------------------------------------------------------- risk score


def test_the_risk_score_counts_the_upper_half_of_the_sites_order_as_urgent() -> None:
    from jiragate.gateway.core import risk_score

    decision = policies(P_RULES).evaluate(create("P1"), agent="bot")

    def score(priority: str, order: PriorityOrder) -> float:
        return risk_score(decision, create(priority), None, order)

    assert score("P1", DC) == score("P2", DC) == score("Blocker", DC) == 0.56
    assert score("P3", DC) == score("P4", DC) == 0.51
    assert score("High", JIRA_PRIORITIES) == 0.56 and score("Medium", JIRA_PRIORITIES) == 0.51


# --------------------------------------------------------------------------- check --site


def test_check_site_reports_an_order_that_is_not_the_sites() -> None:
    from jiragate.catalog.site import SiteMetadata
    from jiragate.policy.sitecheck import priority_order_problem

    site = SiteMetadata(flavour="datacenter", priorities=("P1", "P2", "P3", "P4"))
    assert priority_order_problem(policies(P_RULES), site) is None
    undeclared = priority_order_problem(policies("rules: []\n"), site)
    assert undeclared is not None
    assert "Jira's default, none declared" in undeclared
    assert "the site has no 'Highest', 'High', 'Medium', 'Low', 'Lowest'" in undeclared
    assert "the set does not list 'P1', 'P2', 'P3', 'P4'" in undeclared
    assert "`priorities: [P1, P2, P3, P4]`" in undeclared
    swapped = policies(P_RULES.replace("[P1, P2, P3, P4]", "[P2, P1, P3, P4]"))
    problem = priority_order_problem(swapped, site)
    assert problem is not None and "declared at p.yaml:1" in problem
    assert "P2 > P1 > P3 > P4, but the site's are P1 > P2 > P3 > P4" in problem
    assert "the same names in another order" in problem
    partial = priority_order_problem(policies(P_RULES.replace(", P4]", "]")), site)
    assert partial is not None and "the set does not list 'P4'" in partial
    assert priority_order_problem(policies(P_RULES), SiteMetadata()) is None  # nothing known


# --------------------------------------------------------------------------- any order

ORDERS = st.lists(
    st.text(alphabet="ABCPXYZ0123456789 -", min_size=1, max_size=6).filter(str.strip),
    min_size=1,
    max_size=7,
    unique_by=str.casefold,
).map(PriorityOrder.of)


@settings(max_examples=80, deadline=None)
@given(order=ORDERS, data=st.data())
def test_in_any_order_at_least_and_at_most_follow_the_levels(
    order: PriorityOrder, data: st.DataObject
) -> None:
    from jiragate.policy.operators import OPERATORS

    bound = data.draw(st.sampled_from(order.names))
    value = data.draw(st.one_of(st.sampled_from(order.names), st.text(max_size=6)))
    at_least = OPERATORS["at_least"].prepare(bound, order)
    at_most = OPERATORS["at_most"].prepare(bound, order)
    level, limit = order.level(value), order.level(bound)
    assert limit is not None
    if level is None:  # alone: above the highest, so gated by at_least and never "low"
        assert OPERATORS["at_least"].test(value, at_least) is True
        assert OPERATORS["at_most"].test(value, at_most) is False
        assert order.at_or_below(value) == ()
    else:
        assert OPERATORS["at_least"].test(value, at_least) is (level >= limit)
        assert OPERATORS["at_most"].test(value, at_most) is (level <= limit)
        assert order.at_or_below(value)[0] == value
        assert set(order.at_or_below(value)) | set(order.at_least(value)) == set(order.names)
        assert order.is_lower_or_same(bound, value) is (level <= limit)

"""Properties of the combining rule, over generated rule sets and actions.

- Shuffling the rules (within and across files) never changes a decision.
- Adding an allow rule never turns a deny into anything else. (A deny decided by a deny rule;
  a fallback deny for an action no rule matched is what allow rules exist to lift.)
- A write that no rule matches always gets the default.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.catalog import ACTION_NAMES, CATALOG, ActionRequest
from jiragate.policy.engine import PolicySet
from jiragate.policy.loader import load_model_from_sources
from jiragate.policy.model import Effect

GROUPS = b"""
review_groups:
  leads: {description: Leads, members: [a]}
  pms: {description: PMs, members: [b]}
defaults:
  write: require_approval
  destructive: deny
  route_to: pms
"""
PROJECTS = ["ENG", "OPS", "HR"]
PRIORITIES = ["Lowest", "Low", "Medium", "High", "Highest"]
AGENTS = ["bot-a", "bot-b", "bot-c"]
ACTIONS = ["jira_create_tickets", "jira_transition_issues", "jira_delete_issues", "jira_get_issue"]

conditions = st.sampled_from(
    [
        "project: ENG",
        "project: {in: [ENG, OPS]}",
        "agent: bot-a",
        "agent: {not_in: [bot-c]}",
        "count: {gt: 3}",
        "count: {between: [2, 6]}",
        "any: [{kind: write}, {count: {gt: 5}}]",
        "any: [{project: HR}, {count: {lte: 1}}]",
        "not: {agent: bot-b}",
    ]
)


@st.composite
def rules(draw: st.DrawFn) -> list[str]:
    count = draw(st.integers(min_value=1, max_value=12))
    out = []
    for i in range(count):
        action = draw(st.sampled_from(ACTIONS))
        extra = draw(st.lists(conditions, max_size=2, unique_by=lambda c: c.split(":")[0]))
        decision = draw(st.sampled_from(["allow", "deny", "require_approval"]))
        route = draw(st.sampled_from(["leads", "pms"]))
        priority = draw(st.integers(min_value=0, max_value=3))
        lines = [f"  - id: r{i:02d}", "    match:", f"      action: {action}"]
        lines += [f"      {c}" for c in extra]
        lines.append(f"    decision: {decision}")
        if decision == "require_approval":
            lines.append(f"    route_to: {route}")
        lines.append(f"    priority: {priority}")
        out.append("\n".join(lines))
    return out


def build(rule_texts: list[str], files: int = 1) -> PolicySet:
    chunks: list[list[str]] = [[] for _ in range(files)]
    for i, text in enumerate(rule_texts):
        chunks[i % files].append(text)
    sources = [("groups.yaml", GROUPS)]
    for i, chunk in enumerate(chunks):
        if chunk:
            sources.append((f"r{i}.yaml", ("rules:\n" + "\n".join(chunk) + "\n").encode()))
    return PolicySet(load_model_from_sources(sources))


@st.composite
def requests(draw: st.DrawFn) -> tuple[ActionRequest, str]:
    action = draw(st.sampled_from(ACTIONS))
    project = draw(st.sampled_from(PROJECTS))
    n = draw(st.integers(min_value=1, max_value=8))
    keys = [f"{project}-{i}" for i in range(1, n + 1)]
    details: dict[str, object] = {
        "jira_create_tickets": {
            "projectKey": project,
            "issueCount": n,
            "issueType": "Bug",
            "priority": draw(st.sampled_from(PRIORITIES)),
        },
        "jira_transition_issues": {"issueKeys": keys, "targetStatus": "Done"},
        "jira_delete_issues": {"issueKeys": keys},
        "jira_get_issue": {"issueKey": keys[0]},
    }[action]
    request = ActionRequest(action=action, summary="generated", details=details)
    return request, draw(st.sampled_from(AGENTS))


def _key(decision):  # everything but the revision, which depends on file layout
    return (
        decision.decision,
        decision.review_group,
        decision.determining_rule,
        frozenset(decision.matched_rules),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules(),
    st.lists(requests(), min_size=1, max_size=6),
    st.randoms(use_true_random=False),
    st.integers(min_value=1, max_value=3),
)
def test_rule_order_and_file_layout_never_change_a_decision(rule_texts, reqs, rnd, files):
    original = build(rule_texts)
    shuffled_texts = list(rule_texts)
    rnd.shuffle(shuffled_texts)
    shuffled = build(shuffled_texts, files=files)
    for request, agent in reqs:
        assert _key(original.evaluate(request, agent=agent)) == _key(
            shuffled.evaluate(request, agent=agent)
        )


@settings(max_examples=150, deadline=None)
@given(
    rules(),
    st.lists(requests(), min_size=1, max_size=6),
    st.sampled_from(ACTIONS),
    st.lists(conditions, max_size=2, unique_by=lambda c: c.split(":")[0]),
    st.integers(min_value=0, max_value=5),
)
def test_adding_an_allow_rule_never_turns_a_deny_into_anything_else(
    rule_texts, reqs, action, extra, priority
):
    before = build(rule_texts)
    allow = "\n".join(
        ["  - id: zz-added-allow", "    match:", f"      action: {action}"]
        + [f"      {c}" for c in extra]
        + ["    decision: allow", f"    priority: {priority}"]
    )
    after = build([*rule_texts, allow])
    for request, agent in reqs:
        decided = before.evaluate(request, agent=agent)
        if decided.decision is Effect.DENY and decided.determining_rule is not None:
            again = after.evaluate(request, agent=agent)
            assert again.decision is Effect.DENY
            assert again.determining_rule == decided.determining_rule


@settings(max_examples=100, deadline=None)
@given(rules(), st.lists(requests(), min_size=1, max_size=6))
def test_every_unmatched_write_gets_the_default(rule_texts, reqs):
    policies = build(rule_texts)
    for request, agent in reqs:
        decision = policies.evaluate(request, agent=agent)
        if decision.matched_rules:
            continue
        kind = CATALOG[request.action].kind.value
        expected = {
            "write": Effect.REQUIRE_APPROVAL,
            "destructive": Effect.DENY,
            "read": Effect.DENY,
        }[kind]
        assert decision.decision is expected
        assert decision.determining_rule is None
        assert decision.review_group == ("pms" if expected is Effect.REQUIRE_APPROVAL else None)


def test_the_generated_actions_cover_every_kind():
    kinds = {CATALOG[a].kind.value for a in ACTIONS}
    assert kinds == {"read", "write", "destructive"}
    assert set(ACTIONS) <= set(ACTION_NAMES)
    random.Random(0)  # the shuffles above are seeded through hypothesis's st.randoms


@st.composite
def crowded_rules(draw: st.DrawFn) -> list[str]:
    """Many rules on few actions, with equality tests on project and agent: big enough to be
    indexed (and re-indexed inside buckets) by the compiler."""
    count = draw(st.integers(min_value=20, max_value=60))
    out = []
    for i in range(count):
        action = draw(st.sampled_from(ACTIONS[:2]))
        project = draw(st.sampled_from([None, "ENG", "OPS", "[ENG, HR]"]))
        agent = draw(st.sampled_from([None, "bot-a", "bot-b", "[bot-a, bot-c]"]))
        extra = draw(st.lists(conditions, max_size=1))
        decision = draw(st.sampled_from(["allow", "deny", "require_approval"]))
        lines = [f"  - id: c{i:03d}", "    match:", f"      action: {action}"]
        if project:
            lines.append(f"      project: {project}")
        if agent:
            lines.append(f"      agent: {agent}")
        lines += [f"      {c}" for c in extra if c.split(":")[0] not in ("project", "agent")]
        lines.append(f"    decision: {decision}")
        if decision == "require_approval":
            lines.append("    route_to: leads")
        lines.append(f"    priority: {draw(st.integers(min_value=0, max_value=3))}")
        out.append("\n".join(lines))
    return out


@settings(max_examples=60, deadline=None)
@given(crowded_rules(), st.lists(requests(), min_size=1, max_size=10))
def test_the_index_finds_exactly_the_rules_a_full_scan_finds(rule_texts, reqs):
    policies = build(rule_texts)
    for request, agent in reqs:
        # explain=True re-checks every rule on the slow path and raises if the indexed fast
        # path matched a different set; the decision must also equal a full scan's.
        decision = policies.evaluate(request, agent=agent, explain=True)
        scanned = {e.rule for e in decision.explanations if e.matched}
        assert set(decision.matched_rules) == scanned

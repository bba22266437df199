"""Generate large, valid Jiragate policy sets and matching actions for benchmarks.

Rules are first produced as plain descriptions (a list of dicts: id, action (and/or a `kind`
condition), decision, route_to, priority and a list of `(field, operator, value)` conditions),
then rendered to Jiragate YAML here, to Cedar in `cedar_policies.py` and to Cerbos in
`cerbos_policies.py`, so the three engines are compared decision for decision.

`default_rules()` is the shipped default policy (`policies/*.yaml`) expressed by hand in the
same form; `reference_decision` is a deliberately naive evaluator of the descriptions (every
rule, every condition) that the three engines are checked against before any timing counts.

Everything is seeded: the same (n_rules, seed) always writes the same files.

    python bench/generate.py 1000 /tmp/policies-1000
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECTS = tuple(
    f"P{name}"
    for name in (
        "ENG", "OPS", "WEB", "APP", "API", "DATA", "SEC", "INFRA", "MOB", "QA",
        "DOCS", "PAY", "AUTH", "SRCH", "ML", "CORE", "UI", "BILL", "CRM", "HR",
    )
)  # fmt: skip
AGENTS = ("log-triage-bot", "ide-assistant", "release-bot", "planner", "support-bot")
PRIORITIES = ("Lowest", "Low", "Medium", "High", "Highest")
GROUPS = ("engineering-leads", "project-managers")

# Fields and operators a rule description may use (what all three renderers translate).
FIELDS = ("kind", "project", "agent", "count", "details.priority")
OPERATORS = ("eq", "in", "gt", "between", "at_least")
# Jira priorities as numbers (0: the action has no priority), for Cedar and Cerbos, which have
# no priority order of their own; Jiragate's `at_least` compares the same ranks internally.
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES, start=1)}
DEFAULTS = {"write": "require_approval", "destructive": "deny", "route_to": "project-managers"}

# The catalog's actions, with a builder for valid details (given a project, a count, an rng).
_ISSUE_ACTIONS = (
    "jira_transition_issues",
    "jira_move_to_sprint",
    "jira_update_fields",
    "jira_assign_issues",
    "jira_delete_issues",
    "jira_archive_issues",
)
WRITE_ACTIONS = (
    "jira_create_ticket",
    "jira_create_tickets",
    "jira_update_story_points",
    "jira_add_comment",
    "jira_create_epic",
    "jira_create_release",
    *_ISSUE_ACTIONS,
)
READ_ACTIONS = ("jira_get_issue", "jira_search", "jira_get_transitions")
ACTIONS = WRITE_ACTIONS + READ_ACTIONS
# Actions whose details carry a priority the rules can compare with at_least.
_PRIORITISED = ("jira_create_ticket", "jira_create_tickets")


# --------------------------------------------------------------------------- rule descriptions


def generate_rules(n_rules: int, seed: int) -> list[dict[str, Any]]:
    """N rule descriptions spread over actions, projects, agents, priorities and counts."""
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = [
        {
            "id": "allow-reads",
            "action": list(READ_ACTIONS),
            "decision": "allow",
            "conditions": [],
        }
    ]
    for index in range(1, n_rules):
        action = rng.choice(WRITE_ACTIONS)
        decision = rng.choices(["require_approval", "deny", "allow"], weights=[6, 3, 1])[0]
        conditions: list[tuple[str, str, Any]] = [("project", "eq", rng.choice(PROJECTS))]
        extra = rng.random()
        if extra < 0.25:
            conditions.append(("agent", "in", sorted(rng.sample(AGENTS, 2))))
        elif extra < 0.5 and action in _PRIORITISED:
            conditions.append(("details.priority", "at_least", rng.choice(PRIORITIES[2:])))
        elif extra < 0.75:
            low = rng.randint(1, 40)
            conditions.append(("count", "between", [low, low + rng.randint(1, 40)]))
        else:
            conditions.append(("count", "gt", rng.randint(1, 60)))
        rule: dict[str, Any] = {
            "id": f"r{index:05d}-{action.removeprefix('jira_').replace('_', '-')}",
            "action": action,
            "decision": decision,
            "conditions": conditions,
            "priority": rng.randint(0, 100),
        }
        if decision == "require_approval":
            rule["route_to"] = rng.choice(GROUPS)
        rules.append(rule)
    return rules


def default_rules() -> list[dict[str, Any]]:
    """The shipped default policy (`policies/*.yaml`) as rule descriptions, by hand.

    `tests/bench` checks that Jiragate decides every generated action the same way with
    `policies/` and with `render_yaml(default_rules())`, so the translation cannot drift."""
    eng, pm = GROUPS

    def rule(
        rule_id: str,
        decision: str,
        conditions: list[tuple[str, str, Any]],
        action: str | list[str] | None = None,
        route_to: str | None = None,
        priority: int = 0,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"id": rule_id, "decision": decision, "conditions": conditions}
        if action is not None:
            out["action"] = action
        if route_to is not None:
            out["route_to"] = route_to
        if priority:
            out["priority"] = priority
        return out

    sprint = ["jira_move_to_sprint", "jira_update_story_points"]
    plan = [
        "jira_create_epic",
        "jira_update_epic",
        "jira_create_release",
        "jira_update_release",
        "jira_release_version",
    ]
    return [
        rule("allow-safe-reads", "allow", [("kind", "eq", "read")]),
        rule("deletes-and-archives", "require_approval", [("kind", "eq", "destructive")],
             route_to=pm, priority=100),
        rule("deny-bulk-deletes", "deny", [("count", "gt", 10)], "jira_delete_issues"),
        rule("deny-bulk-archives", "deny", [("count", "gt", 100)], "jira_archive_issues"),
        rule("epic-and-release-changes", "require_approval", [], plan, pm, 100),
        rule("sprint-changes", "require_approval", [], sprint, eng, 100),
        rule("deny-sprint-floods", "deny", [("count", "gt", 50)], sprint),
        rule("deny-ticket-floods", "deny", [("count", "gt", 50)], "jira_create_tickets"),
        rule("high-priority-creation", "require_approval",
             [("details.priority", "at_least", "High")],
             ["jira_create_ticket", "jira_create_tickets"], eng, 100),
        rule("bulk-creation", "require_approval", [], "jira_create_tickets", eng, 50),
        rule("comments-from-agents", "require_approval", [], "jira_add_comment", eng, 10),
        rule("transitions", "require_approval", [], "jira_transition_issues", eng, 50),
        rule("deny-mass-transitions", "deny", [("count", "gt", 25)], "jira_transition_issues"),
        rule("reassignments", "require_approval", [], "jira_assign_issues", pm, 50),
        rule("deny-mass-reassignments", "deny", [("count", "gt", 25)], "jira_assign_issues"),
        rule("field-edits", "require_approval", [], "jira_update_fields", eng, 50),
    ]  # fmt: skip


def rule_actions(rule: dict[str, Any]) -> tuple[str, ...]:
    """The catalog actions a rule can apply to: its `action` list narrowed by a `kind`
    condition. Jiragate decides this at compile time; Cedar and Cerbos get it in the scope /
    resource kind, so every engine only looks at the rules of the action at hand."""
    from jiragate.catalog import ACTION_NAMES, CATALOG

    named = rule.get("action")
    actions = ACTION_NAMES if named is None else ((named,) if isinstance(named, str) else named)
    kinds = [value for field, op, value in rule["conditions"] if field == "kind" and op == "eq"]
    return tuple(a for a in actions if all(CATALOG[a].kind.value == k for k in kinds))


# --------------------------------------------------------------------------- facts and reference


def facts_for(envelope: dict[str, Any], agent: str) -> dict[str, Any]:
    """What the engines are asked about one action: Jiragate's own facts (project, count,
    kind) with the priority as a rank. Built once per input, outside any timing."""
    from jiragate.catalog import parse_envelope
    from jiragate.policy.facts import build_facts

    facts = build_facts(parse_envelope(envelope), agent)
    priority = facts["details"].get("priority")
    return {
        "action": facts["action"],
        "kind": facts["kind"],
        "agent": agent,
        "project": facts["project"] or "",
        "count": facts["count"],
        "priority": PRIORITY_RANK.get(priority, 0) if isinstance(priority, str) else 0,
    }


def _holds(field: str, op: str, value: Any, facts: dict[str, Any]) -> bool:
    actual = facts["priority"] if field == "details.priority" else facts[field]
    if field == "details.priority":
        return bool(actual) and actual >= PRIORITY_RANK[value]  # a missing priority fails
    if op == "eq":
        return bool(actual == value)
    if op == "in":
        return actual in value
    if op == "gt":
        return bool(actual > value)
    if op == "between":
        return bool(value[0] <= actual <= value[1])
    raise ValueError(f"unknown operator {op!r} (known: {', '.join(OPERATORS)})")


def combine(matched: list[dict[str, Any]], kind: str) -> tuple[str, str | None]:
    """(decision, review group) from the matching rules: deny > require_approval > allow;
    the highest priority (then the smallest id) determines; nothing matched → defaults."""
    for decision in ("deny", "require_approval", "allow"):
        winners = [rule for rule in matched if rule["decision"] == decision]
        if winners:
            top = min(winners, key=lambda rule: (-rule.get("priority", 0), rule["id"]))
            group = top.get("route_to") or DEFAULTS["route_to"]
            return decision, group if decision == "require_approval" else None
    if kind == "read":
        return "deny", None
    fallback = DEFAULTS["destructive" if kind == "destructive" else "write"]
    return fallback, DEFAULTS["route_to"] if fallback == "require_approval" else None


def reference_decisions(
    rules: list[dict[str, Any]], inputs: list[dict[str, Any]]
) -> list[tuple[str, str | None]]:
    """The naive oracle: for each input's facts, test every rule's every condition, then
    `combine`. Slow on purpose (no index), so it shares no shortcut with any engine."""
    actions = [frozenset(rule_actions(rule)) for rule in rules]
    out = []
    for facts in inputs:
        matched = [
            rule
            for rule, applies_to in zip(rules, actions, strict=True)
            if facts["action"] in applies_to and conditions_hold(rule, facts)
        ]
        out.append(combine(matched, facts["kind"]))
    return out


def conditions_hold(rule: dict[str, Any], facts: dict[str, Any]) -> bool:
    """The rule's non-`kind` conditions (its actions are checked by `rule_actions`)."""
    return all(_holds(f, op, v, facts) for f, op, v in rule["conditions"] if f != "kind")


# --------------------------------------------------------------------------- YAML rendering


def _match(rule: dict[str, Any]) -> dict[str, Any]:
    match: dict[str, Any] = {"action": rule["action"]} if "action" in rule else {}
    for field, operator, value in rule["conditions"]:
        match[field] = value if operator == "eq" else {operator: value}
    return match


def render_yaml(rules: list[dict[str, Any]]) -> dict[str, str]:
    """File name → YAML text of a Jiragate policy set for the rule descriptions."""
    groups = {
        "review_groups": {
            name: {"description": f"The {name}.", "members": [f"{name}-1", f"{name}-2"]}
            for name in GROUPS
        },
        "defaults": dict(DEFAULTS),
    }
    body = []
    for rule in rules:
        rendered: dict[str, Any] = {
            "id": rule["id"],
            "match": _match(rule),
            "decision": rule["decision"],
        }
        if "route_to" in rule:
            rendered["route_to"] = rule["route_to"]
        if rule.get("priority"):
            rendered["priority"] = rule["priority"]
        body.append(rendered)
    return {
        "groups.yaml": yaml.safe_dump(groups, sort_keys=False),
        "rules.yaml": yaml.safe_dump({"rules": body}, sort_keys=False, width=100),
    }


def generate_policy_dir(n_rules: int, out_dir: str | Path, seed: int = 42) -> Path:
    """Write a valid policy set of `n_rules` rules into `out_dir` and return it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_yaml(generate_rules(n_rules, seed)).items():
        (out / name).write_text(text, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- actions


def _keys(project: str, count: int) -> list[str]:
    return [f"{project}-{number}" for number in range(1, count + 1)]


def _details(action: str, project: str, count: int, rng: random.Random) -> dict[str, Any]:
    priority = rng.choice(PRIORITIES)
    if action == "jira_create_ticket":
        return {"projectKey": project, "issueType": "Bug", "summary": "x", "priority": priority}
    if action == "jira_create_tickets":
        return {
            "projectKey": project,
            "issueCount": count,
            "issueType": "Bug",
            "priority": priority,
        }
    if action == "jira_update_story_points":
        return {"updates": [{"issueKey": key, "storyPoints": 3} for key in _keys(project, count)]}
    if action == "jira_add_comment":
        return {"issueKey": f"{project}-1", "body": "a comment"}
    if action == "jira_create_epic":
        return {"projectKey": project, "summary": "an epic"}
    if action == "jira_create_release":
        return {"projectKey": project, "name": "1.0"}
    if action == "jira_transition_issues":
        return {"issueKeys": _keys(project, count), "targetStatus": "Done"}
    if action == "jira_move_to_sprint":
        return {"issueKeys": _keys(project, count), "sprintId": 42}
    if action == "jira_update_fields":
        return {"issueKeys": _keys(project, count), "addLabels": ["bench"]}
    if action == "jira_assign_issues":
        return {"issueKeys": _keys(project, count), "assignee": "someone"}
    if action in ("jira_delete_issues", "jira_archive_issues"):
        return {"issueKeys": _keys(project, count)}
    if action == "jira_search":
        return {"jql": f"project = {project}", "projectKey": project}
    return {"issueKey": f"{project}-1"}  # jira_get_issue, jira_get_transitions


def generate_actions(n: int, seed: int = 7) -> list[tuple[dict[str, Any], str]]:
    """`n` valid (envelope, agent) pairs spread like the generated rules."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        action = rng.choice(ACTIONS)
        project = rng.choice(PROJECTS)
        details = _details(action, project, rng.randint(1, 80), rng)
        envelope = {"action": action, "summary": f"bench {action}", "details": details}
        out.append((envelope, rng.choice(AGENTS)))
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python bench/generate.py N_RULES OUT_DIR [SEED]")
    seed = int(sys.argv[3]) if len(sys.argv) == 4 else 42
    print(generate_policy_dir(int(sys.argv[1]), sys.argv[2], seed))

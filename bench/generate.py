"""Generate large, valid Jiragate policy sets and matching actions for benchmarks.

Rules are first produced as plain descriptions (a list of dicts: id, action, decision, route,
priority and a list of `(field, operator, value)` conditions), then rendered to Jiragate YAML.
Keeping that intermediate form lets the same rule set be rendered later for other engines
(Cedar, Cerbos) and compared decision for decision.

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


# --------------------------------------------------------------------------- YAML rendering


def _match(rule: dict[str, Any]) -> dict[str, Any]:
    match: dict[str, Any] = {"action": rule["action"]}
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
        "defaults": {
            "write": "require_approval",
            "destructive": "deny",
            "route_to": "project-managers",
        },
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

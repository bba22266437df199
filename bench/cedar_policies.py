"""Rule descriptions (`generate.py`) rendered to Cedar, and decided with `cedarpy`.

The mapping (Cedar has only permit/forbid and no priorities or routes):

- every rule becomes one `permit` policy that holds exactly when the Jiragate rule *matches*;
  its decision, route and priority live in annotations (`@id`, `@decision`, `@route_to`,
  `@priority`) and in a table kept beside the parsed set, indexed by Cedar's positional
  policy id (`policy0`, `policy1`, … in text order);
- the request is `principal = Agent::"<agent>"`, `action = Action::"<jira action>"`,
  `resource = Project::"<project key>"`, `context = {count, priority}` (priority as a rank
  1..5, 0 when the action has none, because Cedar has no order on priority names);
- the rule's actions go in the scope (`action == …` / `action in [...]`; a `kind`
  condition is resolved to the catalog's actions, as Jiragate's compiler does), a
  `project eq` condition in the scope (`resource == Project::"…"`), the other conditions in
  `when { … }`;
- **one decision = one `is_authorized` call on the pre-parsed `PolicySet`** (its fastest
  use), whose `diagnostics.reasons` name every matching policy, plus Jiragate's combining
  rule over those matches in Python (`generate.combine`: deny > require_approval > allow,
  highest priority then smallest id routes, no match → defaults). That is the Cedar work
  needed to give the same answer Jiragate gives (decision + review group). A deny-only
  `forbid` design would answer allow/deny but not which group reviews.
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy

from generate import combine, rule_actions


def _cedar_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Cedar string literal


def _condition(field: str, op: str, value: Any) -> str:
    if field == "agent":
        values = value if op == "in" else [value]
        return f"principal in [{', '.join(f'Agent::{_cedar_string(v)}' for v in values)}]"
    if field == "details.priority":
        from generate import PRIORITY_RANK

        return f"context.priority >= {PRIORITY_RANK[value]}"  # 0 (absent) never passes
    if field == "count":
        if op == "gt":
            return f"context.count > {int(value)}"
        if op == "between":
            return f"context.count >= {int(value[0])} && context.count <= {int(value[1])}"
        if op == "eq":
            return f"context.count == {int(value)}"
    if field == "project" and op == "in":
        return f"resource in [{', '.join(f'Project::{_cedar_string(v)}' for v in value)}]"
    raise ValueError(f"no Cedar rendering for condition {field} {op} {value!r}")


def render_policy(rule: dict[str, Any]) -> str:
    actions = rule_actions(rule)
    if len(actions) == 1:
        action_scope = f"action == Action::{_cedar_string(actions[0])}"
    else:
        action_scope = f"action in [{', '.join(f'Action::{_cedar_string(a)}' for a in actions)}]"
    resource_scope = "resource"
    when = []
    for field, op, value in rule["conditions"]:
        if field == "kind":
            continue  # resolved into the action scope
        if field == "project" and op == "eq":
            resource_scope = f"resource == Project::{_cedar_string(value)}"
        else:
            when.append(_condition(field, op, value))
    annotations = [
        f"@id({_cedar_string(rule['id'])})",
        f"@decision({_cedar_string(rule['decision'])})",
        f"@priority({_cedar_string(str(rule.get('priority', 0)))})",
    ]
    if rule.get("route_to"):
        annotations.append(f"@route_to({_cedar_string(rule['route_to'])})")
    body = f"permit(principal, {action_scope}, {resource_scope})"
    if when:
        body += f"\nwhen {{ {' && '.join(when)} }}"
    return "\n".join(annotations) + "\n" + body + ";"


def render_cedar(rules: list[dict[str, Any]]) -> str:
    """The Cedar text of a policy set: one annotated `permit` per rule, in rule order."""
    return "\n\n".join(render_policy(rule) for rule in rules) + "\n"


def cedar_request(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "principal": f"Agent::{_cedar_string(facts['agent'])}",
        "action": f"Action::{_cedar_string(facts['action'])}",
        "resource": f"Project::{_cedar_string(facts['project'])}",
        "context": {"count": facts["count"], "priority": facts["priority"]},
    }


class CedarEngine:
    """A rule set parsed once into a `cedarpy.PolicySet`, deciding like Jiragate."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.text = render_cedar(rules)
        self.policies = cedarpy.PolicySet.from_str(self.text)
        self.entities = cedarpy.Entities.from_json_str("[]")
        # Cedar names surface-syntax policies by position: policy0, policy1, ...
        self.by_policy_id = {f"policy{index}": rule for index, rule in enumerate(rules)}

    def matched(self, result: cedarpy.AuthzResult) -> list[dict[str, Any]]:
        if result.diagnostics.errors:
            raise RuntimeError(f"cedar evaluation errors: {result.diagnostics.errors}")
        return [self.by_policy_id[policy_id] for policy_id in result.diagnostics.reasons]

    def decide(self, facts: dict[str, Any], request: dict[str, Any]) -> tuple[str, str | None]:
        """One decision: one `is_authorized` call, then the combining rule."""
        result = cedarpy.is_authorized(request, self.policies, self.entities)
        return combine(self.matched(result), facts["kind"])

    def decide_batch(
        self, facts: list[dict[str, Any]], requests: list[dict[str, Any]]
    ) -> list[tuple[str, str | None]]:
        """Many decisions in one `is_authorized_batch` call (amortises the Python↔Rust hop)."""
        results = cedarpy.is_authorized_batch(requests, self.policies, self.entities)
        return [
            combine(self.matched(result), item["kind"])
            for item, result in zip(facts, results, strict=True)
        ]

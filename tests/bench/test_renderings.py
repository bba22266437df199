"""The benchmark generators' three renderings (Jiragate YAML, Cedar, Cerbos) agree.

Small and fast: no Cerbos binary and no network. Jiragate and cedarpy evaluate their
renderings in process; the Cerbos rendering is checked structurally (what the server would
be asked and how its answer is read), and its answer is simulated from the rendered CEL
conditions' rule set by the reference evaluator. The full run (`python bench/run.py`) checks
a live Cerbos server against the same reference before timing it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from cerbos_policies import (  # noqa: E402
    cerbos_request,
    decision_from_response,
    render_cerbos,
)
from generate import (  # noqa: E402
    conditions_hold,
    default_rules,
    facts_for,
    generate_actions,
    generate_rules,
    reference_decisions,
    render_yaml,
    rule_actions,
)
from jiragate.catalog import parse_envelope  # noqa: E402
from jiragate.policy.engine import PolicySet, load_policies  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ACTIONS = generate_actions(300, seed=3)
FACTS = [facts_for(envelope, agent) for envelope, agent in ACTIONS]


def jiragate_decisions(policies: PolicySet) -> list[tuple[str, str | None]]:
    out = []
    for (envelope, agent), _ in zip(ACTIONS, FACTS, strict=True):
        decision = policies.evaluate(parse_envelope(envelope), agent=agent)
        out.append((decision.decision.value, decision.review_group))
    return out


def written(tmp_path: Path, rules: list[dict[str, Any]]) -> PolicySet:
    for name, text in render_yaml(rules).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_policies(tmp_path)


def test_default_rules_are_the_shipped_policy(tmp_path: Path) -> None:
    shipped = jiragate_decisions(load_policies(REPO / "policies"))
    translated = jiragate_decisions(written(tmp_path, default_rules()))
    assert translated == shipped
    assert {decision for decision, _ in shipped} == {"allow", "deny", "require_approval"}


@pytest.mark.parametrize(("name", "rules"), [
    ("default", default_rules()),
    ("generated 150", generate_rules(150, seed=5)),
])  # fmt: skip
def test_jiragate_cedar_and_reference_agree(
    tmp_path: Path, name: str, rules: list[dict[str, Any]]
) -> None:
    cedarpy = pytest.importorskip("cedarpy", reason="cedarpy is in the bench extra")
    del cedarpy
    from cedar_policies import CedarEngine, cedar_request

    expected = reference_decisions(rules, FACTS)
    assert jiragate_decisions(written(tmp_path, rules)) == expected, name
    cedar = CedarEngine(rules)
    assert [cedar.decide(f, cedar_request(f)) for f in FACTS] == expected, name
    assert cedar.decide_batch(FACTS, [cedar_request(f) for f in FACTS]) == expected, name
    groups = {group for _, group in expected if group}
    assert groups == {"engineering-leads", "project-managers"}  # routing is exercised


def _simulated_cerbos_answer(rules: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """What Cerbos returns for the rendered policies: per decision, EFFECT_ALLOW when a rule
    of that decision matched, and an output for each matched approval rule."""
    effects = {}
    outputs = []
    for decision in ("deny", "require_approval", "allow"):
        matched = [
            rule
            for rule in rules
            if rule["decision"] == decision
            and facts["action"] in rule_actions(rule)
            and conditions_hold(rule, facts)
        ]
        effects[decision] = "EFFECT_ALLOW" if matched else "EFFECT_DENY"
        if decision == "require_approval":
            outputs += [
                {
                    "val": {
                        "id": r["id"],
                        "route_to": r["route_to"],
                        "priority": str(r.get("priority", 0)),
                    }
                }
                for r in matched
            ]
    return {"results": [{"actions": effects, "outputs": outputs}]}


def test_cerbos_rendering_and_answers() -> None:
    rules = generate_rules(150, seed=5)
    files = render_cerbos(rules)
    policies = {name: yaml.safe_load(text) for name, text in files.items()}
    rendered_rules = sum(len(p["resourcePolicy"]["rules"]) for p in policies.values())
    assert rendered_rules == sum(len(rule_actions(rule)) for rule in rules)
    for name, policy in policies.items():
        body = policy["resourcePolicy"]
        assert name == f"{body['resource']}.yaml"
        for rule in body["rules"]:
            assert rule["effect"] == "EFFECT_ALLOW" and rule["roles"] == ["*"]
            assert rule["actions"][0] in ("deny", "require_approval", "allow")
            assert ("output" in rule) == (rule["actions"] == ["require_approval"])
    expected = reference_decisions(rules, FACTS)
    for facts, want in zip(FACTS, expected, strict=True):
        request = cerbos_request(facts)
        assert request["resources"][0]["resource"]["kind"] == facts["action"]
        answer = _simulated_cerbos_answer(rules, facts)
        assert decision_from_response(answer, facts["kind"]) == want


def test_cerbos_conditions_are_cel_over_the_request() -> None:
    files = render_cerbos(default_rules())
    text = files["jira_create_tickets.yaml"]
    assert "request.resource.attr.count > 50" in text
    assert "request.resource.attr.priority >= 4" in text  # High is rank 4
    assert "ruleActivated" in text


def test_bad_condition_is_named() -> None:
    from cedar_policies import render_policy

    rule = {"id": "x", "action": "jira_add_comment", "decision": "deny",
            "conditions": [("count", "matches", "1.*")]}  # fmt: skip
    with pytest.raises(ValueError, match="count matches"):
        render_policy(rule)

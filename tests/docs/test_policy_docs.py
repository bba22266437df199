"""Every example in docs/policies.md is real: loaded, evaluated, run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from jiragate import Effect, load_policies
from jiragate.policy.lint import lint

DOC = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [textwrap.dedent(b) for b in re.findall(rf"```{language}\n(.*?)```", text, re.S)]


@pytest.fixture
def policy_dir(tmp_path: Path, default_policy_dir: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_policy_dir, target)
    return target


def test_the_doc_has_the_examples_this_test_expects():
    yaml_blocks = blocks("yaml")
    assert len(yaml_blocks) == 13
    assert len(blocks("python")) == 1


def test_group_rule_shorthand_blocks_and_defaults_load_together(tmp_path):
    groups, rule, shorthand, blocks_example, defaults, _budgets, _shadow, _test = blocks("yaml")[
        1:9
    ]
    directory = tmp_path / "doc-policies"
    directory.mkdir()
    (directory / "groups.yaml").write_text(
        groups + "  project-managers:\n    description: PMs\n    members: [pm-carol]\n"
    )
    (directory / "rule.yaml").write_text(rule)
    shorthand_rule = {
        "rules": [
            {
                "id": "shorthand",
                "decision": "allow",
                **yaml.safe_load(
                    "match:\n" + textwrap.indent(shorthand.split("match:\n", 1)[1], "")
                ),
            }
        ]
    }
    (directory / "shorthand.yaml").write_text(yaml.safe_dump(shorthand_rule))
    (directory / "blocks.yaml").write_text(blocks_example)
    (directory / "defaults.yaml").write_text(defaults)
    policies = load_policies(directory)
    assert policies.groups["engineering-leads"].approval_timeout_seconds == 7200
    assert policies.groups["engineering-leads"].cheqpoint.action_prefix == "eng-leads:"

    def decide(action, details, agent="log-triage-bot"):
        return policies.evaluate(
            {"action": action, "summary": "doc", "details": details}, agent=agent
        )

    high = decide(
        "jira_create_ticket",
        {"projectKey": "ENG", "issueType": "Bug", "summary": "x", "priority": "Highest"},
    )
    assert (high.decision, high.review_group) == (Effect.REQUIRE_APPROVAL, "engineering-leads")
    allowed = decide(
        "jira_create_ticket",
        {"projectKey": "ENG", "issueType": "Bug", "summary": "x", "priority": "Low"},
    )
    assert allowed.determining_rule == "shorthand"
    foreign = decide("jira_transition_issues", {"issueKeys": ["OPS-1"], "targetStatus": "Done"})
    assert foreign.determining_rule == "foreign-or-big-transitions"
    big = decide(
        "jira_transition_issues",
        {"issueKeys": [f"ENG-{i}" for i in range(1, 12)], "targetStatus": "Done"},
    )
    assert big.denied
    small = decide("jira_transition_issues", {"issueKeys": ["ENG-1"], "targetStatus": "Done"})
    assert (small.decision, small.review_group) == (Effect.REQUIRE_APPROVAL, "project-managers")
    assert small.reason == "No rule covers this write, so a project manager must approve it."


def test_the_budget_and_shadow_examples_decide_as_documented(tmp_path):
    from jiragate.policy.engine import BudgetUsage

    groups, budgets, shadow = (blocks("yaml")[i] for i in (1, 6, 7))
    directory = tmp_path / "doc-budgets"
    directory.mkdir()
    (directory / "groups.yaml").write_text(groups)
    (directory / "budgets.yaml").write_text(budgets)
    (directory / "shadow.yaml").write_text(shadow)
    policies = load_policies(directory)
    assert set(policies.budgets) == {
        "tickets-per-agent-hour",
        "transitions-per-project-day",
        "agent-writes",
    }
    ticket = {
        "action": "jira_create_ticket",
        "summary": "doc",
        "details": {"projectKey": "ENG", "issueType": "Bug", "summary": "x", "priority": "Low"},
    }
    usage = {"tickets-per-agent-hour": BudgetUsage(50, "2026-12-02T10:14:03Z")}
    denied = policies.evaluate(ticket, agent="log-triage-bot", usage=usage)
    assert denied.denied and denied.determining_rule == "ticket-budget"
    text = DOC.read_text(encoding="utf-8")
    assert f"```text\n{denied.reason}\n```" in text  # the documented reason, verbatim

    transition = {
        "action": "jira_transition_issues",
        "summary": "doc",
        "details": {"issueKeys": ["ENG-1"], "targetStatus": "Done"},
    }
    busy = policies.evaluate(transition, usage={"transitions-per-project-day": 200})
    assert busy.determining_rule == "busy-project-transitions"
    assert busy.review_group == "engineering-leads"
    assert busy.shadow is not None and busy.shadow.as_dict() == {
        "decision": "deny",
        "review_group": None,
        "determining_rule": "deny-weekend-transitions",
        "matched_rules": ["deny-weekend-transitions"],
        "disagrees": True,
    }
    quiet = policies.evaluate(transition, usage={"transitions-per-project-day": 10})
    assert quiet.determining_rule is None  # no enforced rule: the (absent) defaults deny
    assert quiet.shadow is not None and not quiet.shadow.disagrees


def test_the_policy_test_example_passes_against_the_default_policy(policy_dir):
    test_example = blocks("yaml")[8]
    (policy_dir / "tests" / "doc_example_test.yaml").write_text(test_example)
    result = subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "test", "-v", str(policy_dir), "--filter", "*"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the seed's 12 High bugs go to engineering leads" in result.stdout


def test_the_python_example_runs(default_policy_dir, monkeypatch):
    monkeypatch.chdir(default_policy_dir.parent)
    (code,) = blocks("python")
    exec(compile(code, str(DOC), "exec"), {})


def test_the_documented_check_output_and_revision_are_current(default_policy_dir):
    policies = load_policies(default_policy_dir)
    text = DOC.read_text(encoding="utf-8")
    assert (
        f"ok: {len(policies.rules)} rules, {len(policies.groups)} groups, "
        f"revision {policies.revision}" in text
    )
    assert lint(policies) == []


def test_the_shipped_rules_table_lists_every_default_rule(default_policy_dir):
    """One row per rule of the default set, with its file and decision, and no other rows."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The shipped rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| `([a-z]+\.yaml)` \| `([a-z_]+)`", section, re.M)
    shipped = []
    for path in sorted(default_policy_dir.glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or []:
            shipped.append((rule["id"], path.name, rule["decision"]))
    assert sorted(rows) == sorted(shipped)


def test_the_documented_error_messages_are_the_real_ones(tmp_path):
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "groups.yaml").write_text(
        "review_groups:\n  engineering-leads: {description: Leads}\n"
        "  project-managers: {description: PMs}\n"
    )
    (directory / "jira.yaml").write_text(
        "rules:\n  - id: ok\n    match: {kind: read}\n    decision: allow\n"
        "  - id: bad-route\n    match:\n      action: jira_create_epic\n"
        "    decision: require_approval\n    route_to: pm\n"
    )
    from jiragate import PolicyLoadError

    with pytest.raises(PolicyLoadError) as caught:
        load_policies(directory)
    (issue,) = caught.value.issues
    message = f"jira.yaml:{issue.line} {issue.path}: {issue.message}"
    assert f"policies/{message}" in DOC.read_text(encoding="utf-8")


def test_the_custom_field_example_matches_by_name_whatever_the_agent_sent(tmp_path):
    """The site section's example: loaded, and evaluated on details keyed by name (as the
    gateway hands them to policies, tests/e2e/test_site_aware.py covers the by-id path)."""
    directory = tmp_path / "site-policies"
    directory.mkdir()
    (directory / "site.yaml").write_text(blocks("yaml")[9])
    policies = load_policies(directory)

    def decide(custom_fields):
        details = {"projectKey": "ENG", "issueType": "Bug", "summary": "x"}
        return policies.evaluate(
            {
                "action": "jira_create_ticket",
                "summary": "file",
                "details": {**details, "customFields": custom_fields},
            },
            agent="bot",
        )

    big = decide({"Customer impact": 8, "Team": "Payments"})
    assert big.decision is Effect.REQUIRE_APPROVAL
    assert big.determining_rule == "big-impact-needs-a-lead"
    other = decide({"Customer impact": 2, "Team": "Search"})
    assert other.decision is Effect.DENY and other.determining_rule == "team-payments-only"


def test_the_documented_check_site_output_is_the_real_one(tmp_path, monkeypatch):
    """The site section's `check --site` example, against the Data Center sandbox's own
    metadata (read through the adapter's snapshot code, in process)."""
    import asyncio
    import json

    import httpx

    from jiragate.jira.client import JiraClient
    from jiragate.jira.config import JiraConfig
    from jiragate.jira.sandbox import SandboxState, create_sandbox_app
    from jiragate.jira.sitemeta import snapshot_site

    app = create_sandbox_app(SandboxState(profile="datacenter"))

    async def read_site():
        config = JiraConfig(
            base_url="http://sandbox", flavour="datacenter", personal_access_token="t"
        )
        client = JiraClient(config, transport=httpx.ASGITransport(app=app))
        try:
            return await snapshot_site(client, config)
        finally:
            await client.aclose()

    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "site.yaml").write_text(blocks("yaml")[10])
    (tmp_path / "site.json").write_text(json.dumps(asyncio.run(read_site()).as_dict()))
    result = subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "check", "policies", "--site", "site.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    documented = blocks("text")[-1]
    assert result.stderr == documented


def test_a_move_is_decided_for_both_of_its_projects(policy_dir: Path) -> None:
    (policy_dir / "scope.yaml").write_text(blocks("yaml")[11], encoding="utf-8")
    policies = load_policies(policy_dir)

    def decide(source: str, target: str) -> tuple[str, str | None, str | None]:
        decision = policies.evaluate(
            {
                "action": "jira_move_issue",
                "summary": "move",
                "details": {"issueKey": f"{source}-1", "targetProjectKey": target},
            },
            agent="log-triage-bot",
        )
        return decision.decision.value, decision.determining_rule, decision.review_group

    deny = ("deny", "triage-bot-stays-in-eng-and-data", None)
    assert decide("ENG", "OPS") == deny  # into a project it may not touch
    assert decide("OPS", "ENG") == deny  # out of one
    assert decide("ENG", "DATA") == (
        "require_approval",
        "moves-out-of-a-project",
        "project-managers",
    )


def test_the_priorities_example_decides_as_documented(tmp_path: Path) -> None:
    """The Priorities section: P1/P2 to a lead, P3/P4 allowed, an unknown name failing
    closed in both rules, and `at_least: High` refused naming the declared order."""
    from jiragate.catalog import ActionRequest
    from jiragate.errors import PolicyLoadError

    example = blocks("yaml")[12]
    directory = tmp_path / "prio"
    directory.mkdir()
    (directory / "site.yaml").write_text(example)
    policies = load_policies(directory)

    def decide(priority: str) -> Effect:
        details = {"projectKey": "ENG", "issueType": "Bug", "summary": "s", "priority": priority}
        request = ActionRequest("jira_create_ticket", "s", details)
        return policies.evaluate(request, agent="bot", explain=True).decision

    assert decide("P1") is decide("P2") is Effect.REQUIRE_APPROVAL
    assert decide("P3") is decide("P4") is Effect.ALLOW
    assert decide("Blocker") is decide("p4") is Effect.REQUIRE_APPROVAL
    (directory / "site.yaml").write_text(example.replace("at_least: P2", "at_least: High"))
    with pytest.raises(PolicyLoadError) as refused:
        load_policies(directory)
    documented = "expects one of the set's priorities (P1, P2, P3, P4), got 'High'"
    assert documented in str(refused.value)
    assert documented in DOC.read_text(encoding="utf-8")

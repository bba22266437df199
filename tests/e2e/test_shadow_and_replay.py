"""Shadow rules and replay over real HTTP and real processes, on SQLite and PostgreSQL.

A shadow rule is evaluated and recorded ("would have denied") but never decides: the agent
gets the enforced decision; the action's decision, its audit event, `GET /v1/policies` and
`/metrics` show the shadow outcome and whether it disagrees. `jiragate replay` (a separate
process, reading the database read-only) re-evaluates the recorded actions against another
policy directory and prints the decisions that would change, with totals (each exit status
from a real process; further variants through the same entry function, see tests/helpers/cli.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.support import (
    DB_KINDS,
    audit_events,
    copy_policies,
    database_url,
    envelope,
)
from tests.helpers import cli
from tests.helpers.service import Service, running_service

Completed = subprocess.CompletedProcess[str]

SHADOW_FILE = """
shadow: true   # every rule here is a shadow rule
rules:
  - id: shadow-deny-epics
    match: {action: jira_create_epic}
    decision: deny
    reason: Epics would be refused under the planned policy.
"""
CANDIDATE_EXTRA = """
budgets:
  two-tickets-an-hour:
    description: A much tighter ticket budget under consideration.
    actions: [jira_create_ticket]
    window: 1h
    limit: 2
rules:
  - id: tight-ticket-budget
    match:
      action: jira_create_ticket
      over_budget: two-tickets-an-hour
    decision: deny
    reason: Two tickets an hour.
  - id: deny-epics-now
    match: {action: jira_create_epic}
    decision: deny
    reason: Epics are refused.
"""


@pytest.fixture(params=DB_KINDS)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    policies = copy_policies(tmp_path)
    (policies / "shadow.yaml").write_text(SHADOW_FILE, encoding="utf-8")
    with (
        database_url(request, request.param, tmp_path) as url,
        running_service(url, policy_dir=policies) as service,
    ):
        yield service, url


def epic(name: str) -> dict:
    return envelope("jira_create_epic", projectKey="ENG", summary=name)


def ticket(name: str) -> dict:
    return envelope(
        "jira_create_ticket", projectKey="ENG", summary=name, issueType="Bug", priority="Low"
    )


def replay(
    url: str, policies: Path, *extra: str, run: Callable[..., Completed] = cli.process
) -> Completed:
    """`jiragate replay`: a real process for each exit status, `run=cli.in_process` (the same
    entry function in this process) for further variants of one."""
    return run("replay", "--policies", str(policies), "--database-url", url, *extra)


def test_a_shadow_rule_is_recorded_but_never_decides(setup: tuple[Service, str]):
    service, _ = setup
    response = service.agent.post("/v1/actions", json=epic("Fraud detection"))
    assert response.status_code == 202, response.text  # enforced: project managers review
    action = response.json()
    assert action["status"] == "pending_approval"
    shadow = action["decision"]["shadow"]
    assert shadow == {
        "decision": "deny",
        "review_group": None,
        "determining_rule": "shadow-deny-epics",
        "matched_rules": ["shadow-deny-epics"],
        "disagrees": True,
    }
    assert "shadow-deny-epics" not in action["decision"]["matched_rules"]
    submitted = [e for e in audit_events(service, action["id"]) if e["type"] == "action.submitted"]
    assert submitted[0]["data"]["shadow"]["disagrees"] is True

    # An action no shadow rule matches carries no shadow outcome.
    other = service.agent.post("/v1/actions", json=ticket("Checkout 500s")).json()
    assert "shadow" not in other["decision"]

    listed = service.client("auditor").get("/v1/policies").json()
    flags = {rule["id"]: rule["shadow"] for rule in listed["rules"]}
    assert flags["shadow-deny-epics"] is True and flags["bulk-creation"] is False
    assert listed["shadow"]["rules"] == ["shadow-deny-epics"]
    assert listed["shadow"]["disagreements"] == 1
    assert listed["shadow"]["by_rule"]["shadow-deny-epics"] == {"matched": 1, "disagreed": 1}
    # A shadow rule is no lint target: it shadows nothing.
    assert not any("shadow-deny-epics" in w["message"] for w in listed["warnings"])

    metrics = service.client("auditor").get("/metrics").text
    assert (
        'jiragate_shadow_outcomes_total{decision="deny",disagrees="true",'
        'rule="shadow-deny-epics"} 1.0'
    ) in metrics


def test_replay_prints_the_decisions_another_policy_set_would_change(
    setup: tuple[Service, str], tmp_path: Path
):
    service, url = setup
    ids = [service.agent.post("/v1/actions", json=ticket(f"t{n}")).json()["id"] for n in range(3)]
    epic_id = service.agent.post("/v1/actions", json=epic("Payments")).json()["id"]
    candidate = copy_policies(tmp_path)
    (candidate / "candidate.yaml").write_text(CANDIDATE_EXTRA, encoding="utf-8")

    completed = replay(url, candidate, "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    changed = {c["id"]: c for c in report["changes"]}
    # The third ticket of the hour would be denied by the tighter budget; the first two not.
    assert set(changed) == {ids[2], epic_id}
    assert changed[ids[2]]["old"]["decision"] == "require_approval"
    assert changed[ids[2]]["new"] == {
        "decision": "deny",
        "rule": "tight-ticket-budget",
        "review_group": None,
    }
    assert "two-tickets-an-hour: 2 of 2 used" in changed[ids[2]]["reason"]
    assert changed[epic_id]["new"]["rule"] == "deny-epics-now"
    assert report["totals"] == {
        "replayed": 4,
        "changed": 2,
        "unchanged": 2,
        "skipped": 0,
        "by_change": {"require_approval → deny": 2},
    }

    text = replay(url, candidate, "--fail-on-change")
    assert text.returncode == 1, text.stderr  # a pipeline stops on a change
    assert f"{epic_id} jira_create_epic by log-triage-bot: require_approval → " in text.stdout
    assert text.stdout.splitlines()[-1].startswith("4 replayed, 2 would change, 2 unchanged")

    # Nothing recorded from then on: nothing to replay.
    later = replay(
        url, candidate, "--since", "2999-01-01T00:00:00Z", "--format", "json", run=cli.in_process
    )
    assert json.loads(later.stdout)["totals"]["replayed"] == 0


@pytest.mark.parametrize(
    ("args", "says", "run"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 time", cli.process),
        (["--since", "2026-12-01T00:00:00"], "has no timezone", cli.in_process),
    ],
)
def test_replay_names_bad_input(
    setup: tuple[Service, str], args: list[str], says: str, run: Callable[..., Completed]
):
    _, url = setup
    completed = replay(url, Path("policies"), *args, run=run)
    assert completed.returncode == 2
    assert says in completed.stderr


def test_replay_refuses_a_candidate_set_that_does_not_load(
    setup: tuple[Service, str], tmp_path: Path
):
    _, url = setup
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "r.yaml").write_text(
        "rules:\n  - id: x\n    match: {over_budget: nope, action: jira_create_ticket}\n"
        "    decision: deny\n",
        encoding="utf-8",
    )
    completed = replay(url, broken, run=cli.in_process)  # exit 2 from a real process: above
    assert completed.returncode == 2
    assert "unknown budget 'nope' (known: none defined)" in completed.stderr

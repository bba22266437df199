"""docs/approvals.md: its examples are real — the group settings load with the policy
loader, the account settings validate and map accounts to the people the text says, and the
decision body is what the decision API accepts."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from jiragate.gateway.binding import changes
from jiragate.policy.loader import load_model
from jiragate.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "approvals.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def block_with(language: str, needle: str) -> str:
    found = [b for b in blocks(language) if needle in b]
    assert len(found) == 1, f"one {language} block with {needle!r} in docs/approvals.md"
    return found[0]


def test_the_on_change_example_loads_with_the_policy_set(tmp_path: Path):
    example = yaml.safe_load(block_with("yaml", "on_change"))["review_groups"]
    policy_dir = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policy_dir, ignore=shutil.ignore_patterns("*_test.yaml"))
    groups_file = policy_dir / "groups.yaml"
    groups = yaml.safe_load(groups_file.read_text(encoding="utf-8"))
    for name, fields in example.items():
        groups["review_groups"][name].update(fields)
    groups_file.write_text(yaml.safe_dump(groups), encoding="utf-8")
    model = load_model(policy_dir)
    assert {n: model.groups[n].on_change for n in example} == {
        "engineering-leads": "review",
        "project-managers": "fail",
    }


def test_the_accounts_example_maps_accounts_to_people():
    text = re.sub(r"\$\{(\w+)\}", lambda m: f"key-{m.group(1).lower()}-0123456789", DOC)
    data: dict[str, Any] = yaml.safe_load(
        next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "on_behalf_of" in b)
    )
    settings = Settings(**data)
    assert settings.principal_of("ide-assistant") == settings.person_of("lead-alice")
    assert settings.person_of("lead-bob") == settings.person_of("bob-admin")
    assert settings.person_of("lead-bob") != settings.person_of("lead-alice")


def test_the_snapshot_and_decision_examples_are_what_the_code_reads():
    snapshot = json.loads(block_with("json", '"issues"'))
    moved = json.loads(json.dumps(snapshot))
    moved["issues"]["ENG-3"]["status"] = "In Review"
    moved["issues"]["ENG-3"]["updated"] = "later"
    assert changes(snapshot, moved) == [
        {"target": "ENG-3", "field": "status", "before": "In Progress", "after": "In Review"}
    ]
    decision = json.loads(block_with("json", '"snapshot"'))
    assert set(decision) == {"verdict", "snapshot"} and decision["snapshot"] == snapshot["hash"]

"""`jiragate jira snapshot --out site.json` against the Data Center sandbox, then
`jiragate check --site site.json`, both as real processes: the snapshot holds the site's
P1..P4, Sub-task and custom fields, and check names what the policies use that it lacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app

REPO = Path(__file__).resolve().parents[2]
PAT = "sandbox-pat-not-a-secret"


@pytest.fixture(scope="module")
def dc_url() -> Iterator[str]:
    state = SandboxState(profile="datacenter", bearer_token=PAT)
    with serve_app(create_sandbox_app(state)) as url:
        yield url


def jiragate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jiragate.cli", *args],
        env={**os.environ, "PYTHONPATH": str(REPO / "service"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def snapshot(url: str, out: Path) -> dict[str, object]:
    done = jiragate(
        "jira",
        "snapshot",
        "--out",
        str(out),
        env={
            "JIRAGATE_JIRA__URL": url,
            "JIRAGATE_JIRA__FLAVOUR": "datacenter",
            "JIRAGATE_JIRA__PERSONAL_ACCESS_TOKEN": PAT,
        },
    )
    assert done.returncode == 0, done.stderr
    assert "4 priorities" in done.stdout and "projects: ENG, OPS" in done.stdout
    data: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_snapshot_then_check_names_what_the_site_lacks(dc_url: str, tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    data = snapshot(dc_url, site)
    assert data["priorities"] == ["P1", "P2", "P3", "P4"]
    assert data["subtaskTypes"] == ["Sub-task"]
    assert "Sub-task" in data["projectIssueTypes"]["ENG"]  # type: ignore[index]
    names = {field["name"] for field in data["fields"]}  # type: ignore[attr-defined]
    assert {"Epic Name", "Story Points", "Story point estimate"} <= names

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "site.yaml").write_text(
        """\
review_groups:
  leads: {description: Leads, members: [lead]}
rules:
  - id: urgent-bugs
    match:
      action: jira_create_ticket
      details.priority: [P1, Highest]
      details.issueType: Subtask
    decision: require_approval
    route_to: leads
  - id: big-estimates
    match:
      action: jira_create_ticket
      details.customFields."Story Pionts": {gt: 8}
    decision: require_approval
    route_to: leads
  - id: closing
    match:
      action: jira_transition_issues
      details.targetStatus: Closed
    decision: deny
""",
        encoding="utf-8",
    )
    plain = jiragate("check", str(policies))
    assert plain.returncode == 0, plain.stderr  # without a site any name may be the site's
    checked = jiragate("check", str(policies), "--site", str(site))
    assert checked.returncode == 2, checked.stdout
    errors = checked.stderr
    assert "site.yaml:" in errors
    assert "'Highest' is not a priority on this site" in errors and "'P1', 'P2'" in errors
    assert "'Subtask' is not an issue type on this site" in errors
    assert "did you mean 'Sub-task'?" in errors
    assert "no custom field named 'Story Pionts'; did you mean 'Story Points'?" in errors
    assert "'Closed' is not a status on this site" in errors
    assert "4 names the site lacks" in errors
    # The set declares no order, so Jira's five are compared, and the site has P1..P4.
    assert "priorities (Jira's default, none declared) are Highest > High" in errors
    assert "the site's are P1 > P2 > P3 > P4" in errors
    assert "declare the site's: `priorities: [P1, P2, P3, P4]`" in errors


def test_check_site_passes_a_set_declaring_the_sites_order(dc_url: str, tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    snapshot(dc_url, site)
    policies = tmp_path / "policies"
    policies.mkdir()
    body = (
        "review_groups:\n  leads: {description: Leads, members: [lead]}\n"
        "rules:\n  - id: urgent\n    match: {action: jira_create_ticket, "
        "details.priority: {at_least: P2}}\n    decision: require_approval\n"
        "    route_to: leads\n"
    )
    (policies / "site.yaml").write_text("priorities: [P1, P2, P3, P4]\n" + body, encoding="utf-8")
    done = jiragate("check", str(policies), "--site", str(site))
    assert done.returncode == 0, done.stderr
    (policies / "site.yaml").write_text("priorities: [P1, P3, P2, P4]\n" + body, encoding="utf-8")
    swapped = jiragate("check", str(policies), "--site", str(site))
    assert swapped.returncode == 2, swapped.stdout
    assert "site.yaml:1" in swapped.stderr and "(declared at " in swapped.stderr
    assert "the same names in another order" in swapped.stderr


def test_the_shipped_policies_pass_against_a_cloud_like_site(dc_url: str, tmp_path: Path) -> None:
    """The shipped policies name the standard priorities: a Data Center site with P1..P4
    fails them, which is what check --site is for; a snapshot edited to the standard names
    passes."""
    site = tmp_path / "site.json"
    data = snapshot(dc_url, site)
    data["priorities"] = ["Highest", "High", "Medium", "Low", "Lowest"]
    site.write_text(json.dumps(data), encoding="utf-8")
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    done = jiragate("check", str(policies), "--site", str(site))
    assert done.returncode == 0, done.stderr


def test_a_file_that_is_not_a_snapshot_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "site.json"
    bogus.write_text('{"priorities": []}', encoding="utf-8")
    done = jiragate("check", str(REPO / "policies"), "--site", str(bogus))
    assert done.returncode == 2
    assert "not a Jiragate site snapshot" in done.stderr

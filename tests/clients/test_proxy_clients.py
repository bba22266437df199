"""Real Jira clients, unchanged, gated by pointing them at Jiragate (docs/proxy.md).

pycontribs `jira`, `atlassian-python-api` and `mcp-atlassian` (over stdio, in its Cloud-style
Basic and its Server/DC personal-token modes) run from their own virtual environment against
a running Jiragate (uvicorn) whose upstream is the Jira sandbox, holding only an agent key.
Their reads work unchanged; a high-priority create is held (the error text the client raises,
which is what a model sees, names the review group and the action id); after approval the
same call returns the created issue and calling it again creates nothing; a delete in a
denied project comes back with the rule and its reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiragate.jira.sandbox import SandboxState
from tests.clients.test_real_clients import CLIENTS_PYTHON, REPO_ROOT, SCRIPTS
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.helpers.service import DC_JIRA, KEYS, Service, running_service

AGENT_KEY = KEYS["log-triage-bot"]


@pytest.fixture(scope="module")
def clients_python() -> Path:
    if not CLIENTS_PYTHON.exists():
        reason = f"{CLIENTS_PYTHON} is missing: run .ci/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CLIENTS_PYTHON


def gateway_for(tmp_path: Path, profile: str) -> Any:
    overrides: dict[str, Any] = {
        "policy_dir": copy_policies_denying_ops(tmp_path),
        "proxy_wait_seconds": 0.2,
    }
    if profile == "datacenter":
        overrides["jira"] = dict(DC_JIRA)
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    return running_service(db, sandbox_state=SandboxState(profile=profile), **overrides)


def run(python: Path, client: str, url: str, mode: str, phase: str, tag: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    done = subprocess.run(
        [str(python), str(SCRIPTS / "proxy_client.py"), client, url, mode, AGENT_KEY, phase, tag],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"{client} exited {done.returncode}:\n{done.stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def run_inline(python: Path, script: str, *args: str) -> dict[str, Any]:
    """Run `script` (a client program given as text) in the clients' venv with only loopback
    reachable; what it printed last, as JSON."""
    done = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1,localhost"},
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1))
    return report


def action_in(text: str) -> str:
    found = re.search(r"act_[0-9a-f]{32}", text)
    assert found, f"no action id in {text!r}"
    return found.group(0)


CASES = [
    ("pycontribs", "cloud", "cloud"),
    ("pycontribs", "server", "datacenter"),
    ("atlassian", "cloud", "cloud"),
    ("atlassian", "server", "datacenter"),
    # mcp-atlassian takes every loopback URL for Server/DC: both auth styles, DC upstream.
    ("mcp", "cloud", "datacenter"),
    ("mcp", "server", "datacenter"),
]


@pytest.fixture(params=CASES, ids=[f"{c}-{m}" for c, m, _ in CASES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Service]]:
    client, mode, profile = request.param
    with gateway_for(tmp_path, profile) as service:
        yield client, mode, service


def test_a_real_client_is_gated_by_changing_its_url(
    clients_python: Path, case: tuple[str, str, Service]
) -> None:
    client, mode, service = case
    tag = f"px-{uuid.uuid4().hex[:8]}"
    first = run(clients_python, client, service.url, mode, "first", tag)
    print(json.dumps(first, indent=1)[:6000])
    for read in ("read", "search", "transitions"):
        assert first[read]["ok"], (read, first[read])
    if client == "atlassian":  # the deprecated createmeta, the paged version list
        assert "Epic" in first["create_meta"]["value"], first["create_meta"]
        assert first["versions_page"]["value"] == ["1.0"], first["versions_page"]
        mapped: dict[str, list[dict[str, Any]]] = {
            "jira_get_create_meta": [{"projectKey": "ENG"}],
            "jira_list_versions": [{"projectKey": "ENG", "released": True}],
        }
    elif client == "mcp":  # the development panel, through dev-status by the issue's id
        assert "feature/ENG-3-apple-pay" in first["development"]["text"], first["development"]
        # Its summary, then one detail per data type GitHub has for the issue.
        detail = {"issueKeys": ["ENG-3"], "applicationType": "GitHub"}
        types = ("branch", "pullrequest", "repository")
        panel = [{"issueKeys": ["ENG-3"]}, *({**detail, "dataType": t} for t in types)]
        mapped = {"jira_get_development_info": panel}
        # Jira Service Management: ENG's desk (2) and its queue 4 read through the proxy as
        # the catalog's JSM actions; OPS's desk (1) is denied by the policy on OPS.
        for name, words in (
            ("jsm_desk", "/rest/servicedeskapi/servicedesk/2"),
            ("jsm_queues", "Engineering open"),
            ("jsm_queue_issues", "ENG-"),
        ):
            assert first[name]["ok"] and words in first[name]["text"], (name, first[name])
        # mcp-atlassian turns any error of its queue list into an empty list (it catches
        # every exception: mcp_atlassian/jira/queues.py), so the model sees no queues, not
        # the denial; the gate still held: denied, recorded, nothing sent to Jira.
        assert '"queues": []' in first["jsm_denied"]["text"], first["jsm_denied"]
        listed = service.agent.get("/v1/actions", params={"action": "jira_list_queues"}).json()
        by_project = {a["details"]["projectKey"]: a for a in listed["items"]}
        assert set(by_project) == {"ENG", "OPS"}, listed
        assert by_project["OPS"]["status"] == "denied" and by_project["OPS"]["rule"] == "deny-ops"
        assert not [r for r in service.sandbox.logged() if "/servicedesk/1/" in r.path]
        issues = service.agent.get("/v1/actions", params={"action": "jira_get_queue_issues"})
        assert {a["details"]["projectKey"] for a in issues.json()["items"]} == {"ENG"}
    else:
        mapped = {}
    for action, expected in mapped.items():
        listed = service.agent.get("/v1/actions", params={"action": action}).json()["items"]
        got = sorted((a["details"] for a in listed), key=json.dumps)
        assert got == sorted(expected, key=json.dumps), (action, listed)
    held = first["gated"]
    assert not held["ok"], held
    assert "engineering-leads" in held["text"], held
    creates = mode == "cloud" and client != "mcp"
    rule = "high-priority-creation" if creates else "comments-from-agents"
    assert rule in held["text"], held
    action_id = action_in(held["text"])
    denied = first["delete_denied"]
    assert not denied["ok"], denied
    assert "deny-ops" in denied["text"] and "Nothing is written to OPS" in denied["text"]
    assert "OPS-1" in service.sandbox.issues

    service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    ).raise_for_status()
    service.wait_for_status(action_id, "executed")
    again = run(clients_python, client, service.url, mode, "again", tag)
    print(json.dumps(again, indent=1)[:3000])
    for name in ("gated_again", "gated_once_more"):
        assert again[name]["ok"], (name, again[name])
    if creates:
        made = service.sandbox_issues(label=tag)
        assert len(made) == 1, made
        assert all(made[0].key in json.dumps(again[n]) for n in ("gated_again", "gated_once_more"))
    else:
        with service.sandbox.lock:
            comments = [c for c in service.sandbox.issues["ENG-2"].comments if tag in str(c.body)]
        assert len(comments) == 1, comments

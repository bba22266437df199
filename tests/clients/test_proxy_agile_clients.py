"""pycontribs `jira`'s version, sprint and component calls through the proxy: each is the
catalog action a policy names (proxy/agile_rows.py), as the client sends it — not as our own
tests imagine it (docs/proxy.md, "Ids the path names")."""

from __future__ import annotations

from pathlib import Path

from tests.clients.test_proxy_clients import (  # noqa: F401
    AGENT_KEY,
    action_in,
    clients_python,
    run_inline,
)
from tests.helpers.service import running_service

SCRIPT = """
import json, sys
from jira import JIRA
url, key = sys.argv[1:3]
jira = JIRA(server=url, token_auth=key, max_retries=0)
out = {}
def step(name, work):
    try:
        work()
        out[name] = "ok"
    except Exception as exc:  # the client's own error text, which names the action id
        out[name] = str(exc)
step("release", lambda: jira.version("10101").update(released=True))
step("create_sprint", lambda: jira.create_sprint("sprint_44", 1, goal="Payments"))
step("start_sprint", lambda: jira.update_sprint(
    103, state="active", startDate="2024-05-06T09:00:00.000Z", endDate="2024-05-20T17:00:00.000Z"
))
step("component", lambda: jira.component("10200").update(description="Cart and receipts"))
step("rank", lambda: jira.rank("ENG-3", prev_issue="ENG-1"))
out["rank_field"] = jira._rank  # the field the client found named Rank, and sent
print(json.dumps(out))
"""

EXPECTED = {
    "release": ("jira_release_version", {"projectKey": "ENG", "versionId": "10101"}),
    "create_sprint": (
        "jira_create_sprint",
        {"projectKey": "ENG", "boardId": 1, "name": "sprint_44", "goal": "Payments"},
    ),
    "start_sprint": (
        "jira_start_sprint",
        {
            "projectKey": "ENG",
            "sprintId": 103,
            "startDate": "2024-05-06T09:00:00.000Z",
            "endDate": "2024-05-20T17:00:00.000Z",
        },
    ),
    "component": (
        "jira_update_component",
        {"projectKey": "ENG", "componentId": "10200", "description": "Cart and receipts"},
    ),
    "rank": ("jira_rank_issues", {"issueKeys": ["ENG-3"], "rankAfterIssue": "ENG-1"}),
}


def test_pycontribs_version_sprint_component_and_rank_calls_are_their_actions(
    clients_python: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    with running_service(db, proxy_wait_seconds=0.2) as service:
        raised = run_inline(clients_python, SCRIPT, service.url, AGENT_KEY)
        assert raised["rank_field"] == 10019  # sent as rankCustomFieldId, and accepted
        for step, (action, details) in EXPECTED.items():
            assert "holding this request for review" in raised[step], (step, raised[step])
            record = service.agent_view(action_in(raised[step]))
            assert (record["action"], record["details"]) == (action, details), step
        with service.sandbox.lock:
            assert service.sandbox.versions[10101].released is False
            assert service.sandbox.sprints[103].state == "future"

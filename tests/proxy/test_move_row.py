"""`POST /rest/api/3/bulk/issues/move` through the proxy is jira_move_issue.

mcp-atlassian's move sends exactly this body (one issue by key, `<project>,<typeId>`, every
`infer*` true). As a project-less generic write it would get only the defaults, and a rule
keeping agents out of OPS would not see it; as jira_move_issue it is decided for its source
and its target like the same action on /v1/actions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.policy_files import DENY_OPS
from tests.helpers.service import Service, running_service, unbudgeted_policies
from tests.proxy.conftest import AGENT_KEY
from tests.proxy.support import held_action

PATH = "/rest/api/3/bulk/issues/move"


def body(key: str = "ENG-2", target: str = "OPS,10001", **mapping: Any) -> dict[str, Any]:
    return {
        "sendBulkNotification": False,
        "targetToSourcesMapping": {
            target: {
                "inferClassificationDefaults": True,
                "inferFieldDefaults": True,
                "inferStatusDefaults": True,
                "inferSubtaskTypeDefault": True,
                "issueIdsOrKeys": [key],
                **mapping,
            }
        },
    }


def type_id_of(service: Service, key: str) -> str:
    from jiragate.jira.sandbox.state import issue_type

    with service.sandbox.lock:
        return issue_type(service.sandbox.issues[key].issue_type).id


def bulk_sent(service: Service) -> list[str]:
    return [r.path for r in service.sandbox.logged() if r.path == PATH]


def test_a_proxied_move_is_the_action_and_runs_once_approved(
    service: Service, jira: httpx.Client
) -> None:
    answer = jira.post(PATH, json=body(target=f"OPS,{type_id_of(service, 'ENG-2')}"))
    assert answer.status_code == 409, answer.text  # held for a reviewer
    action_id = held_action(answer)
    record = service.agent_view(action_id)
    assert record["action"] == "jira_move_issue"
    assert record["details"] == {"issueKey": "ENG-2", "targetProjectKey": "OPS"}
    assert record["review_group"] == "project-managers"
    assert bulk_sent(service) == []  # nothing reached Jira before the approval
    decided = service.client("pm-carol").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    final = service.wait_for_status(action_id, "executed", "failed")
    assert final["status"] == "executed", final
    task = final["result"]["data"]["taskId"]
    # The client can follow Jira's task through the proxy (a generic read).
    progress = jira.get(f"/rest/api/3/bulk/queue/{task}")
    assert progress.status_code == 200, progress.text
    assert progress.json()["status"] == "COMPLETE"
    assert bulk_sent(service) == [PATH]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (body(target="OPS,10001,ENG-1"), "no parent"),
        (body(target="10001,10001"), "project key"),
        (body(key="10002"), "by key"),
        (body(key="eng-2"), "by key"),
        (body(inferFieldDefaults=False), "infer every default"),
        (body(targetStatus=[{}]), "targetStatus"),
        ({"targetToSourcesMapping": {**body()["targetToSourcesMapping"], "ENG,10001": {}}}, "one"),
        ({**body(), "extra": 1}, "extra"),
    ],
    ids=["parent", "project-id", "issue-id", "lower-key", "infer", "status", "two", "extra"],
)
def test_what_the_action_cannot_carry_is_refused_and_recorded_nowhere(
    service: Service, jira: httpx.Client, payload: dict[str, Any], message: str
) -> None:
    answer = jira.post(PATH, json=payload)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["errorMessages"][0]
    assert service.agent.get("/v1/actions").json()["items"] == []
    assert bulk_sent(service) == []


def test_another_issue_type_is_named_as_on_v1_actions(service: Service, jira: httpx.Client) -> None:
    current = type_id_of(service, "ENG-2")
    other = "10002" if current != "10002" else "10001"
    answer = jira.post(PATH, json=body(target=f"OPS,{other}"))
    assert answer.status_code == 409, answer.text
    record = service.agent_view(held_action(answer))
    assert record["details"]["targetIssueType"] == {"10001": "Bug", "10002": "Task"}[other]
    unknown = jira.post(PATH, json=body(target="OPS,99999"))
    assert unknown.status_code == 400 and "not on this site" in unknown.text
    missing = jira.post(PATH, json=body(key="ENG-999"))
    assert missing.status_code == 404, missing.text


def test_a_proxied_move_into_a_denied_project_is_denied(db_url: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(unbudgeted_policies(), policies)
    (policies / "ops.yaml").write_text(DENY_OPS, encoding="utf-8")
    with (
        running_service(db_url, policy_dir=policies, proxy_wait_seconds=0.2) as service,
        httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {AGENT_KEY}"}, timeout=30
        ) as jira,
    ):
        answer = jira.post(PATH, json=body(target=f"OPS,{type_id_of(service, 'ENG-2')}"))
        assert answer.status_code == 400, answer.text
        assert "deny-ops" in answer.json()["errorMessages"][0]
        assert bulk_sent(service) == []
        with service.sandbox.lock:
            assert service.sandbox.issues["ENG-2"].project_key == "ENG"

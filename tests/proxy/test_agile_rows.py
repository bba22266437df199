"""The proxy's rows for versions, components, sprints, ranking and epics (proxy/agile_rows.py):
a real Jiragate in front of the Jira sandbox. The path names a bare id; the action's project
is the one Jira places it in, whatever the body says."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox.faults import parse_fault
from jiragate.jira.sandbox.state import EPIC_NAME_FIELD, STORY_POINTS_FIELD, TEAM_FIELD, Version
from tests.helpers.service import Service, running_service, unbudgeted_policies
from tests.proxy.conftest import AGENT_KEY
from tests.proxy.support import held_action, latest, send

REVIEWER_OF = {"engineering-leads": "lead-alice", "project-managers": "pm-carol"}

# (method, path, query, body) -> (action, details): what an agent on /v1/actions would send.
CASES: list[tuple[str, str, dict[str, str], Any, str, dict[str, Any]]] = [
    (
        "PUT",
        "/rest/api/3/version/10101",
        {},
        {"description": "Checkout, part two", "releaseDate": "2024-05-01"},
        "jira_update_release",
        {
            "projectKey": "ENG",
            "versionId": "10101",
            "description": "Checkout, part two",
            "releaseDate": "2024-05-01",
        },
    ),
    (
        "PUT",
        "/rest/api/2/version/10101",
        {},
        {"released": True, "releaseDate": "2024-05-02", "project": "ENG"},
        "jira_release_version",
        {"projectKey": "ENG", "versionId": "10101", "releaseDate": "2024-05-02"},
    ),
    (
        "PUT",
        "/rest/api/3/version/10100",
        {},
        {"archived": True, "released": True},  # already released: only the archive is asked
        "jira_archive_version",
        {"projectKey": "ENG", "versionId": "10100"},
    ),
    (
        "DELETE",
        "/rest/api/3/version/10100",
        {"moveFixIssuesTo": "10101"},
        None,
        "jira_delete_version",
        {"projectKey": "ENG", "versionId": "10100", "moveFixIssuesTo": "10101"},
    ),
    (  # Cloud's delete: the same action, the moves from the body
        "POST",
        "/rest/api/3/version/10100/removeAndSwap",
        {},
        {"moveFixIssuesTo": 10101, "customFieldReplacementList": []},
        "jira_delete_version",
        {"projectKey": "ENG", "versionId": "10100", "moveFixIssuesTo": 10101},
    ),
    (
        "PUT",
        "/rest/api/3/version/10100/mergeto/10101",
        {},
        None,
        "jira_merge_versions",
        {"projectKey": "ENG", "versionId": "10100", "targetVersionId": "10101"},
    ),
    (
        "PUT",
        "/rest/api/3/component/10200",
        {},
        {"description": "Cart, payment, receipts", "leadAccountId": "5b10a2844c20165700ede21b"},
        "jira_update_component",
        {
            "projectKey": "ENG",
            "componentId": "10200",
            "description": "Cart, payment, receipts",
            "lead": "5b10a2844c20165700ede21b",
        },
    ),
    (
        "DELETE",
        "/rest/api/3/component/10201",
        {"moveIssuesTo": "10200"},
        None,
        "jira_delete_component",
        {"projectKey": "ENG", "componentId": "10201", "moveIssuesTo": "10200"},
    ),
    (
        "POST",
        "/rest/agile/1.0/sprint",
        {},
        {"name": "sprint_44", "originBoardId": 1, "goal": "Payments"},
        "jira_create_sprint",
        {"projectKey": "ENG", "boardId": 1, "name": "sprint_44", "goal": "Payments"},
    ),
    (
        "PUT",
        "/rest/agile/1.0/sprint/103",
        {},
        {"goal": "Hardening and docs"},
        "jira_update_sprint",
        {"projectKey": "ENG", "sprintId": 103, "goal": "Hardening and docs"},
    ),
    (
        "POST",
        "/rest/agile/1.0/sprint/103",
        {},
        {"state": "active", "endDate": "2024-05-20T17:00:00.000Z"},
        "jira_start_sprint",
        {"projectKey": "ENG", "sprintId": 103, "endDate": "2024-05-20T17:00:00.000Z"},
    ),
    (
        "POST",
        "/rest/agile/1.0/sprint/102",
        {},
        {"state": "closed"},
        "jira_close_sprint",
        {"projectKey": "ENG", "sprintId": 102},
    ),
    (
        "DELETE",
        "/rest/agile/1.0/sprint/103",
        {},
        None,
        "jira_delete_sprint",
        {"projectKey": "ENG", "sprintId": 103},
    ),
    (
        "PUT",
        "/rest/agile/1.0/issue/rank",
        {},
        {"issues": ["ENG-3"], "rankBeforeIssue": "ENG-1"},
        "jira_rank_issues",
        {"issueKeys": ["ENG-3"], "rankBeforeIssue": "ENG-1"},
    ),
    (  # naming the site's default Rank field, as pycontribs does, is the same ranking
        "PUT",
        "/rest/agile/1.0/issue/rank",
        {},
        {"issues": ["ENG-3"], "rankAfterIssue": "ENG-1", "rankCustomFieldId": 10019},
        "jira_rank_issues",
        {"issueKeys": ["ENG-3"], "rankAfterIssue": "ENG-1"},
    ),
    (
        "POST",
        "/rest/agile/1.0/epic/ENG-1/issue",
        {},
        {"issues": ["ENG-6"]},
        "jira_link_to_epic",
        {"epicKey": "ENG-1", "issueKeys": ["ENG-6"]},
    ),
    (
        "POST",
        "/rest/agile/1.0/epic/none/issue",  # the epic they are under now, read from Jira
        {},
        {"issues": ["ENG-2", "ENG-3"]},
        "jira_unlink_from_epic",
        {"epicKey": "ENG-1", "issueKeys": ["ENG-2", "ENG-3"]},
    ),
]


def test_each_row_is_its_catalog_action_and_decided_as_on_v1_actions(service: Service, jira):
    start = next(c for c in CASES if c[4] == "jira_start_sprint")
    with service.sandbox.lock:  # a start takes the dates the sprint has when the body has none
        service.sandbox.sprints[103].start_date = "2024-05-06T09:00:00.000Z"
    start[5]["startDate"] = "2024-05-06T09:00:00.000Z"
    for method, path, query, body, action, details in CASES:
        answer = send(jira, method, path, query, body)
        assert answer.status_code in (400, 409), (path, answer.text)
        record = latest(service, action)
        assert record["details"] == details, path
        envelope = {"action": action, "summary": "same", "details": details}
        direct = service.agent.post("/v1/evaluate", json=envelope).json()
        assert direct["decision"] == record["decision"]["decision"], path
        assert direct["determining_rule"] == record["rule"], path
    # Nothing ran: every one of them waits for a reviewer (or was denied).
    with service.sandbox.lock:
        assert service.sandbox.versions[10101].description == "Checkout"
        assert service.sandbox.sprints[102].state == "active"


def approve(service: Service, answer: httpx.Response, **edits: Any) -> str:
    action_id = held_action(answer)
    record = service.agent_view(action_id)
    body = {"verdict": "approve", **({"modifiedDetails": edits} if edits else {})}
    decided = service.client(REVIEWER_OF[record["review_group"]]).post(
        f"/v1/approvals/{action_id}/decision", json=body
    )
    assert decided.status_code == 200, decided.text
    service.wait_for_status(action_id, "executed")
    return action_id


def test_approved_with_edits_the_forwarded_write_carries_the_reviewers_text(service: Service, jira):
    version = {"description": "Checkout, part two"}
    approve(service, jira.put("/rest/api/3/version/10101", json=version), description="Edited")
    done = jira.put("/rest/api/3/version/10101", json=version)  # resent: its recorded answer
    assert (done.status_code, done.json()["description"]) == (200, "Edited"), done.text
    component = {"name": "Checkout v2"}
    approve(service, jira.put("/rest/api/3/component/10200", json=component), name="Cart")
    assert jira.put("/rest/api/3/component/10200", json=component).json()["name"] == "Cart"
    sprint = {"name": "sprint_44", "originBoardId": 1, "goal": "Payments"}
    approve(service, jira.post("/rest/agile/1.0/sprint", json=sprint), goal="Stabilise")
    created = jira.post("/rest/agile/1.0/sprint", json=sprint)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "sprint_44" and created.json()["originBoardId"] == 1
    release = {"released": True, "releaseDate": "2024-05-02"}
    approve(service, jira.put("/rest/api/3/version/10101", json=release))
    with service.sandbox.lock:
        assert service.sandbox.versions[10101].description == "Edited"
        assert service.sandbox.versions[10101].released is True
        assert service.sandbox.components[10200].name == "Cart"
        made = [s for s in service.sandbox.sprints.values() if s.name == "sprint_44"]
        assert [(s.board_id, s.goal) for s in made] == [(1, "Stabilise")]
    approve(service, jira.delete("/rest/agile/1.0/sprint/103"))
    assert jira.delete("/rest/agile/1.0/sprint/103").status_code == 204
    with service.sandbox.lock:
        assert 103 not in service.sandbox.sprints
    # Cloud's removeAndSwap, approved: the version is deleted once, its issues moved.
    swap = {"moveFixIssuesTo": 10100}
    approve(service, jira.post("/rest/api/3/version/10101/removeAndSwap", json=swap))
    assert jira.post("/rest/api/3/version/10101/removeAndSwap", json=swap).status_code == 204
    with service.sandbox.lock:
        assert 10101 not in service.sandbox.versions
        assert service.sandbox.issues["ENG-4"].fix_versions == [10100]
    deletes = [e for e in service.sandbox.logged() if e.method == "DELETE" and "10101" in e.path]
    assert len(deletes) == 1


# --------------------------------------------------------------------------- attacks

REFUSED = [
    # the body names another project than the one Jira places the id in
    ("PUT", "/rest/api/3/version/10101", {}, {"name": "1.1", "projectId": 10001}, "projectId"),
    ("PUT", "/rest/api/3/component/10200", {}, {"name": "DB", "project": "OPS"}, "project"),
    ("POST", "/rest/agile/1.0/sprint/103", {}, {"goal": "x", "originBoardId": 2}, "originBoardId"),
    # two intents in one request, or one the catalog has no action for
    ("PUT", "/rest/api/3/version/10101", {}, {"released": True, "name": "1.1 final"}, "name"),
    ("PUT", "/rest/api/3/version/10101", {}, {"released": True, "archived": True}, "two actions"),
    ("PUT", "/rest/api/3/version/10100", {}, {"released": False}, "released"),
    ("POST", "/rest/agile/1.0/sprint/103", {}, {"state": "active", "name": "x"}, "name"),
    ("POST", "/rest/agile/1.0/sprint/101", {}, {"state": "active"}, "closed"),
    # a query parameter or body field the action does not carry: refused, not dropped
    ("PUT", "/rest/api/3/version/10101", {"expand": "operations"}, {"name": "1.1"}, "expand"),
    ("DELETE", "/rest/api/3/component/10201", {"force": "true"}, None, "force"),
    ("PUT", "/rest/api/3/version/10101", {}, {"moveUnfixedIssuesTo": "x"}, "moveUnfixedIssues"),
    ("POST", "/rest/agile/1.0/sprint/103", {}, {"autoStartStop": True}, "autoStartStop"),
    (
        "PUT",
        "/rest/agile/1.0/issue/rank",
        {},
        {"issues": ["ENG-1"], "rankCustomFieldId": 1},
        "the site's is 10019",
    ),
    (  # the Rank field's id as text, or a boolean: not the field Jira would rank by
        "PUT",
        "/rest/agile/1.0/issue/rank",
        {},
        {"issues": ["ENG-1"], "rankBeforeIssue": "ENG-3", "rankCustomFieldId": "10019"},
        "rankCustomFieldId '10019'",
    ),
    (
        "PUT",
        "/rest/agile/1.0/issue/rank",
        {},
        {"issues": ["ENG-1"], "rankBeforeIssue": "ENG-3", "rankCustomFieldId": True},
        "rankCustomFieldId True",
    ),
    ("POST", "/rest/agile/1.0/epic/10005/issue", {}, {"issues": ["ENG-2"]}, "issue key"),
    ("POST", "/rest/agile/1.0/epic/none/issue", {}, {"issues": ["ENG-2", "ENG-6"]}, "ENG-6"),
]


def test_refused_requests_name_what_is_wrong_and_record_nothing(service: Service, jira):
    with service.sandbox.lock:  # another project's version to merge into
        service.sandbox.versions[10300] = Version(10300, 10001, "ops-1", "", False, False)
    swap = "/rest/api/3/version/10101/removeAndSwap"
    cases = [
        *REFUSED,
        ("PUT", "/rest/api/3/version/10101/mergeto/10300", {}, None, "one project"),
        # a delete must not move ENG's issues into another project's version
        ("DELETE", "/rest/api/3/version/10101", {"moveFixIssuesTo": "10300"}, None, "OPS"),
        ("POST", swap, {}, {"moveAffectedIssuesTo": 10300}, "OPS"),
        ("POST", swap, {}, {"customFieldReplacementList": [{"customFieldId": 1}]}, "customField"),
        ("POST", swap, {}, {"moveFixIssuesTo": True}, "version id"),
        ("POST", swap, {"force": "1"}, {}, "force"),
    ]
    before = service.agent.get("/v1/actions").json()["items"]
    for method, path, query, body, named in cases:
        answer = send(jira, method, path, query, body)
        assert answer.status_code == 400, (path, answer.text)
        assert set(answer.json()) == {"errorMessages", "errors"}
        assert named in answer.json()["errorMessages"][0], (path, answer.text)
    assert service.agent.get("/v1/actions").json()["items"] == before
    writes = [e for e in service.sandbox.logged() if e.method != "GET"]
    assert not [e for e in writes if "/version/" in e.path or "/sprint/" in e.path], writes


def test_an_unknown_id_is_jiras_404_and_a_failing_lookup_fails_closed(service: Service, jira):
    for method, path, body in (
        ("PUT", "/rest/api/3/version/99999", {"name": "x"}),
        ("DELETE", "/rest/api/3/component/99999", None),
        ("POST", "/rest/agile/1.0/sprint/999", {"goal": "x"}),
        ("POST", "/rest/agile/1.0/sprint", {"name": "x", "originBoardId": 99}),
        ("POST", "/rest/agile/1.0/epic/none/issue", {"issues": ["ENG-99"]}),
    ):
        answer = send(jira, method, path, {}, body)
        assert answer.status_code == 404, (path, answer.text)
        assert "Jira has no" in answer.json()["errorMessages"][0], path
    service.sandbox.add_fault(
        parse_fault(
            {
                "match": {"method": "GET", "path": "/rest/api/*/version/10101"},
                "times": None,
                "fault": {"kind": "status", "status": 503},
            }
        )
    )
    try:
        failed = jira.put("/rest/api/3/version/10101", json={"name": "1.1"})
    finally:
        service.sandbox.clear_faults()
    assert failed.status_code == 502, failed.text
    assert "could not read Jira" in failed.json()["errorMessages"][0]
    assert service.agent.get("/v1/actions").json()["items"] == []
    with service.sandbox.lock:
        assert service.sandbox.versions[10101].name == "1.1"
    metrics = service.agent.get("/metrics").text
    assert 'jiragate_proxy_refusals_total{reason="not_found"}' in metrics


def test_an_id_of_another_project_is_an_action_in_that_project(db_url: str, tmp_path: Path):
    """An agent naming OPS's component or sprint by id acts in OPS, so OPS's rules apply,
    whatever project it meant to be about."""
    policies = tmp_path / "policies"
    shutil.copytree(unbudgeted_policies(), policies)
    (policies / "ops-frozen.yaml").write_text(
        "rules:\n"
        "  - id: ops-is-frozen\n"
        "    match:\n"
        "      project: OPS\n"
        "      kind: [write, destructive]\n"
        "    decision: deny\n"
        "    priority: 1000\n"
        "    reason: OPS is frozen.\n",
        encoding="utf-8",
    )
    with (
        running_service(db_url, policy_dir=policies, proxy_wait_seconds=0.2) as service,
        httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {AGENT_KEY}"}, timeout=30
        ) as jira,
    ):
        for method, path, body, action in (
            ("PUT", "/rest/api/3/component/10202", {"description": "x"}, "jira_update_component"),
            ("POST", "/rest/agile/1.0/sprint/201", {"goal": "x"}, "jira_update_sprint"),
            (
                "POST",
                "/rest/agile/1.0/sprint",
                {"name": "x", "originBoardId": 2},
                "jira_create_sprint",
            ),
            ("DELETE", "/rest/agile/1.0/sprint/201", None, "jira_delete_sprint"),
        ):
            denied = send(jira, method, path, {}, body)
            assert denied.status_code == 400, (path, denied.text)
            assert "ops-is-frozen" in denied.json()["errorMessages"][0], path
            assert latest(service, action)["details"]["projectKey"] == "OPS"
        with service.sandbox.lock:
            assert service.sandbox.components[10202].description == ""
            assert service.sandbox.sprints[201].goal == "Certificate rotation"


@pytest.mark.parametrize("version", ["2", "3"])
def test_a_version_put_that_changes_nothing_it_flags_is_an_update(
    service: Service, jira, version: str
):
    # 10100 is released: `released: true` asks for nothing, the rename is the update.
    answer = jira.put(
        f"/rest/api/{version}/version/10100", json={"released": True, "name": "1.0.0"}
    )
    record = service.agent_view(held_action(answer))
    assert record["action"] == "jira_update_release"
    assert record["details"] == {"projectKey": "ENG", "versionId": "10100", "name": "1.0.0"}


# --------------------------------------------------------------------------- PUT /issue/{key}

ISSUE_EDITS = [
    (
        {"fields": {STORY_POINTS_FIELD: 8}},
        "jira_update_story_points",
        {"updates": [{"issueKey": "ENG-2", "storyPoints": 8}]},
    ),
    (
        {"fields": {TEAM_FIELD: "Payments", "summary": "Card lost on back"}},
        "jira_update_fields",
        {
            "issueKeys": ["ENG-2"],
            "fields": {"summary": "Card lost on back"},
            "customFields": {"Team": "Payments"},  # recorded by name, as on /v1/actions
        },
    ),
    (
        {"fields": {"parent": {"key": "ENG-1"}}},
        "jira_update_fields",
        {"issueKeys": ["ENG-2"], "fields": {"parent": "ENG-1"}},
    ),
]


def test_story_points_and_parents_through_put_issue_are_the_v1_actions(service: Service, jira):
    for body, action, details in ISSUE_EDITS:
        answer = jira.put("/rest/api/3/issue/ENG-2", json=body)
        record = service.agent_view(held_action(answer))
        assert (record["action"], record["details"]) == (action, details), body
        envelope = {"action": action, "summary": "same", "details": details}
        direct = service.agent.post("/v1/evaluate", json=envelope).json()
        assert direct["determining_rule"] == record["rule"], body
    # Story points and another field are two actions; a parent elsewhere leaves the project.
    for body, named in (
        ({"fields": {STORY_POINTS_FIELD: 8, "summary": "x"}}, "two actions"),
        ({"fields": {"parent": {"key": "OPS-1"}}}, "OPS"),
        ({"fields": {STORY_POINTS_FIELD: 8}, "update": {}}, "update"),
    ):
        refused = jira.put("/rest/api/3/issue/ENG-2", json=body)
        assert refused.status_code == 400, refused.text
        assert named in json_text(refused), (body, refused.text)
    # Renaming an epic is an epic change (project managers), not a field edit (leads).
    rename = jira.put("/rest/api/3/issue/ENG-1", json={"fields": {EPIC_NAME_FIELD: "Pay v2"}})
    record = service.agent_view(held_action(rename))
    assert (record["action"], record["details"]) == (
        "jira_update_epic",
        {"epicKey": "ENG-1", "epicName": "Pay v2"},
    )
    assert (record["rule"], record["review_group"]) == (
        "epic-and-release-changes",
        "project-managers",
    )
    both = jira.put(
        "/rest/api/3/issue/ENG-1", json={"fields": {EPIC_NAME_FIELD: "x", "summary": "y"}}
    )
    assert both.status_code == 400 and "two actions" in json_text(both), both.text
    # The reviewer lowers the estimate: the edit is what Jira gets.
    points = {"fields": {STORY_POINTS_FIELD: 13}}
    approve(
        service,
        jira.put("/rest/api/3/issue/ENG-3", json=points),
        updates=[{"issueKey": "ENG-3", "storyPoints": 5}],
    )
    assert jira.put("/rest/api/3/issue/ENG-3", json=points).status_code == 204
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-3"].story_points == 5


def json_text(answer: httpx.Response) -> str:
    return " ".join([*answer.json()["errorMessages"], *answer.json()["errors"].values()])

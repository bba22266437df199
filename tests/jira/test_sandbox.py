"""The sandbox's endpoints over real HTTP, both flavours; every response is contract-checked
by the `jira_http` fixture (see conftest)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Steps"}]}],
}
BOB = "5b10a2844c20165700ede21b"
ALICE = "5b10a2844c20165700ede21a"


def fields(**extra: Any) -> dict[str, Any]:
    return {
        "project": {"key": "ENG"},
        "summary": "Created in a test",
        "issuetype": {"name": "Bug"},
        **extra,
    }


def state_of(sandbox: tuple[str, SandboxState]) -> SandboxState:
    return sandbox[1]


def test_create_cloud_issue_with_adf_and_custom_fields(jira_http, sandbox) -> None:
    answer = jira_http.post(
        "/rest/api/3/issue",
        json={
            "fields": fields(
                description=ADF,
                labels=["from-test"],
                priority={"name": "High"},
                customfield_10016=5,
                parent={"key": "ENG-1"},
                assignee={"accountId": BOB},
            )
        },
    )
    assert answer.status_code == 201
    key = answer.json()["key"]
    assert key == "ENG-13"
    issue = state_of(sandbox).issues[key]
    assert (issue.priority, issue.story_points, issue.parent_key) == ("High", 5.0, "ENG-1")
    assert issue.assignee == BOB and issue.description == ADF
    read = jira_http.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert read["description"] == ADF and read["parent"]["key"] == "ENG-1"


def test_create_dc_issue_with_plain_text_name_and_epic_link(jira_http, sandbox) -> None:
    answer = jira_http.post(
        "/rest/api/2/issue",
        json={
            "fields": fields(
                description="line one\nline two",
                issuetype={"name": "Story"},
                assignee={"name": "bob"},
                customfield_10014="ENG-1",
            )
        },
    )
    assert answer.status_code == 201
    read = jira_http.get(f"/rest/api/2/issue/{answer.json()['key']}").json()["fields"]
    assert read["description"] == "line one\nline two"
    assert read["customfield_10014"] == "ENG-1" and read["parent"] is None
    # The shared sandbox is a Cloud site: its v2 shows users by accountId only (usernames
    # appear on the datacenter profile, tests/jira/test_sandbox_site.py).
    assert read["assignee"]["accountId"] == BOB and "name" not in read["assignee"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"fields": fields(project={"key": "NOPE"})}, "project", "valid project"),
        ({"fields": fields(issuetype={"name": "Saga"})}, "issuetype", "invalid"),
        (
            {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Bug"}}},
            "summary",
            "summary",
        ),
        ({"fields": fields(priority={"name": "Urgent"})}, "priority", "invalid"),
        ({"fields": fields(issuetype={"name": "Subtask"})}, "parent", "parent"),
        ({"fields": fields(labels=["has space"])}, "labels", "spaces"),
        ({"fields": fields(customfield_99999=1)}, "customfield_99999", "cannot be set"),
        ({"fields": fields(assignee={"accountId": "nobody"})}, "assignee", "does not exist"),
    ],
)
def test_create_errors_are_jira_shaped(jira_http, sandbox, body, field, message) -> None:
    answer = jira_http.post("/rest/api/3/issue", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["errors"][field]
    assert len(state_of(sandbox).issues) == 14  # nothing was created


def test_invalid_body_is_a_400_listing_spec_problems(jira_http) -> None:
    answer = jira_http.post("/rest/api/3/issue", json={"fields": fields(description="plain")})
    assert answer.status_code == 400
    assert "ADF" in answer.json()["errorMessages"][0]
    answer = jira_http.post("/rest/api/3/search/jql", json={"jql": "project = ENG", "bogus": 1})
    assert answer.status_code == 400 and "bogus" in answer.json()["errorMessages"][0]


def test_bulk_create_partial_failure_is_201_and_all_failed_is_400(jira_http, sandbox) -> None:
    good = {"fields": fields(summary="bulk one")}
    bad = {"fields": fields(project={"key": "NOPE"})}
    answer = jira_http.post("/rest/api/3/issue/bulk", json={"issueUpdates": [good, bad, good]})
    assert answer.status_code == 201
    body = answer.json()
    assert [i["key"] for i in body["issues"]] == ["ENG-13", "ENG-14"]
    (error,) = body["errors"]
    assert error["failedElementNumber"] == 1 and error["status"] == 400
    assert "project" in error["elementErrors"]["errors"]
    answer = jira_http.post("/rest/api/3/issue/bulk", json={"issueUpdates": [bad, bad]})
    assert answer.status_code == 400
    assert [e["failedElementNumber"] for e in answer.json()["errors"]] == [0, 1]


def test_bulk_create_refuses_more_than_50(jira_http, sandbox) -> None:
    updates = [{"fields": fields(summary=f"n{i}")} for i in range(51)]
    answer = jira_http.post("/rest/api/3/issue/bulk", json={"issueUpdates": updates})
    assert answer.status_code == 400  # shaped as the spec's CreatedIssues, like partial errors
    (error,) = answer.json()["errors"]
    assert "50" in error["elementErrors"]["errorMessages"][0]
    assert len(state_of(sandbox).issues) == 14
    answer = jira_http.post("/rest/api/2/issue/bulk", json={"issueUpdates": updates[:50]})
    assert answer.status_code == 201 and len(answer.json()["issues"]) == 50


def test_get_issue_fields_param_and_404(jira_http) -> None:
    body = jira_http.get("/rest/api/3/issue/ENG-5", params={"fields": "summary,subtasks"}).json()
    assert set(body["fields"]) == {"summary", "subtasks"}
    assert [s["key"] for s in body["fields"]["subtasks"]] == ["ENG-11", "ENG-12"]
    assert jira_http.get("/rest/api/3/issue/10005").json()["key"] == "ENG-5"
    missing = jira_http.get("/rest/api/3/issue/ENG-999")
    assert missing.status_code == 404 and missing.json()["errorMessages"]


def test_edit_fields_and_update_operations(jira_http, sandbox) -> None:
    answer = jira_http.put(
        "/rest/api/3/issue/ENG-2",
        json={
            "fields": {"priority": {"name": "Low"}, "customfield_10016": 8},
            "update": {"labels": [{"add": "triaged"}, {"remove": "checkout"}]},
        },
    )
    assert answer.status_code == 204
    issue = state_of(sandbox).issues["ENG-2"]
    assert issue.labels == ["triaged"] and issue.priority == "Low" and issue.story_points == 8
    both = jira_http.put(
        "/rest/api/3/issue/ENG-2",
        json={"fields": {"labels": []}, "update": {"labels": [{"add": "x"}]}},
    )
    assert both.status_code == 400 and "labels" in both.json()["errors"]
    refused = jira_http.put("/rest/api/3/issue/ENG-2", json={"fields": {"customfield_10016": "x"}})
    assert refused.status_code == 400 and state_of(sandbox).issues["ENG-2"].story_points == 8


def test_delete_needs_delete_subtasks_when_there_are_subtasks(jira_http, sandbox) -> None:
    refused = jira_http.delete("/rest/api/3/issue/ENG-5")
    assert refused.status_code == 400 and "deleteSubtasks" in refused.json()["errorMessages"][0]
    assert jira_http.delete("/rest/api/3/issue/ENG-5?deleteSubtasks=true").status_code == 204
    assert not {"ENG-5", "ENG-11", "ENG-12"} & set(state_of(sandbox).issues)
    assert jira_http.delete("/rest/api/2/issue/ENG-6").status_code == 204


def test_transitions_list_only_allowed_ones_and_apply(jira_http, sandbox) -> None:
    listed = jira_http.get("/rest/api/3/issue/ENG-2/transitions").json()["transitions"]
    assert [(t["id"], t["to"]["name"]) for t in listed] == [("11", "In Progress")]
    refused = jira_http.post(
        "/rest/api/3/issue/ENG-2/transitions", json={"transition": {"id": "31"}}
    )
    assert refused.status_code == 400 and "not valid" in refused.json()["errorMessages"][0]
    done = jira_http.post(
        "/rest/api/2/issue/ENG-4/transitions",
        json={"transition": {"id": "31"}, "update": {"comment": [{"add": {"body": "closing"}}]}},
    )
    assert done.status_code == 204
    issue = state_of(sandbox).issues["ENG-4"]
    assert issue.status == "Done" and len(issue.comments) == 1
    reopen = jira_http.get("/rest/api/3/issue/ENG-4/transitions").json()["transitions"]
    assert [t["to"]["name"] for t in reopen] == ["To Do"]


def test_assignee_flavours_default_and_unassign(jira_http, sandbox) -> None:
    issues = state_of(sandbox).issues
    assert (
        jira_http.put("/rest/api/3/issue/ENG-2/assignee", json={"accountId": None}).status_code
        == 204
    )
    assert issues["ENG-2"].assignee is None
    assert (
        jira_http.put("/rest/api/3/issue/ENG-2/assignee", json={"accountId": "-1"}).status_code
        == 204
    )
    assert issues["ENG-2"].assignee == ALICE  # the ENG project lead
    assert (
        jira_http.put("/rest/api/2/issue/ENG-2/assignee", json={"name": "bob"}).status_code == 204
    )
    assert issues["ENG-2"].assignee == BOB
    by_name = jira_http.put("/rest/api/3/issue/ENG-2/assignee", json={"name": "bob"})
    assert by_name.status_code == 400 and "accountId" in by_name.json()["errors"]["assignee"]
    unknown = jira_http.put("/rest/api/3/issue/ENG-2/assignee", json={"accountId": "ghost"})
    assert unknown.status_code == 400


def test_comments_adf_in_cloud_plain_in_dc(jira_http, sandbox) -> None:
    cloud = jira_http.post("/rest/api/3/issue/ENG-3/comment", json={"body": ADF})
    assert cloud.status_code == 201 and cloud.json()["body"] == ADF
    assert cloud.json()["author"]["accountId"] == ALICE  # the Basic-auth login
    dc = jira_http.post("/rest/api/2/issue/ENG-3/comment", json={"body": "Steps"})
    assert dc.status_code == 201 and dc.json()["body"] == "Steps"
    assert len(state_of(sandbox).issues["ENG-3"].comments) == 2


def test_archive_reports_missing_and_subtasks(jira_http, sandbox) -> None:
    answer = jira_http.put(
        "/rest/api/3/issue/archive", json={"issueIdsOrKeys": ["ENG-9", "ENG-11", "ENG-404"]}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["numberOfIssuesUpdated"] == 1
    assert body["errors"]["issuesNotFound"]["issueIdsOrKeys"] == ["ENG-404"]
    assert body["errors"]["issueIsSubtask"]["issueIdsOrKeys"] == ["ENG-11"]
    assert state_of(sandbox).issues["ENG-9"].archived is True
    too_many = jira_http.put(
        "/rest/api/3/issue/archive", json={"issueIdsOrKeys": [f"ENG-{i}" for i in range(1001)]}
    )
    assert too_many.status_code == 400


def test_versions_create_release_and_duplicate_name(jira_http, sandbox) -> None:
    created = jira_http.post(
        "/rest/api/3/version",
        json={"name": "2.0", "projectId": 10000, "description": "Big", "releaseDate": "2024-07-01"},
    )
    assert created.status_code == 201
    version_id = created.json()["id"]
    released = jira_http.put(f"/rest/api/3/version/{version_id}", json={"released": True})
    assert released.status_code == 200 and released.json()["released"] is True
    duplicate = jira_http.post("/rest/api/2/version", json={"name": "2.0", "projectId": 10000})
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]
    assert jira_http.put("/rest/api/3/version/999", json={"released": True}).status_code == 404


def test_fields_and_project_metadata(jira_http) -> None:
    by_name = {f["name"]: f for f in jira_http.get("/rest/api/3/field").json()}
    assert by_name["Story Points"]["id"] == "customfield_10016"
    assert by_name["Epic Link"]["id"] == "customfield_10014"
    project = jira_http.get("/rest/api/3/project/ENG").json()
    assert (project["id"], project["key"]) == ("10000", "ENG")
    assert {v["name"] for v in project["versions"]} == {"1.0", "1.1"}
    assert jira_http.get("/rest/api/2/project/10001").json()["key"] == "OPS"
    assert jira_http.get("/rest/api/3/project/NOPE").status_code == 404


def test_issue_properties_round_trip(jira_http) -> None:
    path = "/rest/api/3/issue/ENG-3/properties/jiragate.action"
    assert jira_http.get(path).status_code == 404
    assert jira_http.put(path, json={"actionId": "a1"}).status_code == 201
    assert jira_http.put(path, json={"actionId": "a2"}).status_code == 200
    assert jira_http.get(path).json() == {"key": "jiragate.action", "value": {"actionId": "a2"}}


def test_sprints_listing_and_move(jira_http, sandbox) -> None:
    listed = jira_http.get("/rest/agile/1.0/board/1/sprint", params={"state": "active,future"})
    assert [(s["name"], s["state"]) for s in listed.json()["values"]] == [
        ("sprint_42", "active"),
        ("sprint_43", "future"),
    ]
    assert jira_http.get("/rest/agile/1.0/sprint/102").json()["name"] == "sprint_42"
    assert jira_http.get("/rest/agile/1.0/sprint/999").status_code == 404
    moved = jira_http.post("/rest/agile/1.0/sprint/103/issue", json={"issues": ["ENG-10", "ENG-5"]})
    assert moved.status_code == 204
    issues = state_of(sandbox).issues
    assert issues["ENG-10"].sprint_id == 103 and issues["ENG-12"].sprint_id == 103
    closed = jira_http.post("/rest/agile/1.0/sprint/101/issue", json={"issues": ["ENG-10"]})
    assert closed.status_code == 400
    many = jira_http.post("/rest/agile/1.0/sprint/102/issue", json={"issues": ["ENG-1"] * 51})
    assert many.status_code == 400 and "50" in many.json()["errorMessages"][0]


def test_unknown_routes_are_jira_shaped(sandbox) -> None:
    base_url, _ = sandbox
    answer = httpx.get(f"{base_url}/rest/api/3/nothing", auth=("a@b.c", "t"))
    assert answer.status_code == 404
    assert set(answer.json()) == {"errorMessages", "errors"}
    dc_archive = httpx.put(
        f"{base_url}/rest/api/2/issue/archive", auth=("a@b.c", "t"), json={"issueIdsOrKeys": []}
    )
    assert dc_archive.status_code in {404, 405}

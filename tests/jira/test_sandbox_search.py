"""JQL and search paging in the sandbox: supported forms answer right, the rest is a 400."""

from __future__ import annotations

import pytest

ALICE = "5b10a2844c20165700ede21a"
BOB = "5b10a2844c20165700ede21b"


def keys(jira_http, jql: str, **extra) -> list[str]:
    answer = jira_http.post(
        "/rest/api/3/search/jql", json={"jql": jql, "fields": ["summary"], **extra}
    )
    assert answer.status_code == 200, answer.text
    return [issue["key"] for issue in answer.json()["issues"]]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = OPS", ["OPS-1", "OPS-2"]),
        ("key in (ENG-3, 'ENG-1') ORDER BY key", ["ENG-1", "ENG-3"]),
        ("key = ENG-4", ["ENG-4"]),
        ('project = ENG AND status = "In Review"', ["ENG-4"]),
        ("project = ENG AND labels = checkout ORDER BY key", ["ENG-2", "ENG-3", "ENG-10"]),
        (
            "project = ENG AND labels != checkout AND labels is not EMPTY",
            ["ENG-4", "ENG-6", "ENG-8", "ENG-9"],
        ),
        ("sprint = sprint_41 ORDER BY key", ["ENG-7", "ENG-8"]),
        ("sprint = 101 ORDER BY key", ["ENG-7", "ENG-8"]),
        (f"assignee = {BOB} ORDER BY key", ["ENG-2", "ENG-4"]),
        ("project = ENG AND assignee is EMPTY ORDER BY key", ["ENG-6", "ENG-9"]),
        ("project = ENG AND assignee = currentUser() ORDER BY key", ["ENG-1", "ENG-7"]),
        ("priority = Highest", ["ENG-2"]),
        ("parent = ENG-5 ORDER BY key", ["ENG-11", "ENG-12"]),
        (
            'project = "ENG" AND (labels = "check\\u006fut") ORDER BY key',
            ["ENG-2", "ENG-3", "ENG-10"],
        ),
        ("project = ENG AND parent is EMPTY AND labels = ui", ["ENG-9"]),
        ("issuetype = Subtask ORDER BY key DESC", ["ENG-12", "ENG-11"]),
        ("project = ENG AND issuetype not in (Bug, Story, Task, Subtask)", ["ENG-1"]),
        ("(priority = Highest OR priority = Lowest) ORDER BY priority DESC", ["ENG-2", "ENG-7"]),
        ("project = ENG AND NOT status in ('To Do', 'In Progress', Done)", ["ENG-4"]),
        (
            "project = ENG AND assignee != " + BOB + " AND sprint = sprint_42 ORDER BY key",
            ["ENG-3", "ENG-5", "ENG-11", "ENG-12"],
        ),
    ],
)
def test_supported_jql_answers_right(jira_http, jql, expected) -> None:
    assert keys(jira_http, jql) == expected


def test_open_sprints_covers_active_and_future(jira_http) -> None:
    found = keys(jira_http, "sprint in openSprints() ORDER BY key", maxResults=100)
    assert "ENG-9" in found and "ENG-2" in found and "ENG-7" not in found


@pytest.mark.parametrize(
    "jql",
    [
        "summary ~ checkout",  # text search
        "project = ENG AND created > -1d",  # unsupported operator
        "fixVersion = 1.0",  # unsupported field
        "project = NOPE",  # unknown value
        "assignee = ghost",
        "key = ENG-999",
        "sprint = sprint_99",
        "project = ENG AND assignee = membersOf(devs)",  # unknown function
        "project = ENG AND (status = Done",  # unbalanced
        "project = ENG ORDER BY rank",  # unsupported sort
        "status was Done",
        'labels = "a\\qb"',  # not one of Jira's escapes
        "ORDER BY key",  # unbounded
        "project = ENG status = Done",  # missing AND
    ],
)
def test_unsupported_or_wrong_jql_is_a_jira_shaped_400(jira_http, jql) -> None:
    answer = jira_http.get("/rest/api/3/search/jql", params={"jql": jql})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] and answer.json()["errors"] == {}


def test_next_page_token_walks_every_issue_once(jira_http) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"jql": "project = ENG ORDER BY key", "maxResults": 5, "fields": "summary"}
        if token:
            params["nextPageToken"] = token
        body = jira_http.get("/rest/api/3/search/jql", params=params).json()
        assert "total" not in body
        seen += [issue["key"] for issue in body["issues"]]
        pages += 1
        if body["isLast"]:
            assert "nextPageToken" not in body
            break
        token = body["nextPageToken"]
    assert pages == 3 and seen == [f"ENG-{n}" for n in range(1, 13)]
    bad = jira_http.get(
        "/rest/api/3/search/jql", params={"jql": "project = OPS", "nextPageToken": token}
    )
    assert bad.status_code == 400


def test_default_fields_are_ids_only(jira_http) -> None:
    body = jira_http.post("/rest/api/3/search/jql", json={"jql": "key = ENG-2"}).json()
    assert body["issues"] == [{"id": "10002"}]


def test_archived_issues_are_not_searched(jira_http) -> None:
    jira_http.put("/rest/api/3/issue/archive", json={"issueIdsOrKeys": ["OPS-1"]})
    assert keys(jira_http, "project = OPS") == ["OPS-2"]


def test_old_cloud_search_is_gone(jira_http) -> None:
    for answer in (
        jira_http.get("/rest/api/3/search", params={"jql": "project = ENG"}),
        jira_http.post("/rest/api/3/search", json={"jql": "project = ENG"}),
    ):
        assert answer.status_code == 410
        assert "search/jql" in answer.json()["errorMessages"][0]


def test_dc_search_pages_with_start_at_and_total(jira_http) -> None:
    body = jira_http.post(
        "/rest/api/2/search",
        json={"jql": "project = ENG ORDER BY key", "startAt": 10, "maxResults": 5},
    ).json()
    assert body["total"] == 12 and body["startAt"] == 10
    assert [i["key"] for i in body["issues"]] == ["ENG-11", "ENG-12"]
    assert isinstance(body["issues"][0]["fields"]["description"], str)
    dc_get = jira_http.get("/rest/api/2/search", params={"jql": "labels = ci"}).json()
    assert [i["key"] for i in dc_get["issues"]] == ["ENG-6"]

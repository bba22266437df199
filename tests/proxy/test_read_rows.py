"""The proxy's read rows (proxy/read_rows.py): each read a Jira client sends is the catalog
action an agent on /v1/actions would name, decided the same way, forwarded with Jira's own
answer; what decides its scope (the project, the page size, the JQL) is what Jira runs.

Over real HTTP: a Jiragate (uvicorn) in front of the Jira sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, Service
from tests.proxy.support import latest, send, service_with_policy

# (method, path, query, body) -> (action, details): what an agent on /v1/actions would send.
READS: list[tuple[str, str, dict[str, str], Any, str, dict[str, Any]]] = [
    ("GET", "/rest/api/3/project", {}, None, "jira_list_projects", {}),
    (
        "GET",
        "/rest/api/3/project/search",
        {"query": "Eng", "maxResults": "10"},
        None,
        "jira_search_projects",
        {"query": "Eng", "maxResults": 10},
    ),
    (
        "GET",
        "/rest/api/2/project/ENG/components",
        {},
        None,
        "jira_list_components",
        {"projectKey": "ENG"},
    ),
    (
        "GET",
        "/rest/api/3/project/ENG/versions",
        {},
        None,
        "jira_list_versions",
        {"projectKey": "ENG"},
    ),
    (
        "GET",
        "/rest/agile/1.0/board",
        {"projectKeyOrId": "ENG", "type": "scrum"},
        None,
        "jira_list_boards",
        {"projectKey": "ENG", "type": "scrum"},
    ),
    (
        "GET",
        "/rest/agile/1.0/board/1/issue",
        {"maxResults": "5", "fields": "summary,status"},
        None,
        "jira_get_board_issues",
        {"projectKey": "ENG", "boardId": 1, "fields": ["summary", "status"], "maxResults": 5},
    ),
    (
        "GET",
        "/rest/agile/1.0/board/1/backlog",
        {},
        None,
        "jira_get_backlog_issues",
        {"projectKey": "ENG", "boardId": 1},
    ),
    (
        "GET",
        "/rest/agile/1.0/sprint/102/issue",
        {"jql": 'status = "In Progress"'},
        None,
        "jira_get_sprint_issues",
        {"projectKey": "ENG", "sprintId": 102, "jql": 'status = "In Progress"'},
    ),
    ("GET", "/rest/api/3/field", {}, None, "jira_list_fields", {}),
    ("GET", "/rest/api/3/myself", {}, None, "jira_get_myself", {}),
    (
        "GET",
        "/rest/api/2/issue/createmeta/ENG/issuetypes",
        {},
        None,
        "jira_get_create_meta",
        {"projectKey": "ENG"},
    ),
    (
        "GET",
        "/rest/api/3/issue/ENG-1/editmeta",
        {},
        None,
        "jira_get_edit_meta",
        {"issueKey": "ENG-1"},
    ),
    (
        "GET",
        "/rest/api/3/user/search",
        {"query": "alice"},
        None,
        "jira_search_users",
        {"query": "alice"},
    ),
    (
        "GET",
        "/rest/api/3/user/assignable/search",
        {"issueKey": "ENG-2", "query": "bo"},
        None,
        "jira_get_assignable_users",
        {"projectKey": "ENG", "query": "bo"},
    ),
    ("GET", "/rest/api/3/issueLinkType", {}, None, "jira_list_link_types", {}),
    (
        "GET",
        "/rest/api/2/issue/ENG-2/remotelink",
        {},
        None,
        "jira_get_remote_links",
        {"issueKey": "ENG-2"},
    ),
    (
        "GET",
        "/rest/api/3/issue/ENG-1/watchers",
        {},
        None,
        "jira_get_watchers",
        {"issueKey": "ENG-1"},
    ),
    (
        "GET",
        "/rest/api/3/issue/ENG-2/worklog",
        {},
        None,
        "jira_get_worklogs",
        {"issueKey": "ENG-2"},
    ),
    (
        "GET",
        "/rest/api/3/issue/ENG-2/changelog",
        {},
        None,
        "jira_get_changelogs",
        {"issueKeys": ["ENG-2"]},
    ),
    (
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        {},
        {"issueIdsOrKeys": ["ENG-2", "ENG-3"], "maxResults": 20},
        "jira_get_changelogs",
        {"issueKeys": ["ENG-2", "ENG-3"], "maxResults": 20},
    ),
    ("GET", "/rest/api/3/status", {}, None, "jira_list_statuses", {}),
    ("GET", "/rest/api/3/priority", {}, None, "jira_list_priorities", {}),
    ("GET", "/rest/api/3/issuetype", {}, None, "jira_list_issue_types", {}),
    ("GET", "/rest/api/3/resolution", {}, None, "jira_list_resolutions", {}),
]


def client(service: Service, agent: str = "log-triage-bot") -> httpx.Client:
    return httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {KEYS[agent]}"}, timeout=30
    )


def straight(service: Service, method: str, path: str, query: dict[str, str], body: Any):
    """The same request to the sandbox, as the service account sends it."""
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as direct:
        return direct.request(
            method,
            path,
            params=query,
            json=body,
            auth=(JIRA_EMAIL, JIRA_TOKEN),
            headers={"X-Atlassian-Token": "no-check"},
        )


def test_each_read_is_its_catalog_action_decided_as_on_v1_actions_with_jiras_answer(
    service: Service,
) -> None:
    with client(service) as jira:
        for method, path, query, body, action, details in READS:
            answer = send(jira, method, path, query, body)
            assert answer.status_code == 200, (path, answer.text)
            record = latest(service, action)
            assert (record["action"], record["details"]) == (action, details), path
            envelope = {"action": action, "summary": "same", "details": details}
            direct = service.agent.post("/v1/evaluate", json=envelope).json()
            assert direct["decision"] == record["decision"]["decision"] == "allow", path
            # Jira's own answer, unchanged but for the links that point at the proxy.
            expected = straight(service, method, path, query, body).json()
            got = answer.json()
            text = str(expected).replace(service.sandbox_url, service.url)
            assert str(got) == text, path


def test_page_sizes_and_board_jql_are_what_the_policy_saw(service: Service) -> None:
    """maxResults beyond the action's limit is capped in the details AND in what Jira is
    sent; a board's JQL runs as the catalog's canonical query inside the board's project."""
    with client(service) as jira:
        answer = jira.get("/rest/api/3/user/search", params={"query": "a", "maxResults": "5000"})
        assert answer.status_code == 200, answer.text
        assert latest(service, "jira_search_users")["details"] == {"query": "a", "maxResults": 50}
        answer = jira.get(
            "/rest/agile/1.0/board/1/issue",
            params={"jql": "status = Done OR project = OPS", "maxResults": "999"},
        )
    sent = [r for r in service.sandbox.logged() if r.path == "/rest/api/3/user/search"]
    assert "maxResults=50" in sent[-1].query
    # "project = OPS" inside a board of ENG is another project's read: refused before Jira.
    assert answer.status_code == 400, answer.text
    assert not [r for r in service.sandbox.logged() if r.path == "/rest/agile/1.0/board/1/issue"]


REFUSED = [
    # what decides the read's scope must be there, once, by key
    ("/rest/agile/1.0/board", {}, "projectKeyOrId"),
    ("/rest/agile/1.0/board", {"projectKeyOrId": "10000"}, "projectKeyOrId"),
    ("/rest/api/3/user/assignable/search", {"query": "bo"}, "project=ENG"),
    ("/rest/api/3/user/assignable/search", {"project": "ENG", "issueKey": "OPS-1"}, "two projects"),
    ("/rest/api/3/issue/createmeta/10000/issuetypes", {}, "project key"),
    ("/rest/api/3/user/search", {}, "query="),
    ("/rest/api/3/user/search", {"query": "a", "username": "b"}, "more than once"),
    ("/rest/api/3/project/10000/versions", {}, "project key"),
    ("/rest/api/3/issue/ENG-2/worklog", {"maxResults": "-1"}, "negative"),
    ("/rest/api/3/issue/10001/watchers", {}, "issue key"),
]


@pytest.mark.parametrize(("path", "query", "named"), REFUSED)
def test_a_read_its_row_cannot_scope_is_refused_naming_what_to_send(
    service: Service, path: str, query: dict[str, str], named: str
) -> None:
    with client(service) as jira:
        answer = jira.get(path, params=query)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["errorMessages"][0]
    assert not [r for r in service.sandbox.logged() if r.path == path]
    assert service.agent.get("/v1/actions").json()["items"] == []


def test_unknown_boards_and_sprints_are_jiras_404(service: Service) -> None:
    with client(service) as jira:
        for path in ("/rest/agile/1.0/board/999/issue", "/rest/agile/1.0/sprint/999/issue"):
            answer = jira.get(path)
            assert answer.status_code == 404, answer.text
    assert service.agent.get("/v1/actions").json()["items"] == []


POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: no-user-directory-for-bots
    match: {action: [jira_search_users, jira_get_assignable_users], agent: log-triage-bot}
    decision: deny
    reason: Bots do not browse the user directory.
  - id: ops-is-off-limits
    match: {kind: read, project: OPS}
    decision: deny
    reason: Project OPS is not readable by agents.
  - id: reads
    match: {kind: read}
    decision: allow
"""


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, POLICY) as running:
        yield running


def test_rules_on_the_catalog_reads_hold_through_the_proxy(strict: Service) -> None:
    """The agent tries the reads a policy denies it by the endpoints its client uses: the
    user directory (Cloud and DC spellings) and another project's board, sprint and backlog
    by bare id (the project is the one Jira places them in, not one the path names)."""
    attempts = [
        ("/rest/api/3/user/search", {"query": "alice"}, "no-user-directory-for-bots"),
        ("/rest/api/2/user/search", {"username": "alice"}, "no-user-directory-for-bots"),
        ("/rest/api/3/user/assignable/search", {"project": "ENG"}, "no-user-directory-for-bots"),
        ("/rest/agile/1.0/board/2/issue", {}, "ops-is-off-limits"),
        ("/rest/agile/1.0/board/2/backlog", {}, "ops-is-off-limits"),
        ("/rest/agile/1.0/sprint/201/issue", {}, "ops-is-off-limits"),
        ("/rest/agile/1.0/board", {"projectKeyOrId": "OPS"}, "ops-is-off-limits"),
        ("/rest/api/3/project/OPS/versions", {}, "ops-is-off-limits"),
        ("/rest/api/3/issue/createmeta/OPS/issuetypes", {}, "ops-is-off-limits"),
    ]
    before = len(list(strict.sandbox.logged()))
    with client(strict) as jira:
        for path, query, rule in attempts:
            answer = jira.get(path, params=query)
            assert answer.status_code == 400, (path, answer.text)
            assert rule in answer.json()["errorMessages"][0], path
        # Another agent, and the same bot on its own project, read as before.
        assert jira.get("/rest/agile/1.0/board/1/issue").status_code == 200
    with client(strict, "ide-assistant") as other:
        assert other.get("/rest/api/3/user/search", params={"query": "a"}).status_code == 200
    reached = [r.path for r in list(strict.sandbox.logged())[before:]]
    assert not [p for p in reached if "/user/" in p and "assignable" in p]
    assert "/rest/agile/1.0/board/2/issue" not in reached
    assert "/rest/agile/1.0/sprint/201/issue" not in reached

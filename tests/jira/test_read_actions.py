"""The read actions (catalog/read_actions.py) through the adapter against the sandbox over
real HTTP, both site profiles; every request checked against Atlassian's spec (`scenario`).

Each read's answer is compared with the sandbox's own state, not with literals the handler
could echo; the hostile tests name another project's board, sprint and issues."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate import jql
from jiragate.catalog import CATALOG, ActionKind, count_of, parse_envelope, project_of
from jiragate.errors import InvalidDetailsError
from jiragate.jira.handlers.listing import READS, issue_list
from jiragate.jira.sandbox import create_sandbox_app
from jiragate.jira.sandbox.state import RESOLUTIONS, STATUSES, SandboxState
from tests.helpers.servers import serve_app
from tests.jira.test_adapter_sandbox import API_TOKEN, EMAIL, FLAVOURS, PAT, Run, Site, scenario
from tests.jql.test_parser import _ATTACK

READ_NAMES = [name for name, spec in CATALOG.items() if spec.kind is ActionKind.READ]
parametrize_flavour = pytest.mark.parametrize("flavour", FLAVOURS)


@pytest.fixture(scope="module")
def _sites() -> Iterator[dict[str, Site]]:
    """One sandbox per site profile: Cloud, and the differently configured Data Center one
    (Sub-task, priorities P1-P4, a required Epic Name, no v3)."""
    states = {profile: SandboxState(profile=profile) for profile in FLAVOURS}
    with (
        serve_app(create_sandbox_app(states["cloud"])) as cloud,
        serve_app(create_sandbox_app(states["datacenter"])) as datacenter,
    ):
        yield {
            "cloud": Site(cloud, states["cloud"]),
            "datacenter": Site(datacenter, states["datacenter"]),
        }


@pytest.fixture
def jira(_sites: dict[str, Site], flavour: str) -> Site:
    """The sandbox of the flavour's own profile, reset, accepting only our credentials."""
    site = _sites[flavour]
    site.state.reset()
    site.state.basic_auth = (EMAIL, API_TOKEN)
    site.state.bearer_token = PAT
    return site


def _keys(state: SandboxState, keep: Any) -> set[str]:
    return {key for key, issue in state.issues.items() if keep(issue)}


@parametrize_flavour
def test_site_wide_metadata_comes_from_the_site(jira: Site, flavour: str) -> None:
    state = jira.state

    async def body(run: Run) -> None:
        projects = await run.execute("jira_list_projects", {})
        assert {p["key"] for p in projects.data["projects"]} == set(state.projects)
        found = await run.execute("jira_search_projects", {"query": "oper"})
        assert [p["key"] for p in found.data["projects"]] == ["OPS"]
        assert found.data["isLast"] is True
        priorities = await run.execute("jira_list_priorities", {})
        assert [p["name"] for p in priorities.data["priorities"]] == [
            p.name for p in state.site.priorities
        ]
        types = await run.execute("jira_list_issue_types", {})
        assert {t["name"] for t in types.data["issueTypes"]} == {
            t.name for t in state.site.issue_types
        }
        statuses = await run.execute("jira_list_statuses", {})
        assert {(s["name"], s["category"]) for s in statuses.data["statuses"]} == {
            (s.name, s.category_key) for s in STATUSES
        }
        resolutions = await run.execute("jira_list_resolutions", {})
        assert [r["name"] for r in resolutions.data["resolutions"]] == [r.name for r in RESOLUTIONS]
        links = await run.execute("jira_list_link_types", {})
        assert "Blocks" in {t["name"] for t in links.data["linkTypes"]}
        fields = await run.execute("jira_list_fields", {})
        assert {"Story Points", "Sprint"} <= {f["name"] for f in fields.data["fields"]}
        me = await run.execute("jira_get_myself", {})
        assert me.data["user"]["displayName"]
        users = await run.execute("jira_search_users", {"query": "bob"})
        assert [u["displayName"] for u in users.data["users"]] == ["Bob Brown"]
        assert all("emailAddress" not in u for u in users.data["users"])
        for result in (projects, found, priorities, users):
            assert result.outcome == "succeeded" and result.failures == []

    run = scenario(jira, flavour, body)
    # Data Center has no /project/search: the project list is matched instead.
    searched = [p for _, p, _, _ in run.requests if p.endswith("/project/search")]
    assert bool(searched) is (flavour == "cloud")


@parametrize_flavour
def test_project_reads_components_versions_boards_users_meta(jira: Site, flavour: str) -> None:
    state = jira.state

    async def body(run: Run) -> None:
        components = await run.execute("jira_list_components", {"projectKey": "ENG"})
        assert {c["name"] for c in components.data["components"]} == {
            c.name for c in state.components.values() if c.project_key == "ENG"
        }
        versions = await run.execute("jira_list_versions", {"projectKey": "ENG", "released": False})
        assert [v["name"] for v in versions.data["versions"]] == [
            v.name for v in state.versions.values() if v.project_id == 10000 and not v.released
        ]
        boards = await run.execute("jira_list_boards", {"projectKey": "OPS"})
        assert [b["id"] for b in boards.data["boards"]] == [2]
        assignable = await run.execute(
            "jira_get_assignable_users", {"projectKey": "ENG", "query": "car"}
        )
        assert [u["displayName"] for u in assignable.data["users"]] == ["Carol Chen"]
        meta = await run.execute("jira_get_create_meta", {"projectKey": "ENG"})
        assert {t["name"] for t in meta.data["issueTypes"]} == {
            t.name for t in state.site.issue_types
        }
        epic = await run.execute("jira_get_create_meta", {"projectKey": "ENG", "issueType": "Epic"})
        assert epic.data["fields"]["summary"]["required"] is True
        # Data Center's profile requires an Epic Name to create an epic; Cloud has none.
        assert ("customfield_10011" in epic.data["fields"]) is (flavour == "datacenter")
        options = await run.execute(
            "jira_get_field_options",
            {"projectKey": "ENG", "issueType": "Bug", "fieldId": "priority"},
        )
        assert [o["name"] for o in options.data["options"]] == [
            p.name for p in state.site.priorities
        ]
        edit = await run.execute("jira_get_edit_meta", {"issueKey": "ENG-2"})
        assert [v["name"] for v in edit.data["fields"]["fixVersions"]["allowedValues"]] == [
            v.name for v in state.versions.values() if v.project_id == 10000
        ]

    scenario(jira, flavour, body)


@parametrize_flavour
def test_board_sprint_and_backlog_issues_page_inside_the_project(jira: Site, flavour: str) -> None:
    state = jira.state

    async def body(run: Run) -> None:
        first = await run.execute(
            "jira_get_board_issues", {"projectKey": "ENG", "boardId": 1, "maxResults": 5}
        )
        second = await run.execute(
            "jira_get_board_issues",
            {"projectKey": "ENG", "boardId": 1, "startAt": 5, "maxResults": 50},
        )
        assert first.data["isLast"] is False and second.data["isLast"] is True
        keys = [i["key"] for i in first.data["issues"] + second.data["issues"]]
        assert len(keys) == len(set(keys)) == first.data["total"]
        assert set(keys) == _keys(state, lambda i: i.project_key == "ENG")
        sprint = await run.execute(
            "jira_get_sprint_issues",
            {"projectKey": "ENG", "sprintId": 102, "jql": "issuetype = Bug", "fields": ["summary"]},
        )
        assert {i["key"] for i in sprint.data["issues"]} == _keys(
            state, lambda i: i.sprint_id == 102 and i.issue_type == "Bug"
        )
        assert set(sprint.data["issues"][0]["fields"]) == {"summary"}
        backlog = await run.execute("jira_get_backlog_issues", {"projectKey": "ENG", "boardId": 1})
        assert {i["key"] for i in backlog.data["issues"]} == _keys(
            state,
            lambda i: i.project_key == "ENG" and i.sprint_id is None and i.status != "Done",
        )

    run = scenario(jira, flavour, body)
    # Whatever the JQL, the project restriction is in what Jira was sent.
    sent = [query["jql"] for _, path, query, _ in run.requests if path.endswith("/issue")]
    assert sent and all(text.startswith('project = "ENG"') for text in sent)


@parametrize_flavour
def test_issue_extras_watchers_worklogs_changelogs_attachments(jira: Site, flavour: str) -> None:
    state = jira.state
    state.issues["ENG-2"].watchers = ["5b10a2844c20165700ede21b"]
    state.issues["ENG-2"].worklogs = [
        {
            "id": 30000,
            "author": "5b10a2844c20165700ede21b",
            "timeSpentSeconds": 5400,
            "started": "2024-05-02T09:00:00.000+0000",
            "created": "2024-05-02T10:30:00.000+0000",
        }
    ]

    async def body(run: Run) -> None:
        moved = await run.execute(
            "jira_transition_issues", {"issueKeys": ["ENG-2"], "targetStatus": "In Progress"}
        )
        assert moved.outcome == "succeeded"
        watchers = await run.execute("jira_get_watchers", {"issueKey": "ENG-2"})
        assert [w["displayName"] for w in watchers.data["watchers"]] == ["Bob Brown"]
        worklogs = await run.execute("jira_get_worklogs", {"issueKey": "ENG-2"})
        assert [
            (w["timeSpentSeconds"], w["author"]["displayName"]) for w in worklogs.data["worklogs"]
        ] == [(5400, "Bob Brown")]
        history = await run.execute(
            "jira_get_changelogs", {"issueKeys": ["ENG-2", "ENG-3", "ENG-999"]}
        )
        change = history.data["changelogs"]["ENG-2"][-1]["items"]
        assert change == [{"field": "status", "from": "To Do", "to": "In Progress"}]
        assert history.data["changelogs"]["ENG-3"] == []
        # An issue Jira does not have is that key's failure; the others were read.
        assert [f.key for f in history.failures] == ["ENG-999"]
        attachments = await run.execute("jira_get_attachments", {"issueKey": "ENG-2"})
        assert attachments.data == {"attachments": []}

    run = scenario(jira, flavour, body)
    changelog_calls = [p for _, p, _, _ in run.requests if p.endswith("/changelog")]
    assert bool(changelog_calls) is (flavour == "cloud")  # DC: expand=changelog


# --------------------------------------------------------------------------- hostile agent


@parametrize_flavour
def test_another_projects_board_or_sprint_is_refused_before_it_is_read(
    jira: Site, flavour: str
) -> None:
    """An action about ENG naming OPS's board 2 or sprint 201: policies saw ENG, so nothing
    of OPS is read; the action fails naming the owner."""

    async def body(run: Run) -> None:
        for action, details in (
            ("jira_get_board_issues", {"projectKey": "ENG", "boardId": 2}),
            ("jira_get_backlog_issues", {"projectKey": "ENG", "boardId": 2}),
            ("jira_get_sprint_issues", {"projectKey": "ENG", "sprintId": 201}),
        ):
            result = await run.execute(action, details)
            assert result.outcome == "failed", action
            assert result.data is None, action
            assert "not in project ENG" in result.failures[0].reason, action

    run = scenario(jira, flavour, body)
    listed = [p for _, p, _, _ in run.requests if p.endswith(("/issue", "/backlog"))]
    assert listed == []  # no issue list of OPS was ever requested


@pytest.mark.parametrize(
    ("action", "details", "pointer"),
    [
        (
            "jira_get_board_issues",
            {"projectKey": "ENG", "boardId": 1, "jql": "project = OPS"},
            "/jql",
        ),
        (
            "jira_get_sprint_issues",
            {"projectKey": "ENG", "sprintId": 102, "jql": 'status = "To Do") OR (project = OPS'},
            "/jql",
        ),
        ("jira_get_changelogs", {"issueKeys": ["ENG-1", "OPS-1"]}, "/issueKeys/1"),
        ("jira_get_board_issues", {"boardId": 1}, ""),
        (
            "jira_get_board_issues",
            {"projectKey": "ENG", "boardId": 1, "maxResults": 51},
            "/maxResults",
        ),
        ("jira_list_components", {"projectKey": "ENG\n"}, "/projectKey"),
        ("jira_search_users", {"query": "bob\u0000"}, ""),
        ("jira_get_myself", {"as": "admin"}, ""),
    ],
)
def test_reads_that_would_leave_their_project_or_jiras_caps_are_invalid(
    action: str, details: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope({"action": action, "summary": "read", "details": details})
    assert caught.value.violations[0].pointer.startswith(pointer)


def test_every_read_says_which_project_it_is_about_and_how_many_issues() -> None:
    facts = {
        "jira_get_sprint_issues": ({"projectKey": "ENG", "sprintId": 1, "maxResults": 7}, "ENG", 7),
        "jira_get_board_issues": ({"projectKey": "ENG", "boardId": 1}, "ENG", 50),
        "jira_get_changelogs": ({"issueKeys": ["OPS-1", "OPS-2"]}, "OPS", 2),
        "jira_get_watchers": ({"issueKey": "OPS-1"}, "OPS", 1),
        "jira_list_priorities": ({}, None, 0),
    }
    for action, (details, project, count) in facts.items():
        request = parse_envelope({"action": action, "summary": "read", "details": details})
        assert (project_of(request.details), count_of(action, request.details)) == (project, count)


def test_every_new_read_is_a_read_with_a_handler() -> None:
    from jiragate.jira import handlers

    assert set(READS) <= set(READ_NAMES)
    assert set(READ_NAMES) <= set(handlers.HANDLERS)
    assert all(CATALOG[name].idempotent for name in READ_NAMES)


@settings(max_examples=200, deadline=None)
@given(
    action=st.sampled_from(
        ["jira_get_board_issues", "jira_get_backlog_issues", "jira_get_sprint_issues"]
    ),
    text=st.lists(_ATTACK, min_size=1, max_size=8).map("".join) | st.text(min_size=1, max_size=60),
)
def test_an_issue_lists_jql_is_refused_or_sent_inside_its_project(action: str, text: str) -> None:
    """Whatever JQL a hostile agent writes, the list is refused at validation naming /jql, or
    what Jira is sent is `project = "ENG" AND (...)`."""
    ident = {"sprintId": 102} if "sprint" in action else {"boardId": 1}
    details = {"projectKey": "ENG", **ident, "jql": text}
    try:
        request = parse_envelope({"action": action, "summary": "read", "details": details})
    except InvalidDetailsError as exc:
        assert exc.violations[0].pointer in {"/jql", ""}
        return
    sent = jql.parse(issue_list(None, request.details)["jql"])  # type: ignore[arg-type]
    restriction = jql.Clause(jql.Field("project"), "=", (jql.Literal("ENG"),))
    assert sent.where == restriction or (
        isinstance(sent.where, jql.And) and sent.where.terms[0] == restriction
    )

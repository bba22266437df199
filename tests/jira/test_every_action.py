"""Every catalog action, executed by the adapter against both sandbox profiles (Jira Cloud and
a differently configured Data Center site: "Sub-task", P1..P4, an Epic Name, a resolution
screen), over real HTTP, each request checked against Atlassian's spec (`scenario`).

The table below names one ordinary use of each action; a new action fails
`test_the_table_covers_the_whole_catalog` until it is added. Where a profile cannot do an
action, `REFUSED` says why, and the test checks the adapter refuses it with that reason and
sends nothing that changes Jira.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from jiragate.catalog import CATALOG
from jiragate.errors import JiraUnsupportedError
from jiragate.jira.results import ExecutionResult
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import SITE_PROFILES
from tests.helpers.servers import serve_app
from tests.jira.test_adapter_sandbox import API_TOKEN, EMAIL, PAT, Run, Site, scenario

BOB = {"cloud": "5b10a2844c20165700ede21b", "datacenter": "bob"}
Case = Callable[[Run, str], Awaitable[ExecutionResult]]


def plain(action: str, details: dict[str, Any] | Callable[[str], dict[str, Any]]) -> Case:
    """A case that runs the action once with these details (or details for the flavour)."""

    async def case(run: Run, flavour: str) -> ExecutionResult:
        given = details(flavour) if callable(details) else details
        return await run.execute(action, given)

    return case


def after(
    setup: str, setup_details: dict[str, Any], action: str, make: Callable[[Any], dict[str, Any]]
) -> Case:
    """A case that needs something made first (a comment to edit, a link to remove): the
    setup action runs, then the action with details built from the setup's result."""

    async def case(run: Run, flavour: str) -> ExecutionResult:
        made = await run.execute(setup, setup_details, action_id="setup")
        assert made.outcome == "succeeded", made.as_dict()
        return await run.execute(action, make(made))

    return case


def created_id(result: ExecutionResult, *names: str) -> str:
    data = result.data or {}
    for name in names:
        if name in data:
            return str(data[name])
    raise AssertionError(f"none of {names} in {data}")


FILE = base64.b64encode(b"stack trace\n").decode()


async def _remove_issue_link(run: Run, flavour: str) -> ExecutionResult:
    """Jira answers a new link with no id: it is read back from the issue, as a client does."""
    made = await run.execute(
        "jira_create_issue_link",
        {"issueKey": "ENG-2", "linkType": "Relates", "otherIssueKey": "ENG-3"},
        action_id="setup",
    )
    assert made.outcome == "succeeded", made.as_dict()
    issue = await run.execute("jira_get_issue", {"issueKey": "ENG-2", "fields": ["issuelinks"]})
    links = (issue.data or {})["issue"]["fields"]["issuelinks"]
    (link,) = [link for link in links if link["type"]["name"] == "Relates"]
    return await run.execute("jira_remove_issue_link", {"issueKey": "ENG-2", "linkId": link["id"]})


CASES: dict[str, Case] = {
    # reads
    "jira_get_issue": plain("jira_get_issue", {"issueKey": "ENG-2"}),
    "jira_search": plain(
        "jira_search", {"projectKey": "ENG", "jql": "project = ENG AND status = 'To Do'"}
    ),
    "jira_get_transitions": plain("jira_get_transitions", {"issueKey": "ENG-2"}),
    "jira_list_sprints": plain("jira_list_sprints", {"boardId": 1}),
    "jira_list_projects": plain("jira_list_projects", {}),
    "jira_search_projects": plain("jira_search_projects", {"query": "eng"}),
    "jira_list_components": plain("jira_list_components", {"projectKey": "ENG"}),
    "jira_list_versions": plain("jira_list_versions", {"projectKey": "ENG"}),
    "jira_list_boards": plain("jira_list_boards", {"projectKey": "ENG"}),
    "jira_get_board_issues": plain("jira_get_board_issues", {"projectKey": "ENG", "boardId": 1}),
    "jira_get_sprint_issues": plain(
        "jira_get_sprint_issues", {"projectKey": "ENG", "sprintId": 102}
    ),
    "jira_get_backlog_issues": plain(
        "jira_get_backlog_issues", {"projectKey": "ENG", "boardId": 1}
    ),
    "jira_list_fields": plain("jira_list_fields", {}),
    "jira_get_field_options": plain(
        "jira_get_field_options", {"projectKey": "ENG", "issueType": "Bug", "fieldId": "priority"}
    ),
    "jira_get_create_meta": plain("jira_get_create_meta", {"projectKey": "ENG"}),
    "jira_get_edit_meta": plain("jira_get_edit_meta", {"issueKey": "ENG-2"}),
    "jira_search_users": plain("jira_search_users", {"query": "alice"}),
    "jira_get_assignable_users": plain("jira_get_assignable_users", {"projectKey": "ENG"}),
    "jira_get_myself": plain("jira_get_myself", {}),
    "jira_list_link_types": plain("jira_list_link_types", {}),
    "jira_get_watchers": plain("jira_get_watchers", {"issueKey": "ENG-2"}),
    "jira_get_worklogs": plain("jira_get_worklogs", {"issueKey": "ENG-2"}),
    "jira_get_changelogs": plain("jira_get_changelogs", {"issueKeys": ["ENG-2", "ENG-3"]}),
    "jira_get_attachments": plain("jira_get_attachments", {"issueKey": "ENG-2"}),
    "jira_get_remote_links": after(
        "jira_create_remote_link",
        {"issueKey": "ENG-2", "url": "https://ci.example.com/run/3", "title": "CI run"},
        "jira_get_remote_links",
        lambda _: {"issueKey": "ENG-2"},
    ),
    "jira_list_statuses": plain("jira_list_statuses", {}),
    "jira_list_priorities": plain("jira_list_priorities", {}),
    "jira_list_issue_types": plain("jira_list_issue_types", {}),
    "jira_list_resolutions": plain("jira_list_resolutions", {}),
    "jira_get_forms": plain("jira_get_forms", {"issueKey": "ENG-2"}),
    "jira_get_form": plain("jira_get_form", {"issueKey": "ENG-2", "formId": "i1"}),
    "jira_get_development_info": plain("jira_get_development_info", {"issueKeys": ["ENG-3"]}),
    "jira_get_cross_project_links": plain("jira_get_cross_project_links", {"projectKey": "ENG"}),
    "jira_get_service_desk": plain("jira_get_service_desk", {"projectKey": "OPS"}),
    "jira_list_queues": plain("jira_list_queues", {"projectKey": "OPS"}),
    "jira_get_queue_issues": plain("jira_get_queue_issues", {"projectKey": "OPS", "queueId": 1}),
    "jira_list_request_types": plain("jira_list_request_types", {"projectKey": "OPS"}),
    "jira_get_request_type_fields": plain(
        "jira_get_request_type_fields", {"projectKey": "OPS", "requestTypeId": 11}
    ),
    "jira_get_issue_sla": plain("jira_get_issue_sla", {"issueKey": "OPS-1"}),
    "jira_rest_read": plain(
        "jira_rest_read",
        lambda flavour: {
            "method": "GET",
            "path": f"/rest/api/{'3' if flavour == 'cloud' else '2'}/issue/ENG-1/watchers",
            "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
            "query": {},
            "projectKey": "ENG",
        },
    ),
    # issues
    "jira_create_ticket": plain(
        "jira_create_ticket",
        {"projectKey": "ENG", "issueType": "Bug", "summary": "Checkout 500s", "labels": ["x"]},
    ),
    "jira_create_tickets": plain(
        "jira_create_tickets",
        lambda flavour: {
            "projectKey": "ENG",
            "issueCount": 2,
            "issueType": "Bug",
            "priority": "Low" if flavour == "cloud" else "P4",
        },
    ),
    "jira_transition_issues": plain(
        "jira_transition_issues", {"issueKeys": ["ENG-2"], "targetStatus": "In Progress"}
    ),
    "jira_move_to_sprint": plain("jira_move_to_sprint", {"sprintId": 103, "issueKeys": ["ENG-6"]}),
    "jira_update_story_points": plain(
        "jira_update_story_points", {"updates": [{"issueKey": "ENG-6", "storyPoints": 3}]}
    ),
    "jira_update_fields": plain(
        "jira_update_fields",
        {"issueKeys": ["ENG-6"], "fields": {"summary": "Renamed"}, "addLabels": ["triaged"]},
    ),
    "jira_assign_issues": plain(
        "jira_assign_issues", lambda flavour: {"issueKeys": ["ENG-6"], "assignee": BOB[flavour]}
    ),
    "jira_add_comment": plain("jira_add_comment", {"issueKey": "ENG-2", "body": "Seen in prod"}),
    "jira_delete_issues": plain("jira_delete_issues", {"issueKeys": ["ENG-10"]}),
    "jira_archive_issues": plain("jira_archive_issues", {"issueKeys": ["ENG-10"]}),
    "jira_move_issue": plain("jira_move_issue", {"issueKey": "ENG-10", "targetProjectKey": "OPS"}),
    # epics
    "jira_create_epic": plain("jira_create_epic", {"projectKey": "ENG", "summary": "Payments"}),
    "jira_update_epic": plain("jira_update_epic", {"epicKey": "ENG-1", "summary": "Checkout v2"}),
    "jira_link_to_epic": plain("jira_link_to_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-6"]}),
    "jira_unlink_from_epic": plain(
        "jira_unlink_from_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-2"]}
    ),
    # versions
    "jira_create_release": plain("jira_create_release", {"projectKey": "ENG", "name": "2.0"}),
    "jira_create_releases": plain(
        "jira_create_releases",
        {"projectKey": "ENG", "versions": [{"name": "2.1"}, {"name": "2.2"}]},
    ),
    "jira_update_release": plain(
        "jira_update_release", {"projectKey": "ENG", "versionId": 10101, "description": "Cart"}
    ),
    "jira_release_version": plain(
        "jira_release_version", {"projectKey": "ENG", "versionId": 10101}
    ),
    "jira_archive_version": plain(
        "jira_archive_version", {"projectKey": "ENG", "versionId": 10100}
    ),
    "jira_merge_versions": plain(
        "jira_merge_versions", {"projectKey": "ENG", "versionId": 10101, "targetVersionId": 10100}
    ),
    "jira_delete_version": plain(
        "jira_delete_version", {"projectKey": "ENG", "versionId": 10101, "moveFixIssuesTo": 10100}
    ),
    # components
    "jira_create_component": plain(
        "jira_create_component", {"projectKey": "ENG", "name": "Search"}
    ),
    "jira_update_component": plain(
        "jira_update_component", {"projectKey": "ENG", "componentId": 10200, "name": "Cart"}
    ),
    "jira_delete_component": plain(
        "jira_delete_component", {"projectKey": "ENG", "componentId": 10201}
    ),
    # sprints and the board
    "jira_create_sprint": plain(
        "jira_create_sprint", {"projectKey": "ENG", "boardId": 1, "name": "sprint_44"}
    ),
    "jira_update_sprint": plain(
        "jira_update_sprint", {"projectKey": "ENG", "sprintId": 103, "goal": "Payments"}
    ),
    "jira_start_sprint": after(
        "jira_close_sprint",
        {"projectKey": "ENG", "sprintId": 102},
        "jira_start_sprint",
        lambda _: {
            "projectKey": "ENG",
            "sprintId": 103,
            "startDate": "2024-05-06T09:00:00.000Z",
            "endDate": "2024-05-20T17:00:00.000Z",
        },
    ),
    "jira_close_sprint": plain("jira_close_sprint", {"projectKey": "ENG", "sprintId": 102}),
    "jira_delete_sprint": plain("jira_delete_sprint", {"projectKey": "ENG", "sprintId": 103}),
    "jira_move_to_backlog": plain("jira_move_to_backlog", {"issueKeys": ["ENG-2"]}),
    "jira_rank_issues": plain(
        "jira_rank_issues", {"issueKeys": ["ENG-6"], "rankBeforeIssue": "ENG-2"}
    ),
    # comments, worklogs, watchers, links, attachments
    "jira_edit_comment": after(
        "jira_add_comment",
        {"issueKey": "ENG-2", "body": "first"},
        "jira_edit_comment",
        lambda made: {
            "issueKey": "ENG-2",
            "commentId": created_id(made, "commentId", "id"),
            "body": "second",
        },
    ),
    "jira_delete_comment": after(
        "jira_add_comment",
        {"issueKey": "ENG-2", "body": "typo"},
        "jira_delete_comment",
        lambda made: {"issueKey": "ENG-2", "commentId": created_id(made, "commentId", "id")},
    ),
    "jira_add_worklog": plain("jira_add_worklog", {"issueKey": "ENG-2", "timeSpent": "1h"}),
    "jira_update_worklog": after(
        "jira_add_worklog",
        {"issueKey": "ENG-2", "timeSpent": "1h"},
        "jira_update_worklog",
        lambda made: {
            "issueKey": "ENG-2",
            "worklogId": created_id(made, "worklogId", "id"),
            "timeSpent": "2h",
        },
    ),
    "jira_delete_worklog": after(
        "jira_add_worklog",
        {"issueKey": "ENG-2", "timeSpent": "1h"},
        "jira_delete_worklog",
        lambda made: {"issueKey": "ENG-2", "worklogId": created_id(made, "worklogId", "id")},
    ),
    "jira_add_watcher": plain(
        "jira_add_watcher", lambda flavour: {"issueKey": "ENG-2", "user": BOB[flavour]}
    ),
    "jira_remove_watcher": plain(
        "jira_remove_watcher", lambda flavour: {"issueKey": "ENG-2", "user": BOB[flavour]}
    ),
    "jira_create_issue_link": plain(
        "jira_create_issue_link",
        {"issueKey": "ENG-2", "linkType": "Blocks", "otherIssueKey": "ENG-3"},
    ),
    "jira_remove_issue_link": _remove_issue_link,
    "jira_create_remote_link": plain(
        "jira_create_remote_link",
        {"issueKey": "ENG-2", "url": "https://ci.example.com/run/1", "title": "CI run"},
    ),
    "jira_remove_remote_link": after(
        "jira_create_remote_link",
        {"issueKey": "ENG-2", "url": "https://ci.example.com/run/2", "title": "CI run"},
        "jira_remove_remote_link",
        lambda made: {"issueKey": "ENG-2", "linkId": created_id(made, "remoteLinkId")},
    ),
    "jira_add_attachment": plain(
        "jira_add_attachment", {"issueKey": "ENG-2", "filename": "trace.txt", "content": FILE}
    ),
    "jira_delete_attachment": after(
        "jira_add_attachment",
        {"issueKey": "ENG-2", "filename": "trace.txt", "content": FILE},
        "jira_delete_attachment",
        lambda made: {"issueKey": "ENG-2", "attachmentId": created_id(made, "attachmentId")},
    ),
    # beside the fields: forms; service management; the generic write
    "jira_update_form_answers": plain(
        "jira_update_form_answers",
        {"issueKey": "ENG-2", "formId": "i1", "answers": [{"questionId": "2", "number": 40}]},
    ),
    "jira_create_customer_request": plain(
        "jira_create_customer_request",
        {"projectKey": "OPS", "requestTypeId": 11, "summary": "VPN is down in Berlin"},
    ),
    "jira_rest_write": plain(
        "jira_rest_write",
        lambda flavour: {
            "method": "POST",
            "path": f"/rest/api/{'3' if flavour == 'cloud' else '2'}/issue/ENG-2/watchers",
            "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
            "query": {},
            "projectKey": "ENG",
            "body": BOB[flavour],
        },
    ),
}

#: (action, flavour) -> why that profile refuses it (a part of the refusal's message).
REFUSED: dict[tuple[str, str], str] = {
    ("jira_archive_issues", "datacenter"): "Data Center has no archive endpoint",
    ("jira_move_issue", "datacenter"): "Data Center has no REST endpoint to move an issue",
}


@pytest.fixture(scope="module")
def _datacenter() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState(profile="datacenter")
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


@pytest.fixture(params=["cloud", "datacenter"])
def site(
    request: pytest.FixtureRequest,
    sandbox: tuple[str, SandboxState],
    _datacenter: tuple[str, SandboxState],
) -> tuple[str, Site]:
    flavour = request.param
    url, state = sandbox if flavour == "cloud" else _datacenter
    state.reset()
    if flavour == "cloud":
        state.basic_auth = (EMAIL, API_TOKEN)
    else:
        state.site = SITE_PROFILES["datacenter"]
        state.bearer_token = PAT
    return flavour, Site(url, state)


def test_the_table_covers_the_whole_catalog() -> None:
    assert sorted(set(CATALOG) - set(CASES)) == []
    assert sorted(set(CASES) - set(CATALOG)) == []


@pytest.mark.parametrize("action", sorted(CASES))
def test_every_action_runs_on_both_profiles(action: str, site: tuple[str, Site]) -> None:
    flavour, target = site
    refused = REFUSED.get((action, flavour))
    outcome: list[ExecutionResult] = []

    async def body(run: Run) -> None:
        if refused is None:
            outcome.append(await CASES[action](run, flavour))
            return
        with pytest.raises(JiraUnsupportedError, match=refused):
            await CASES[action](run, flavour)
        await run.execute("jira_get_myself", {})  # the scenario checks what was sent

    run = scenario(target, flavour, body, unspecified=("/rest/dev-status/",))
    if refused is not None:
        assert [r for r in run.requests if r[0] != "GET"] == []
        return
    (result,) = outcome
    assert result.outcome == "succeeded", result.as_dict()

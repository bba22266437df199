"""Issue-level writes stay inside the project the policy saw (issue 11's hostile agent).

Policies and reviewers see the project of `issueKey`. The ids the actions also carry — a
comment, worklog, issue link, remote link, attachment — name objects that may hang off any
issue of the site, and a key's prefix is not proof of the issue's project (Jira answers the
old key of a moved issue). An agent denied OPS proposes "edit comment 20001 on ENG-2" with
OPS's comment id, or "unlink ENG-6 from epic ENG-1" for an issue under OPS's epic. The adapter
reads the issue and the object first and refuses (the action ends `failed`, nothing written).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate import catalog
from jiragate.errors import InvalidDetailsError
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.results import ExecutionResult
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import Comment, adf_text, now_iso
from tests.api.support import envelope
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.helpers.servers import serve_app
from tests.helpers.service import Service, running_service

EMAIL, TOKEN, PAT = "alice@example.com", "sandbox-token", "sandbox-pat"
ALICE = "5b10a2844c20165700ede21a"
FLAVOURS = ("cloud", "datacenter")
WRITES = ("PUT", "DELETE", "POST")


@pytest.fixture(scope="module")
def _sites() -> Iterator[dict[str, tuple[str, SandboxState]]]:
    states = {flavour: SandboxState(profile=flavour) for flavour in FLAVOURS}
    with (
        serve_app(create_sandbox_app(states["cloud"])) as cloud,
        serve_app(create_sandbox_app(states["datacenter"])) as datacenter,
    ):
        yield {"cloud": (cloud, states["cloud"]), "datacenter": (datacenter, states["datacenter"])}


@pytest.fixture(params=FLAVOURS)
def site(request: pytest.FixtureRequest, _sites: Any) -> tuple[str, str, SandboxState]:
    url, state = _sites[request.param]
    state.reset()
    state.site_wide_ids = False
    seed_objects(state)
    return request.param, url, state


def seed_objects(state: SandboxState) -> None:
    """One of everything on OPS-1 and on ENG-3, and a link from ENG-2 to OPS-1."""
    with state.lock:
        for key in ("OPS-1", "ENG-3"):
            issue = state.issues[key]
            issue.comments.append(Comment(state.next_comment(), ALICE, adf_text("x"), now_iso()))
            issue.worklogs.append(
                {
                    "id": state.next_misc(),
                    "author": ALICE,
                    "timeSpentSeconds": 60,
                    "started": now_iso(),
                    "created": now_iso(),
                }
            )
            issue.remote_links.append(
                {"id": state.next_misc(), "globalId": "g", "object": {"url": "u", "title": "t"}}
            )
            issue.attachments.append(
                {
                    "id": str(state.next_misc()),
                    "filename": "f.txt",
                    "size": 1,
                    "mimeType": "text/plain",
                    "author": ALICE,
                    "created": now_iso(),
                    "content": "eA==",
                }
            )
        ident = state.next_misc()
        state.issues["ENG-2"].links.append({"id": ident, "type": "10000", "outwardIssue": "OPS-1"})
        state.issues["OPS-1"].links.append({"id": ident, "type": "10000", "inwardIssue": "ENG-2"})
        ident = state.next_misc()
        state.issues["OPS-1"].links.append({"id": ident, "type": "10003", "outwardIssue": "OPS-2"})
        state.issues["OPS-2"].links.append({"id": ident, "type": "10003", "inwardIssue": "OPS-1"})


def ids_on(state: SandboxState, key: str) -> dict[str, str]:
    issue = state.issues[key]
    return {
        "commentId": str(issue.comments[-1].id),
        "worklogId": str(issue.worklogs[-1]["id"]),
        "remoteLinkId": str(issue.remote_links[-1]["id"]),
        "attachmentId": str(issue.attachments[-1]["id"]),
    }


def link_id(state: SandboxState, key: str, other: str) -> str:
    return next(
        str(link["id"])
        for link in state.issues[key].links
        if other in (link.get("outwardIssue"), link.get("inwardIssue"))
    )


def execute(site: tuple[str, str, SandboxState], action: str, details: dict[str, Any]) -> Any:
    flavour, url, _ = site
    credentials: dict[str, Any] = (
        {"email": EMAIL, "api_token": TOKEN}
        if flavour == "cloud"
        else {"personal_access_token": PAT, "epic_link_field": "customfield_10014"}
    )
    config = JiraConfig(base_url=url, flavour=flavour, **credentials)  # type: ignore[arg-type]

    async def run() -> ExecutionResult:
        async with JiraAdapter(config) as adapter:
            return await adapter.execute(action, details, action_id="probe", summary="probe")

    return asyncio.run(run())


def writes(state: SandboxState) -> list[str]:
    return [f"{r.method} {r.path}" for r in state.logged() if r.method in WRITES]


def snapshot(state: SandboxState) -> Any:
    return state.snapshot()["issues"]


def by_id(action: str, field: str, state: SandboxState, owner: str) -> dict[str, Any]:
    details: dict[str, Any] = {"issueKey": "ENG-2", field: ids_on(state, owner)[field]}
    if action == "jira_edit_comment":
        details["body"] = "hijacked"
    if action == "jira_update_worklog":
        details["timeSpent"] = "8h"
    if field == "remoteLinkId":
        details = {"issueKey": "ENG-2", "linkId": details[field]}
    return details


ID_ACTIONS = [
    ("jira_edit_comment", "commentId", "comment"),
    ("jira_delete_comment", "commentId", "comment"),
    ("jira_update_worklog", "worklogId", "worklog"),
    ("jira_delete_worklog", "worklogId", "worklog"),
    ("jira_remove_remote_link", "remoteLinkId", "remote link"),
    ("jira_delete_attachment", "attachmentId", "attachment"),
]


@pytest.mark.parametrize("site_wide", [False, True], ids=["jira-scopes-ids", "site-wide-ids"])
@pytest.mark.parametrize("owner", ["OPS-1", "ENG-3"])
@pytest.mark.parametrize(("action", "field", "what"), ID_ACTIONS)
def test_an_id_of_another_issue_is_refused_before_any_write(
    site: tuple[str, str, SandboxState],
    action: str,
    field: str,
    what: str,
    owner: str,
    site_wide: bool,
) -> None:
    """Jira answers 404 for another issue's id under this issue's path; against a server
    that resolved ids site-wide the adapter's own check (the object's issue) refuses it."""
    state = site[2]
    state.site_wide_ids = site_wide
    details = by_id(action, field, state, owner)
    ident = details.get(field, details.get("linkId"))
    before = snapshot(state)
    result = execute(site, action, details)
    assert result.outcome == "failed", result.as_dict()
    reason = result.failures[0].reason
    if site_wide or field == "attachmentId":
        assert f"{what} {ident} is not on issue ENG-2" in reason
    else:
        assert result.failures[0].status == 404, reason
    assert writes(state) == []
    assert snapshot(state) == before


def test_an_issue_link_reaching_another_project_is_not_removed(
    site: tuple[str, str, SandboxState],
) -> None:
    state = site[2]
    before = snapshot(state)
    # A link of ENG-2 whose other end is OPS-1: removing it changes OPS-1.
    reaching = execute(
        site,
        "jira_remove_issue_link",
        {"issueKey": "ENG-2", "linkId": link_id(state, "ENG-2", "OPS-1")},
    )
    assert reaching.outcome == "failed"
    assert "issue OPS-1 is in project OPS, not ENG" in reaching.failures[0].reason
    # A link between two OPS issues, named with ENG-2.
    foreign = execute(
        site,
        "jira_remove_issue_link",
        {"issueKey": "ENG-2", "linkId": link_id(state, "OPS-1", "OPS-2")},
    )
    assert foreign.outcome == "failed"
    assert "does not involve ENG-2" in foreign.failures[0].reason
    assert writes(state) == [] and snapshot(state) == before


def test_a_link_to_another_projects_issue_or_epic_is_refused_by_the_catalog() -> None:
    for action, details in (
        (
            "jira_create_issue_link",
            {"issueKey": "ENG-2", "linkType": "Blocks", "otherIssueKey": "OPS-1"},
        ),
        ("jira_link_to_epic", {"epicKey": "OPS-1", "issueKeys": ["ENG-2"]}),
        ("jira_unlink_from_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-2", "OPS-2"]}),
    ):
        with pytest.raises(InvalidDetailsError, match="single-project"):
            catalog.validate_details(action, details)


def test_an_issue_under_another_projects_epic_is_not_taken_out(
    site: tuple[str, str, SandboxState],
) -> None:
    state = site[2]
    with state.lock:
        epic = state.new_issue("OPS", "OPS roadmap", "Epic", "High", reporter=ALICE)
        state.issues["ENG-6"].parent_key = epic.key
    result = execute(site, "jira_unlink_from_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-6"]})
    assert result.outcome == "failed"
    assert f"ENG-6 is not under epic ENG-1 (its epic is {epic.key})" in result.failures[0].reason
    assert state.issues["ENG-6"].parent_key == epic.key
    assert writes(state) == []


ISSUE_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("jira_edit_comment", {"commentId": "1", "body": "x"}),
    ("jira_add_worklog", {"timeSpent": "1h"}),
    ("jira_add_watcher", {"user": "bob"}),
    ("jira_remove_watcher", {"user": "bob"}),
    ("jira_create_issue_link", {"linkType": "Relates", "otherIssueKey": "ENG-3"}),
    ("jira_create_remote_link", {"url": "https://example.com/x", "title": "x"}),
    ("jira_add_attachment", {"filename": "a.txt", "content": "eA=="}),
]


@pytest.mark.parametrize(("action", "extra"), ISSUE_ACTIONS)
def test_an_issue_moved_to_another_project_is_not_written_under_its_old_key(
    site: tuple[str, str, SandboxState], action: str, extra: dict[str, Any]
) -> None:
    """Jira answers a moved issue's old key (ENG-2) with the issue, now in OPS."""
    state = site[2]
    with state.lock:
        state.issues["ENG-2"].project_key = "OPS"
    before = snapshot(state)
    result = execute(site, action, {"issueKey": "ENG-2", **extra})
    assert result.outcome == "failed"
    assert "issue ENG-2 is in project OPS, not ENG (was it moved?)" in result.failures[0].reason
    assert writes(state) == [] and snapshot(state) == before


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    choice=st.sampled_from(ID_ACTIONS),
    ident=st.one_of(st.integers(1, 30_000), st.sampled_from(["20000", "20001", "10000", "1"])),
)
def test_no_id_an_agent_picks_changes_anything_but_eng_2(
    site: tuple[str, str, SandboxState], choice: tuple[str, str, str], ident: int | str
) -> None:
    state = site[2]
    state.reset()
    state.site_wide_ids = True  # the adapter's own check is what holds
    seed_objects(state)
    action, field, _ = choice
    details = by_id(action, field, state, "OPS-1")
    details["linkId" if "linkId" in details else field] = str(ident)
    others = [i for i in snapshot(state) if i["key"] != "ENG-2"]
    execute(site, action, details)
    assert [i for i in snapshot(state) if i["key"] != "ENG-2"] == others


# --------------------------------------------------------------------------- end to end

PM = "pm-carol"  # the defaults route an unmatched write to the project managers


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    with running_service(db_url, policy_dir=copy_policies_denying_ops(tmp_path)) as running:
        yield running


def test_an_approved_comment_edit_with_an_ops_comment_id_changes_nothing(service: Service) -> None:
    with service.sandbox.lock:
        service.sandbox.site_wide_ids = True  # so the adapter's own check is what holds
        comment = Comment(service.sandbox.next_comment(), ALICE, adf_text("ops"), now_iso())
        service.sandbox.issues["OPS-1"].comments.append(comment)
    honest = service.agent.post(
        "/v1/actions",
        json=envelope("jira_edit_comment", issueKey="OPS-1", commentId=str(comment.id), body="x"),
    )
    assert honest.status_code == 403, honest.text  # the OPS rule holds when OPS is named
    disguised = service.agent.post(
        "/v1/actions",
        json=envelope("jira_edit_comment", issueKey="ENG-2", commentId=str(comment.id), body="x"),
    )
    assert disguised.status_code == 202, disguised.text
    action_id = disguised.json()["id"]
    decided = service.client(PM).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["status"] == "failed", final
    assert (
        f"comment {comment.id} is not on issue ENG-2"
        in f"{final.get('error')} {final.get('result')}"
    )
    with service.sandbox.lock:
        assert service.sandbox.issues["OPS-1"].comments[-1].body == adf_text("ops")


# --------------------------------------------------------------------------- field edits


@pytest.mark.parametrize(
    "custom",
    [
        {"Sprint": 201},  # OPS's active sprint: the sprint-scope check would be skipped
        {"customfield_10020": 201},
        {"Epic Link": "OPS-1"},
        {"customfield_10014": "OPS-1"},
    ],
)
def test_a_sprint_or_epic_cannot_be_set_as_a_custom_field(
    site: tuple[str, str, SandboxState], custom: dict[str, Any]
) -> None:
    state = site[2]
    before = snapshot(state)
    result = execute(site, "jira_update_fields", {"issueKeys": ["ENG-2"], "customFields": custom})
    assert result.outcome == "failed"
    assert "cannot be set by jira_update_fields" in result.failures[0].reason
    assert writes(state) == [] and snapshot(state) == before


def test_a_field_edit_parent_in_another_project_is_refused_by_the_catalog() -> None:
    with pytest.raises(InvalidDetailsError, match="single-project"):
        catalog.validate_details(
            "jira_update_fields", {"issueKeys": ["ENG-2"], "fields": {"parent": "OPS-1"}}
        )


def test_components_of_another_project_are_refused_by_jira(
    site: tuple[str, str, SandboxState],
) -> None:
    state = site[2]
    result = execute(
        site,
        "jira_update_fields",
        {"issueKeys": ["ENG-2"], "fields": {"components": ["Databases"]}},
    )
    assert result.outcome == "failed" and result.failures[0].status == 400
    assert state.issues["ENG-2"].components == []

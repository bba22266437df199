"""The agile and project-administration actions against the Jira sandbox over real HTTP, on
both profiles: the Cloud flavour against a Cloud-profile sandbox (v3 + agile, accountIds), the
Data Center flavour against a Data Center-profile one (v2 + agile, user names). Sprints from
creation to deletion, the backlog and ranking, releases in batches, merging and deleting
versions, components.

Every request the adapter sends is checked against Atlassian's OpenAPI spec (`scenario`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jiragate.errors import JiraTransportError
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import Component, Sprint
from tests.helpers.servers import serve_app
from tests.jira.conftest import API_TOKEN, EMAIL, PAT, Site
from tests.jira.test_adapter_sandbox import BOB_ACCOUNT, FLAVOURS, Run, arm, scenario

START, END = "2026-03-02T09:00:00.000Z", "2026-03-13T17:00:00.000Z"


@pytest.fixture(scope="module")
def _profiles() -> Iterator[dict[str, Site]]:
    """One sandbox per profile, for the module."""
    cloud, datacenter = SandboxState(profile="cloud"), SandboxState(profile="datacenter")
    with serve_app(create_sandbox_app(cloud)) as c, serve_app(create_sandbox_app(datacenter)) as d:
        yield {"cloud": Site(c, cloud), "datacenter": Site(d, datacenter)}


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def jira(_profiles: dict[str, Site], flavour: str) -> Site:
    """The flavour's own profile, reset, accepting only the adapter's credentials."""
    site = _profiles[flavour]
    site.state.reset()
    site.state.basic_auth = (EMAIL, API_TOKEN)
    site.state.bearer_token = PAT
    return site


def _sprint(site: Site, sprint_id: int) -> Sprint | None:
    with site.state.lock:
        return site.state.sprints.get(sprint_id)


def _in_sprint(site: Site, sprint_id: int | None) -> set[str]:
    with site.state.lock:
        return {i.key for i in site.state.issues.values() if i.sprint_id == sprint_id}


def test_a_sprint_from_creation_to_deletion(jira: Site, flavour: str) -> None:
    incomplete = {"ENG-2", "ENG-3", "ENG-4", "ENG-5", "ENG-6", "ENG-12"}  # ENG-12: ENG-5's
    state: dict[str, Any] = {}

    async def body(run: Run) -> None:
        created = await run.execute(
            "jira_create_sprint",
            {"projectKey": "ENG", "boardId": 1, "name": "sprint_44", "goal": "Polish"},
        )
        assert created.outcome == "succeeded", created.as_dict()["failures"]
        sprint = created.data["sprint"]
        assert (sprint["state"], sprint["goal"], sprint["originBoardId"]) == ("future", "Polish", 1)
        new = state["id"] = sprint["id"]
        renamed = await run.execute(
            "jira_update_sprint", {"projectKey": "ENG", "sprintId": new, "name": "sprint_44b"}
        )
        assert renamed.data["sprint"]["name"] == "sprint_44b", renamed.as_dict()
        # Sprint 102 is active on board 1 and parallel sprints are off: Jira refuses.
        early = await run.execute(
            "jira_start_sprint",
            {"projectKey": "ENG", "sprintId": new, "startDate": START, "endDate": END},
        )
        assert early.outcome == "failed"
        assert "sprint_42 is already active" in early.failures[0].reason
        closed = await run.execute(
            "jira_close_sprint", {"projectKey": "ENG", "sprintId": 102, "moveIncompleteTo": new}
        )
        assert closed.outcome == "succeeded", closed.as_dict()
        assert closed.data["sprint"]["state"] == "closed"
        assert set(closed.updated) == incomplete - {"ENG-12"}  # the sub-task travels along
        started = await run.execute(
            "jira_start_sprint",
            {"projectKey": "ENG", "sprintId": new, "startDate": START, "endDate": END},
        )
        assert started.data["sprint"]["state"] == "active", started.as_dict()
        again = await run.execute(
            "jira_start_sprint",
            {"projectKey": "ENG", "sprintId": new, "startDate": START, "endDate": END},
        )
        assert again.outcome == "succeeded" and again.data["recovered"] is True
        active = await run.execute("jira_delete_sprint", {"projectKey": "ENG", "sprintId": new})
        assert active.outcome == "failed"
        assert "active; complete it before deleting it" in active.failures[0].reason
        to_backlog = await run.execute("jira_close_sprint", {"projectKey": "ENG", "sprintId": new})
        assert to_backlog.outcome == "succeeded", to_backlog.as_dict()
        assert to_backlog.data["movedTo"] == "backlog"
        deleted = await run.execute("jira_delete_sprint", {"projectKey": "ENG", "sprintId": new})
        assert deleted.outcome == "succeeded", deleted.as_dict()

    run = scenario(jira, flavour, body)
    assert _sprint(jira, state["id"]) is None
    old = _sprint(jira, 102)
    assert old is not None and old.state == "closed" and old.complete_date
    assert incomplete <= _in_sprint(jira, None)  # closing the new sprint sent them back
    assert _in_sprint(jira, 102) == set()  # ENG-11, done, went along with its parent ENG-5
    assert len(run.sent("DELETE", f"/sprint/{state['id']}")) == 2  # refused once, then done


def test_parallel_sprints_let_a_second_sprint_start(jira: Site, flavour: str) -> None:
    jira.state.parallel_sprints = True

    async def body(run: Run) -> None:
        started = await run.execute(
            "jira_start_sprint",
            {"projectKey": "ENG", "sprintId": "sprint_43", "startDate": START, "endDate": END},
        )
        assert started.outcome == "succeeded", started.as_dict()

    scenario(jira, flavour, body)
    assert _sprint(jira, 103).state == "active"  # type: ignore[union-attr]
    assert _sprint(jira, 102).state == "active"  # type: ignore[union-attr]


def test_backlog_moves_and_ranks(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        moved = await run.execute("jira_move_to_backlog", {"issueKeys": ["ENG-2", "ENG-5"]})
        assert moved.outcome == "succeeded" and moved.updated == ["ENG-2", "ENG-5"]
        ranked = await run.execute(
            "jira_rank_issues", {"issueKeys": ["ENG-10", "ENG-9"], "rankBeforeIssue": "ENG-2"}
        )
        assert ranked.outcome == "succeeded", ranked.as_dict()
        after = await run.execute(
            "jira_rank_issues", {"issueKeys": ["ENG-99", "ENG-3"], "rankAfterIssue": "ENG-6"}
        )
        assert after.outcome == "partial", after.as_dict()
        assert after.updated == ["ENG-3"] and after.failures[0].key == "ENG-99"

    scenario(jira, flavour, body)
    assert _in_sprint(jira, 102) >= {"ENG-3", "ENG-4"}
    assert {"ENG-2", "ENG-5", "ENG-12"} <= _in_sprint(jira, None)  # ENG-12 went with ENG-5
    order = [k for k in jira.state.ranking if k.startswith("ENG-")]
    assert order[:5] == ["ENG-1", "ENG-10", "ENG-9", "ENG-2", "ENG-4"]
    assert order.index("ENG-3") == order.index("ENG-6") + 1


def test_releases_in_a_batch_archived_merged_and_deleted(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        batch = await run.execute(
            "jira_create_releases",
            {
                "projectKey": "ENG",
                "versions": [
                    {"name": "2.0", "releaseDate": "2026-06-01"},
                    {"name": "1.1", "description": "taken"},
                    {"name": "2.1", "description": "Next"},
                ],
            },
        )
        assert batch.outcome == "partial", batch.as_dict()
        assert [c["index"] for c in batch.created] == [0, 2]
        assert batch.failures[0].index == 1 and "already exists" in batch.failures[0].reason
        two, _, two_one = batch.data["versions"]
        archived = await run.execute(
            "jira_archive_version", {"projectKey": "ENG", "versionId": two_one["id"]}
        )
        assert archived.outcome == "succeeded", archived.as_dict()
        merged = await run.execute(
            "jira_merge_versions",
            {"projectKey": "ENG", "versionId": "10101", "targetVersionId": two["id"]},
        )
        assert merged.outcome == "succeeded", merged.as_dict()
        deleted = await run.execute(
            "jira_delete_version",
            {"projectKey": "ENG", "versionId": "10100", "moveFixIssuesTo": two["id"]},
        )
        assert deleted.outcome == "succeeded", deleted.as_dict()

    scenario(jira, flavour, body)
    with jira.state.lock:
        names = {v.name: v for v in jira.state.versions.values()}
        assert set(names) == {"2.0", "2.1"}
        assert names["2.1"].archived and names["2.0"].release_date == "2026-06-01"
        two_id = names["2.0"].id
        assert jira.state.issues["ENG-4"].fix_versions == [two_id]  # merged from 1.1
        assert jira.state.issues["ENG-7"].fix_versions == [two_id]  # moved from 1.0


def test_components_created_updated_and_deleted(jira: Site, flavour: str) -> None:
    lead = BOB_ACCOUNT if flavour == "cloud" else "bob"

    async def body(run: Run) -> None:
        created = await run.execute(
            "jira_create_component",
            {
                "projectKey": "ENG",
                "name": "Search",
                "lead": lead,
                "assigneeType": "COMPONENT_LEAD",
            },
        )
        assert created.outcome == "succeeded", created.as_dict()["failures"]
        component = created.data["component"]
        assert component["project"] == "ENG" and component["lead"]["displayName"] == "Bob Brown"
        twice = await run.execute("jira_create_component", {"projectKey": "ENG", "name": "search"})
        assert twice.outcome == "failed" and "already exists" in twice.failures[0].reason
        updated = await run.execute(
            "jira_update_component",
            {"projectKey": "ENG", "componentId": component["id"], "description": "Find things"},
        )
        assert updated.data["component"]["description"] == "Find things", updated.as_dict()
        deleted = await run.execute(
            "jira_delete_component",
            {"projectKey": "ENG", "componentId": "10200", "moveIssuesTo": component["id"]},
        )
        assert deleted.outcome == "succeeded", deleted.as_dict()

    scenario(jira, flavour, body)
    with jira.state.lock:
        (search,) = [c for c in jira.state.components.values() if c.name == "Search"]
        assert isinstance(search, Component) and search.lead == BOB_ACCOUNT
        assert search.description == "Find things"
        assert 10200 not in jira.state.components
        assert jira.state.issues["ENG-3"].components == [search.id]


# --------------------------------------------------------------------------- lost answers


def test_lost_answers_to_creates_and_state_changes_are_found_not_resent(
    jira: Site, flavour: str
) -> None:
    api = "/rest/api/*/"
    for method, path in (
        ("POST", "/rest/agile/1.0/sprint"),
        ("POST", "/rest/agile/1.0/sprint/103"),
        ("POST", f"{api}version"),
        ("POST", f"{api}component"),
        ("DELETE", f"{api}component/10201"),
    ):
        arm(
            jira.state,
            match={"method": method, "path": path},
            fault={"kind": "drop", "when": "after"},
        )
    jira.state.parallel_sprints = True

    async def body(run: Run) -> None:
        sprint = await run.execute(
            "jira_create_sprint", {"projectKey": "ENG", "boardId": 1, "name": "lost_answer"}
        )
        assert sprint.outcome == "succeeded" and sprint.data["sprint"]["name"] == "lost_answer"
        start = {"projectKey": "ENG", "sprintId": 103, "startDate": START, "endDate": END}
        started = await run.execute("jira_start_sprint", start)
        assert started.data["sprint"]["state"] == "active", started.as_dict()
        batch = await run.execute(
            "jira_create_releases", {"projectKey": "ENG", "versions": [{"name": "9.0"}]}
        )
        assert batch.outcome == "succeeded", batch.as_dict()
        component = await run.execute(
            "jira_create_component", {"projectKey": "ENG", "name": "Lost"}
        )
        assert component.data["component"]["name"] == "Lost", component.as_dict()
        gone = await run.execute(
            "jira_delete_component", {"projectKey": "ENG", "componentId": 10201}
        )
        assert gone.outcome == "succeeded", gone.as_dict()

    run = scenario(jira, flavour, body)
    assert len(run.sent("POST", "/rest/agile/1.0/sprint")) == 1
    assert len(run.sent("POST", "/sprint/103")) == 1
    assert len(run.sent("POST", "/version")) == 1
    assert len(run.sent("POST", "/component")) == 1
    with jira.state.lock:
        assert [s.name for s in jira.state.sprints.values()].count("lost_answer") == 1
        assert [v.name for v in jira.state.versions.values()].count("9.0") == 1
        assert [c.name for c in jira.state.components.values()].count("Lost") == 1
        assert 10201 not in jira.state.components


def test_an_unanswered_write_is_unknown_never_failed(jira: Site, flavour: str) -> None:
    arm(
        jira.state,
        match={"method": "PUT", "path": "/rest/agile/1.0/issue/rank"},
        times=None,
        fault={"kind": "status", "status": 504},
    )
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/agile/1.0/sprint"},
        times=None,
        fault={"kind": "status", "status": 502},
    )

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError) as ranked:
            await run.execute(
                "jira_rank_issues", {"issueKeys": ["ENG-9"], "rankAfterIssue": "ENG-2"}
            )
        assert ranked.value.outcome_unknown
        with pytest.raises(JiraTransportError) as created:
            await run.execute(
                "jira_create_sprint", {"projectKey": "ENG", "boardId": 1, "name": "maybe"}
            )
        assert created.value.outcome_unknown

    scenario(jira, flavour, body, max_retries=1)

"""Site-aware metadata and the adapter defects it fixes, against both sandbox profiles.

The Cloud profile has the standard priorities and "Subtask", a team-managed OPS whose only
story points field is "Story point estimate"; the Data Center profile has P1..P4, "Sub-task",
a required Epic Name, transition screens that require a resolution, and an OPS project with
both "Story Points" and "Story point estimate" on its screens. Every request the adapter
sends is checked against Atlassian's spec (tests/jira/test_adapter_sandbox.py's scenario).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiragate.catalog import validate_details
from jiragate.catalog.site import FieldInfo, SiteMetadata, site_violations
from jiragate.errors import InvalidDetailsError
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import (
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    IMPACT_FIELD,
    SITE_PROFILES,
    STORY_ESTIMATE_FIELD,
    STORY_POINTS_FIELD,
    Priority,
)
from tests.helpers.servers import serve_app
from tests.jira.test_adapter_sandbox import API_TOKEN, EMAIL, PAT, Run, Site, scenario


@pytest.fixture(scope="module")
def _dc_server() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState(profile="datacenter")
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


@pytest.fixture
def dc(_dc_server: tuple[str, SandboxState]) -> Site:
    url, state = _dc_server
    state.reset()
    state.site = SITE_PROFILES["datacenter"]  # a test may have changed it
    state.bearer_token = PAT
    return Site(url, state)


@pytest.fixture
def cloud(sandbox: tuple[str, SandboxState]) -> Site:
    url, state = sandbox
    state.basic_auth = (EMAIL, API_TOKEN)
    return Site(url, state)


def dc_scenario(site: Site, body: Any, **overrides: Any) -> Run:
    # No epic_link_field: the adapter finds Epic Link (and Epic Name) by name.
    return scenario(site, "datacenter", body, epic_link_field=None, **overrides)


# --------------------------------------------------------------------------- pure checks

DC_SITE = SiteMetadata(
    flavour="datacenter",
    priorities=("P1", "P2", "P3", "P4"),
    statuses=("To Do", "In Progress", "Done"),
    resolutions=("Done", "Won't Do"),
    issue_types=("Bug", "Task", "Story", "Epic", "Sub-task", "Incident"),
    subtask_types=("Sub-task",),
    project_issue_types={"OPS": ("Task", "Incident")},
    fields=(
        FieldInfo("customfield_10016", "Story Points", True, "number"),
        FieldInfo("customfield_10300", "Team", True, "string"),
        FieldInfo("customfield_10301", "Severity", True, "option"),
        FieldInfo("customfield_10302", "Severity", True, "option"),
    ),
)


def _ticket(**details: Any) -> dict[str, Any]:
    return {"projectKey": "ENG", "issueType": "Bug", "summary": "x", **details}


def test_an_unknown_priority_lists_the_sites_and_suggests_a_near_miss() -> None:
    (problem,) = site_violations("jira_create_ticket", _ticket(priority="High"), DC_SITE)
    assert problem.pointer == "/priority" and problem.rule == "site-priority"
    assert "'P1', 'P2', 'P3', 'P4'" in problem.message
    (case,) = site_violations("jira_create_ticket", _ticket(priority="p2"), DC_SITE)
    assert "did you mean 'P2'" in case.message
    assert site_violations("jira_create_ticket", _ticket(priority="P2"), DC_SITE) == []


def test_issue_types_are_the_projects_and_nested_tickets_are_checked() -> None:
    assert site_violations("jira_create_ticket", _ticket(issueType="Incident"), DC_SITE) == []
    ops = {"projectKey": "OPS", "issueType": "Bug", "summary": "x"}
    (problem,) = site_violations("jira_create_ticket", ops, DC_SITE)
    assert "of project OPS" in problem.message and "'Task', 'Incident'" in problem.message
    bulk = {
        "projectKey": "ENG",
        "issueCount": 2,
        "issueType": "Bug",
        "priority": "P3",
        "tickets": [{"summary": "a", "issueType": "Subtask"}, {"summary": "b", "priority": "Hi"}],
    }
    problems = site_violations("jira_create_tickets", bulk, DC_SITE)
    assert [p.pointer for p in problems] == ["/tickets/0/issueType", "/tickets/1/priority"]
    assert "did you mean 'Sub-task'" in problems[0].message


def test_custom_fields_by_name_or_id_unknown_and_ambiguous() -> None:
    fine = _ticket(customFields={"Team": "Payments", "customfield_10300": "Search"})
    assert site_violations("jira_create_ticket", fine, DC_SITE) == []
    bad = _ticket(customFields={"Teem": "x", "Severity": "S1", "customfield_999": 1})
    problems = {p.pointer: p.message for p in site_violations("jira_create_ticket", bad, DC_SITE)}
    assert "did you mean 'Team'" in problems["/customFields/Teem"]
    assert "customfield_10301, customfield_10302" in problems["/customFields/Severity"]
    assert "no custom field customfield_999" in problems["/customFields/customfield_999"]


def test_statuses_and_resolutions_of_a_transition() -> None:
    details = {"issueKeys": ["ENG-1"], "targetStatus": "Closed", "resolution": "Wont Do"}
    problems = site_violations("jira_transition_issues", details, DC_SITE)
    by_rule = {p.rule: p.message for p in problems}
    assert set(by_rule) == {"site-status", "site-resolution"}
    assert 'did you mean "Won\'t Do"' in by_rule["site-resolution"]


def test_a_site_that_listed_nothing_of_a_kind_refuses_nothing() -> None:
    empty = SiteMetadata()
    assert site_violations("jira_create_ticket", _ticket(priority="Whatever"), empty) == []


NAMES = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1)


@given(priorities=st.lists(NAMES, min_size=1, max_size=8, unique=True), value=NAMES)
def test_a_priority_passes_exactly_when_the_site_has_it(priorities: list[str], value: str) -> None:
    site = SiteMetadata(priorities=tuple(priorities))
    problems = site_violations("jira_create_ticket", _ticket(priority=value), site)
    assert (problems == []) == (value in priorities)
    for problem in problems:
        assert all(repr(name) in problem.message for name in priorities)


def test_a_snapshot_round_trips_and_a_foreign_file_is_refused() -> None:
    assert SiteMetadata.from_dict(DC_SITE.as_dict()) == DC_SITE
    with pytest.raises(ValueError, match="jiragate jira snapshot"):
        SiteMetadata.from_dict({"priorities": []})
    with pytest.raises(ValueError, match="'priorities' must be a list of names"):
        SiteMetadata.from_dict({**DC_SITE.as_dict(), "priorities": "P1"})


# --------------------------------------------------------------------------- the cache


def _adapter(site: Site, clock: list[float], **overrides: Any) -> JiraAdapter:
    config = JiraConfig(
        base_url=site.url, flavour="datacenter", personal_access_token=PAT, **overrides
    )
    return JiraAdapter(config, clock=lambda: clock[0])


def test_metadata_is_cached_for_the_ttl_and_a_miss_refreshes_once(dc: Site) -> None:
    clock = [1000.0]

    async def main() -> None:
        async with _adapter(dc, clock, metadata_ttl=600) as adapter:
            first = await adapter.site.get()
            assert first.priorities == ("P1", "P2", "P3", "P4")
            assert first.subtask_type == "Sub-task"
            await adapter.check_site("jira_create_ticket", _ticket(priority="P1"))
            assert adapter.site.fetches == 1  # answered from the cache
            # The site gains a priority: the first action naming it refreshes once.
            dc.state.site = dataclasses.replace(
                dc.state.site, priorities=(*dc.state.site.priorities, Priority("10104", "P5"))
            )
            await adapter.check_site("jira_create_ticket", _ticket(priority="P5"))
            assert adapter.site.fetches == 2
            with pytest.raises(InvalidDetailsError) as caught:
                await adapter.check_site("jira_create_ticket", _ticket(priority="Urgent"))
            assert "'P5'" in str(caught.value)
            assert adapter.site.fetches == 3  # one refresh for the miss, then refused
            clock[0] += 601
            await adapter.site.get()
            assert adapter.site.fetches == 4  # stale after the TTL

    asyncio.run(main())


def test_an_action_with_no_site_value_fetches_nothing(dc: Site) -> None:
    async def main() -> None:
        async with _adapter(dc, [0.0]) as adapter:
            details = {"issueKeys": ["ENG-2"], "assignee": "bob"}
            assert await adapter.check_site("jira_assign_issues", details) is None
            assert adapter.site.fetches == 0

    asyncio.run(main())


# --------------------------------------------------------------------------- Data Center


def test_dc_epic_sets_epic_name_and_links_children_with_epic_link(dc: Site) -> None:
    async def body(run: Run) -> None:
        created = await run.execute(
            "jira_create_epic",
            {
                "projectKey": "ENG",
                "summary": "Observability",
                "epicName": "OBS",
                "priority": "P2",
                "childIssueKeys": ["ENG-6"],
            },
            action_id="epic1",
        )
        assert created.outcome == "succeeded", created.as_dict()
        (create,) = run.sent("POST", "/rest/api/2/issue")
        assert create[3]["fields"][EPIC_NAME_FIELD] == "OBS"
        (adopt,) = run.sent("PUT", "/issue/ENG-6")
        assert set(adopt[3]["fields"]) == {EPIC_LINK_FIELD}  # not `parent`

    dc_scenario(dc, body)
    (epic,) = [i for i in dc.state.issues.values() if i.summary == "Observability"]
    assert epic.epic_name == "OBS" and epic.priority == "P2"
    assert dc.state.issues["ENG-6"].parent_key == epic.key


def test_dc_epic_rename_sets_the_epic_name_field(dc: Site) -> None:
    """jira_update_epic's epicName is the one way to rename a DC epic (customFields refuses
    the field: it would step around the rules on epics)."""

    async def body(run: Run) -> None:
        renamed = await run.execute(
            "jira_update_epic", {"epicKey": "ENG-1", "epicName": "Checkout v2"}
        )
        assert renamed.outcome == "succeeded", renamed.as_dict()
        (edit,) = run.sent("PUT", "/issue/ENG-1")
        assert edit[3]["fields"] == {EPIC_NAME_FIELD: "Checkout v2"}
        as_custom = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-1"], "customFields": {EPIC_NAME_FIELD: "x"}}
        )
        assert as_custom.outcome == "failed"
        assert "jira_update_epic" in as_custom.failures[0].reason
        assert len(run.sent("PUT", "/issue/ENG-1")) == 1

    dc_scenario(dc, body)
    assert dc.state.issues["ENG-1"].epic_name == "Checkout v2"
    with pytest.raises(InvalidDetailsError) as refused:  # by name, before any site is read
        validate_details(
            "jira_update_fields", {"issueKeys": ["ENG-1"], "customFields": {"epic name": "x"}}
        )
    (problem,) = refused.value.violations
    assert problem.rule == "own-action-field" and "epicName" in problem.message


def test_dc_sub_task_and_a_story_under_an_epic(dc: Site) -> None:
    async def body(run: Run) -> None:
        sub = await run.execute(
            "jira_create_ticket",
            {
                "projectKey": "ENG",
                "issueType": "Sub-task",
                "summary": "Wire it",
                "parentKey": "ENG-5",
            },
            action_id="sub1",
        )
        assert sub.outcome == "succeeded", sub.as_dict()
        story = await run.execute(
            "jira_create_ticket",
            {"projectKey": "ENG", "issueType": "Story", "summary": "Child", "parentKey": "ENG-1"},
            action_id="story1",
        )
        assert story.outcome == "succeeded", story.as_dict()
        bodies = [r[3]["fields"] for r in run.sent("POST", "/rest/api/2/issue")]
        assert bodies[0]["parent"] == {"key": "ENG-5"} and EPIC_LINK_FIELD not in bodies[0]
        assert bodies[1][EPIC_LINK_FIELD] == "ENG-1" and "parent" not in bodies[1]

    dc_scenario(dc, body)
    made = {i.summary: i for i in dc.state.issues.values()}
    assert made["Wire it"].issue_type == "Sub-task" and made["Wire it"].parent_key == "ENG-5"
    assert made["Child"].parent_key == "ENG-1"


def test_dc_transition_screen_requires_a_resolution(dc: Site) -> None:
    async def body(run: Run) -> None:
        # ENG-2 is To Do; "Close" (To Do -> Done) has a screen requiring a resolution.
        refused = await run.execute(
            "jira_transition_issues", {"issueKeys": ["ENG-2"], "targetStatus": "Done"}
        )
        assert refused.outcome == "failed"
        (failure,) = refused.failures
        assert failure.key == "ENG-2"
        assert "requires 'resolution'" in failure.reason and '"Won\'t Do"' in failure.reason
        assert run.sent("POST", "/transitions") == []  # nothing sent for it
        done = await run.execute(
            "jira_transition_issues",
            {"issueKeys": ["ENG-2"], "targetStatus": "Done", "resolution": "Won't Do"},
        )
        assert done.outcome == "succeeded", done.as_dict()
        (sent,) = run.sent("POST", "/transitions")
        assert sent[3]["fields"] == {"resolution": {"name": "Won't Do"}}
        assert any(
            r[2] == {"expand": "transitions.fields"} for r in run.sent("GET", "/transitions")
        )

    dc_scenario(dc, body)
    issue = dc.state.issues["ENG-2"]
    assert issue.status == "Done" and issue.resolution == "Won't Do"


def test_dc_story_points_are_ambiguous_on_ops_until_configured(dc: Site) -> None:
    update = {"updates": [{"issueKey": "OPS-1", "storyPoints": 5}]}

    async def ambiguous(run: Run) -> None:
        result = await run.execute("jira_update_story_points", update)
        assert result.outcome == "failed"
        reason = result.failures[0].reason
        assert f"'Story Points' ({STORY_POINTS_FIELD})" in reason
        assert f"'Story point estimate' ({STORY_ESTIMATE_FIELD})" in reason
        assert "jira.story_points_fields.OPS" in reason
        assert run.sent("PUT", "/issue/OPS-1") == []

    dc_scenario(dc, ambiguous)
    assert dc.state.issues["OPS-1"].story_points is None

    async def configured(run: Run) -> None:
        result = await run.execute("jira_update_story_points", update)
        assert result.outcome == "succeeded", result.as_dict()
        assert result.data["storyPointsField"] == {
            "id": STORY_ESTIMATE_FIELD,
            "name": "Story point estimate",
            "how": "configured for the project",
        }
        # ENG has one story points field: detected, and said so.
        eng = await run.execute(
            "jira_update_story_points", {"updates": [{"issueKey": "ENG-3", "storyPoints": 2}]}
        )
        assert eng.data["storyPointsField"]["how"] == "detected"
        assert eng.data["field"] == STORY_POINTS_FIELD

    dc_scenario(dc, configured, story_points_fields={"OPS": STORY_ESTIMATE_FIELD})
    assert dc.state.issues["OPS-1"].story_points == 5


# --------------------------------------------------------------------------- Cloud


def test_cloud_team_managed_project_uses_story_point_estimate(cloud: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_create_ticket",
            {"projectKey": "OPS", "issueType": "Task", "summary": "Rotate keys", "storyPoints": 3},
            action_id="ops1",
        )
        assert result.outcome == "succeeded", result.as_dict()
        assert result.data["storyPointsField"]["name"] == "Story point estimate"
        (create,) = run.sent("POST", "/rest/api/3/issue")
        assert create[3]["fields"][STORY_ESTIMATE_FIELD] == 3
        assert STORY_POINTS_FIELD not in create[3]["fields"]

    scenario(cloud, "cloud", body)
    (made,) = [i for i in cloud.state.issues.values() if i.summary == "Rotate keys"]
    assert made.story_points == 3


def test_cloud_transition_without_a_screen_sends_no_resolution(cloud: Site) -> None:
    async def body(run: Run) -> None:
        # ENG-4 is In Review; "Done" has no screen on Cloud: a resolution is not sent.
        result = await run.execute(
            "jira_transition_issues",
            {"issueKeys": ["ENG-4"], "targetStatus": "Done", "resolution": "Duplicate"},
        )
        assert result.outcome == "succeeded", result.as_dict()
        assert result.data == {"resolutionNotOnScreen": ["ENG-4"]}
        (sent,) = run.sent("POST", "/transitions")
        assert "fields" not in sent[3]

    scenario(cloud, "cloud", body)
    assert cloud.state.issues["ENG-4"].status == "Done"


def test_custom_fields_by_name_reach_jira_by_id(cloud: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_update_fields",
            {"issueKeys": ["ENG-3"], "customFields": {"Customer impact": 4}},
        )
        assert result.outcome == "succeeded", result.as_dict()
        (edit,) = run.sent("PUT", "/issue/ENG-3")
        assert edit[3]["fields"] == {IMPACT_FIELD: 4}

    scenario(cloud, "cloud", body)
    assert cloud.state.issues["ENG-3"].custom_fields[IMPACT_FIELD] == 4


def test_a_story_points_field_is_refused_as_a_custom_field_by_the_site_check() -> None:
    """By name (any case) the catalog refuses it; by id only the site knows the name."""
    by_id = {"issueKeys": ["ENG-3"], "customFields": {"customfield_10016": 40}}
    (problem,) = site_violations("jira_update_fields", by_id, DC_SITE)
    assert problem.rule == "own-action-field"
    assert "'Story Points' (customfield_10016)" in problem.message
    assert "jira_update_story_points" in problem.message
    (created,) = site_violations(
        "jira_create_ticket", _ticket(customFields=by_id["customFields"]), DC_SITE
    )
    assert "storyPoints" in created.message


@pytest.mark.parametrize(
    ("ref", "overrides"),
    [
        (STORY_POINTS_FIELD, {}),  # by id, its name a story points name
        (STORY_ESTIMATE_FIELD, {}),  # the team-managed name, by id
        # the configured field, whatever the site calls it (here: "Customer impact")
        (IMPACT_FIELD, {"story_points_field": IMPACT_FIELD}),
    ],
)
def test_the_adapter_refuses_story_points_as_a_custom_field_at_execution(
    cloud: Site, ref: str, overrides: dict[str, Any]
) -> None:
    """The backstop when the gateway could not read the site before deciding: nothing is
    sent, the edit fails naming the action that sets estimates."""
    before = cloud.state.issues["ENG-3"].story_points

    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-3"], "customFields": {ref: 40}}
        )
        assert result.outcome == "failed", result.as_dict()
        assert "jira_update_story_points" in result.failures[0].reason
        assert run.sent("PUT", "/issue/ENG-3") == []

    scenario(cloud, "cloud", body, **overrides)
    assert cloud.state.issues["ENG-3"].story_points == before


def test_unreadable_metadata_is_not_a_refusal_and_is_not_retried_at_once() -> None:
    """Jira down: the action is not refused for it (Jira checks at execution), and the next
    actions do not each wait for the dead site until SITE_RETRY_SECONDS have passed."""
    from tests.helpers.servers import free_port

    clock = [0.0]
    config = JiraConfig(
        base_url=f"http://127.0.0.1:{free_port()}",
        flavour="datacenter",
        personal_access_token=PAT,
        max_retries=0,
    )

    async def main() -> None:
        async with JiraAdapter(config, clock=lambda: clock[0]) as adapter:
            assert await adapter.check_site("jira_create_ticket", _ticket(priority="P1")) is None
            tried = adapter.client.stats.calls
            assert tried >= 1
            assert await adapter.check_site("jira_create_ticket", _ticket(priority="P1")) is None
            assert adapter.client.stats.calls == tried  # not tried again yet
            clock[0] += 31
            await adapter.check_site("jira_create_ticket", _ticket(priority="P1"))
            assert adapter.client.stats.calls > tried

    asyncio.run(main())


def test_the_rank_field_comes_from_the_cached_site_metadata(cloud: Site) -> None:
    """`PUT /issue/rank` asks for the site's default Rank field on every rank: it is read
    from the site's metadata (schema.custom and customId of `GET /field`), fetched once."""

    async def main() -> None:
        async with _adapter(cloud, [0.0], metadata_ttl=600) as adapter:
            first = await adapter.rank_field()
            calls = adapter.client.stats.calls
            assert await adapter.rank_field() == first
            assert adapter.client.stats.calls == calls  # no GET /field again
            assert adapter.site.fetches == 1
            rank = [f for f in (await adapter.site.get()).fields if f.name == "Rank"]
            assert first is not None and [f.custom_id for f in rank] == [first]

    asyncio.run(main())


def test_a_snapshot_keeps_custom_types_and_ids_and_refuses_bad_ones() -> None:
    rank = FieldInfo("customfield_10019", "Rank", True, "any", "gh-lexo-rank", 10019)
    site = SiteMetadata(fields=(rank,))
    assert SiteMetadata.from_dict(site.as_dict()).fields == (rank,)
    bad = site.as_dict()
    bad["fields"][0]["customId"] = "10019"
    with pytest.raises(ValueError, match=r"fields\[0\]\.customId must be an integer"):
        SiteMetadata.from_dict(bad)

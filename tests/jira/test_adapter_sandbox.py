"""JiraAdapter against the Jira sandbox over real HTTP (uvicorn on loopback), both flavours.

Every request the adapter sends in these tests is captured with the client's `on_request`
hook and checked against Atlassian's OpenAPI spec (`jiragate.jira.spec.validate_request`):
each scenario ends by asserting zero contract problems.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from jiragate.errors import JiraTransportError, JiraUnsupportedError
from jiragate.jira import spec
from jiragate.jira.adf import adf_to_text
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.results import ExecutionResult
from jiragate.jira.sandbox.faults import parse_fault
from jiragate.jira.sandbox.state import SandboxState
from tests.jira.conftest import API_TOKEN, EMAIL, PAT, Site

BOB_ACCOUNT = "5b10a2844c20165700ede21b"
FLAVOURS = ("cloud", "datacenter")


@dataclass
class Run:
    """One scenario's adapter plus what it recorded: requests sent and waits asked for."""

    flavour: str
    adapter: JiraAdapter
    requests: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    async def execute(
        self, action: str, details: dict[str, Any], *, action_id: str = "act1", summary: str = "s"
    ) -> ExecutionResult:
        result = await self.adapter.execute(action, details, action_id=action_id, summary=summary)
        json.dumps(result.as_dict())  # the audit trail stores it as JSON
        return result

    def sent(self, method: str, suffix: str) -> list[tuple[str, str, Any, Any]]:
        return [r for r in self.requests if r[0] == method and r[1].endswith(suffix)]


def scenario(
    site: Site,
    flavour: str,
    body: Callable[[Run], Awaitable[None]],
    *,
    unspecified: tuple[str, ...] = (),
    **overrides: Any,
) -> Run:
    """Run `body` with a fresh adapter; then assert every request it sent matches the spec,
    but for paths under `unspecified`: site APIs Atlassian publishes no spec for (dev-status)."""
    credentials: dict[str, Any] = (
        {"email": EMAIL, "api_token": API_TOKEN}
        if flavour == "cloud"
        else {"personal_access_token": PAT, "epic_link_field": "customfield_10014"}
    )
    settings: dict[str, Any] = {"board_id": 1, "max_retries": 4, **credentials, **overrides}
    config = JiraConfig(base_url=site.url, flavour=flavour, **settings)  # type: ignore[arg-type]
    run: Run

    async def record_wait(seconds: float) -> None:
        run.waits.append(seconds)

    async def main() -> None:
        adapter = JiraAdapter(
            config,
            sleep=record_wait,
            on_request=lambda *call: run.requests.append(call),
        )
        run.adapter = adapter
        try:
            await body(run)
        finally:
            await adapter.aclose()

    run = Run(flavour=flavour, adapter=None)  # type: ignore[arg-type]
    asyncio.run(main())
    problems = [
        f"{method} {path}: {problem}"
        for method, path, query, sent_body in run.requests
        if not path.startswith(unspecified)
        for problem in spec.validate_request(method, path, query=query, body=sent_body)
    ]
    assert problems == []
    assert run.requests, "the scenario sent nothing"
    return run


def arm(state: SandboxState, **description: Any) -> None:
    state.add_fault(parse_fault(description))


def marked(state: SandboxState, action_id: str) -> list[Any]:
    marker = f"jiragate-{action_id}"
    return [issue for issue in state.issues.values() if marker in issue.labels]


def ticket_index(issue: Any, action_id: str) -> int:
    prefix = f"jiragate-{action_id}."
    (label,) = [label for label in issue.labels if label.startswith(prefix)]
    return int(label.removeprefix(prefix))


parametrize_flavour = pytest.mark.parametrize("flavour", FLAVOURS)


# --------------------------------------------------------------------------- reads


@parametrize_flavour
def test_reads_issue_search_transitions_and_sprints(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        issue = await run.execute("jira_get_issue", {"issueKey": "ENG-2"})
        assert issue.outcome == "succeeded"
        fields = issue.data["issue"]["fields"]
        assert issue.data["issue"]["key"] == "ENG-2"
        assert fields["summary"] == "Payment form loses card on back"
        assert fields["description"].strip() == "Payment form loses card on back."
        assert fields["status"]["name"] == "To Do"

        first = await run.execute(
            "jira_search",
            {"jql": "labels = checkout ORDER BY key", "projectKey": "ENG", "maxResults": 2},
        )
        assert first.data["jql"] == 'project = "ENG" AND (labels = "checkout") ORDER BY key'
        assert [i["key"] for i in first.data["issues"]] == ["ENG-2", "ENG-3"]
        assert first.data["isLast"] is False
        rest = await run.execute(
            "jira_search",
            {
                "jql": "labels = checkout ORDER BY key",
                "projectKey": "ENG",
                "maxResults": 10,
                "nextPageToken": first.data["nextPageToken"],
            },
        )
        assert [i["key"] for i in rest.data["issues"]] == ["ENG-10"]
        assert rest.data["isLast"] is True

        transitions = await run.execute("jira_get_transitions", {"issueKey": "ENG-2"})
        assert [t["to"]["name"] for t in transitions.data["transitions"]] == ["In Progress"]

        sprints = await run.execute("jira_list_sprints", {"boardId": 1})
        assert [s["name"] for s in sprints.data["sprints"]] == [
            "sprint_41",
            "sprint_42",
            "sprint_43",
        ]
        active = await run.execute("jira_list_sprints", {"boardId": 1, "state": "active"})
        assert [s["id"] for s in active.data["sprints"]] == [102]

    run = scenario(jira, flavour, body)
    search_path = "/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    assert run.sent("GET", search_path)


@parametrize_flavour
def test_get_issues_for_previews_marks_missing_keys(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        found = await run.adapter.get_issues(["ENG-3", "ENG-999"], ["summary", "status"])
        assert found["ENG-3"]["fields"]["summary"] == "Add Apple Pay"
        assert found["ENG-999"] is None

    scenario(jira, flavour, body)


# --------------------------------------------------------------------------- creating


@parametrize_flavour
def test_create_ticket_with_every_field_then_sprint_by_name(jira: Site, flavour: str) -> None:
    assignee = BOB_ACCOUNT if flavour == "cloud" else "bob"
    details = {
        "projectKey": "ENG",
        "issueType": "Bug",
        "summary": "Null pointer in checkout",
        "description": "Steps:\n1. open cart\n\nExpected: no crash",
        "priority": "High",
        "labels": ["from-logs"],
        "assignee": assignee,
        "storyPoints": 3,
        "sprintId": "sprint_43",
    }

    async def body(run: Run) -> None:
        result = await run.execute("jira_create_ticket", details, action_id="one1")
        assert result.outcome == "succeeded", result.as_dict()
        assert len(result.created) == 1 and result.created[0]["index"] == 0

    run = scenario(jira, flavour, body)
    (issue,) = marked(jira.state, "one1")
    assert issue.summary == "Null pointer in checkout"
    assert issue.priority == "High"
    assert set(issue.labels) == {"from-logs", "jiragate-one1", "jiragate-one1.0"}
    assert issue.assignee == BOB_ACCOUNT
    assert issue.story_points == 3
    assert issue.sprint_id == 103
    assert "open cart" in adf_to_text(issue.description)
    assert "Expected: no crash" in adf_to_text(issue.description)
    assert len(run.sent("GET", "/field")) == 1  # story points discovered by name


@parametrize_flavour
def test_create_tickets_from_a_count_and_from_a_list(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        counted = await run.execute(
            "jira_create_tickets",
            {"projectKey": "OPS", "issueCount": 3, "issueType": "Task", "priority": "Low"},
            action_id="count1",
            summary="Rotate keys",
        )
        assert counted.outcome == "succeeded"
        assert [c["index"] for c in counted.created] == [0, 1, 2]
        listed = await run.execute(
            "jira_create_tickets",
            {
                "projectKey": "ENG",
                "issueCount": 2,
                "issueType": "Bug",
                "priority": "Medium",
                "labels": ["shared"],
                "sprintId": 102,
                "tickets": [
                    {"summary": "first"},
                    {"summary": "second", "priority": "Highest", "labels": ["own"]},
                ],
            },
            action_id="list1",
        )
        assert listed.outcome == "succeeded"

    scenario(jira, flavour, body)
    counted = sorted(marked(jira.state, "count1"), key=lambda i: i.id)
    assert [i.summary for i in counted] == [
        "Rotate keys (1/3)",
        "Rotate keys (2/3)",
        "Rotate keys (3/3)",
    ]
    first, second = sorted(marked(jira.state, "list1"), key=lambda i: i.id)
    assert (first.priority, second.priority) == ("Medium", "Highest")
    assert "shared" in first.labels and "own" in second.labels and "shared" not in second.labels
    assert first.sprint_id == second.sprint_id == 102


@parametrize_flavour
def test_120_tickets_take_3_bulk_calls_and_map_every_index(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_create_tickets",
            {"projectKey": "ENG", "issueCount": 120, "issueType": "Task", "priority": "Low"},
            action_id="bulk120",
            summary="Log finding",
        )
        assert result.outcome == "succeeded"
        assert [c["index"] for c in result.created] == list(range(120))
        assert result.calls == 4  # the marker search + 3 bulk calls

    run = scenario(jira, flavour, body)
    bulk = run.sent("POST", "/issue/bulk")
    assert [len(call[3]["issueUpdates"]) for call in bulk] == [50, 50, 20]
    issues = marked(jira.state, "bulk120")
    assert len(issues) == 120
    by_index = {ticket_index(issue, "bulk120"): issue for issue in issues}
    assert sorted(by_index) == list(range(120))
    assert by_index[119].summary == "Log finding (120/120)"


@parametrize_flavour
def test_partial_bulk_failure_reports_the_global_index(jira: Site, flavour: str) -> None:
    bulk_calls = 0

    def fail_in_second_chunk(method: str, path: str, query: Any, body: Any) -> None:
        nonlocal bulk_calls
        if method == "POST" and path.endswith("/issue/bulk"):
            bulk_calls += 1
            if bulk_calls == 2:  # arm just before the second chunk reaches the sandbox
                arm(
                    jira.state, match={"path": path}, fault={"kind": "partial_bulk", "indexes": [7]}
                )

    async def body(run: Run) -> None:
        recording = run.adapter.client.on_request

        def both(*call: Any) -> None:
            assert recording is not None
            recording(*call)
            fail_in_second_chunk(*call)

        run.adapter.client.on_request = both
        result = await run.execute(
            "jira_create_tickets",
            {"projectKey": "ENG", "issueCount": 60, "issueType": "Bug", "priority": "High"},
            action_id="part1",
        )
        assert result.outcome == "partial"
        (failure,) = result.failures
        assert failure.index == 57  # element 7 of the second chunk of 50
        assert failure.status == 400
        assert [c["index"] for c in result.created] == [i for i in range(60) if i != 57]

    scenario(jira, flavour, body)
    assert len(marked(jira.state, "part1")) == 59


# --------------------------------------------------------------------------- faults


@parametrize_flavour
def test_a_429_storm_is_waited_out_as_told(jira: Site, flavour: str) -> None:
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue/bulk"},
        times=3,
        fault={"kind": "status", "status": 429, "retry_after": "2"},
    )

    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_create_tickets",
            {"projectKey": "ENG", "issueCount": 5, "issueType": "Task", "priority": "Low"},
            action_id="storm1",
        )
        assert result.outcome == "succeeded"
        assert run.waits == [2.0, 2.0, 2.0]
        assert run.adapter.client.stats.retries == 3

    run = scenario(jira, flavour, body)
    assert len(run.sent("POST", "/issue/bulk")) == 4
    assert len(marked(jira.state, "storm1")) == 5


@parametrize_flavour
def test_500_and_503_are_retried_without_duplicates(jira: Site, flavour: str) -> None:
    arm(
        jira.state,
        match={"method": "GET", "path": "/rest/api/*/issue/ENG-4/transitions"},
        fault={"kind": "status", "status": 503, "retry_after": "5"},
    )
    arm(
        jira.state,
        match={"method": "PUT", "path": "/rest/api/*/issue/ENG-9"},
        times=2,
        fault={"kind": "status", "status": 500},
    )
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue"},
        fault={"kind": "status", "status": 500},
    )

    async def body(run: Run) -> None:
        moved = await run.execute(
            "jira_transition_issues", {"issueKeys": ["ENG-4"], "targetStatus": "Done"}
        )
        assert moved.outcome == "succeeded"
        assert run.waits[0] == 5.0
        edited = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-9"], "fields": {"summary": "Dark mode"}}
        )
        assert edited.updated == ["ENG-9"]
        created = await run.execute(
            "jira_create_ticket",
            {"projectKey": "ENG", "issueType": "Task", "summary": "after a 500"},
            action_id="five1",
        )
        assert created.outcome == "succeeded"

    scenario(jira, flavour, body, story_points_field="customfield_10016")
    assert jira.state.issues["ENG-4"].status == "Done"
    assert jira.state.issues["ENG-9"].summary == "Dark mode"
    assert len(marked(jira.state, "five1")) == 1


@parametrize_flavour
def test_dropped_connection_after_bulk_create_makes_no_duplicates(jira: Site, flavour: str) -> None:
    bulk_calls = 0

    def drop_second_chunk(method: str, path: str, query: Any, body: Any) -> None:
        nonlocal bulk_calls
        if method == "POST" and path.endswith("/issue/bulk"):
            bulk_calls += 1
            if bulk_calls == 2:
                arm(jira.state, match={"path": path}, fault={"kind": "drop", "when": "after"})

    async def body(run: Run) -> None:
        recording = run.adapter.client.on_request

        def both(*call: Any) -> None:
            assert recording is not None
            recording(*call)
            drop_second_chunk(*call)

        run.adapter.client.on_request = both
        details = {"projectKey": "ENG", "issueCount": 75, "issueType": "Bug", "priority": "Low"}
        result = await run.execute("jira_create_tickets", details, action_id="drop1")
        assert result.outcome == "succeeded", result.as_dict()
        assert [c["index"] for c in result.created] == list(range(75))
        assert run.adapter.client.stats.recoveries == 1
        # A crashed worker running the same action again creates nothing new.
        again = await run.execute("jira_create_tickets", details, action_id="drop1")
        assert again.created == result.created
        assert again.data == {"recovered": list(range(75))}
        assert not run.sent("POST", "/issue/bulk")[3:]

    run = scenario(jira, flavour, body)
    assert len(run.sent("POST", "/issue/bulk")) == 2  # the dropped chunk was not resent
    issues = marked(jira.state, "drop1")
    assert len(issues) == 75
    assert sorted(ticket_index(issue, "drop1") for issue in issues) == list(range(75))


@parametrize_flavour
def test_a_dropped_connection_is_never_resent_at_once_and_the_retry_creates_once(
    jira: Site, flavour: str
) -> None:
    # Whether Jira acted on a request whose connection dropped is unknown, and a search for
    # its markers right away proves nothing (Jira may still be working on it). The adapter
    # reports the outcome as unknown; the gateway runs the action again later, which looks
    # for the markers first and creates only what is missing.
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue"},
        fault={"kind": "drop", "when": "before"},
    )
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue"},
        fault={"kind": "drop", "when": "after"},
    )

    async def body(run: Run) -> None:
        details = {"projectKey": "ENG", "issueType": "Story", "summary": "lost twice"}
        with pytest.raises(JiraTransportError) as caught:
            await run.execute("jira_create_ticket", details, action_id="single1")
        assert caught.value.outcome_unknown
        assert "not sent again" in str(caught.value)
        result = await run.execute("jira_create_ticket", details, action_id="single1")
        assert result.outcome == "succeeded"
        (created,) = result.created
        assert jira.state.issues[created["key"]].summary == "lost twice"

    run = scenario(jira, flavour, body)
    assert len(run.sent("POST", "/issue")) == 2  # once per attempt; the second was recovered
    assert len(marked(jira.state, "single1")) == 1


@parametrize_flavour
def test_unreachable_jira_during_recovery_raises_with_what_was_done(
    jira: Site, flavour: str
) -> None:
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue"},
        fault={"kind": "drop", "when": "after"},
    )
    search = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"

    async def body(run: Run) -> None:
        # The first marker search passes; every later one fails: the outcome is unknown.
        async def fail_searches() -> None:
            arm(jira.state, match={"path": search}, times=None, fault={"kind": "drop"})

        original = run.adapter.find_created
        calls = 0

        async def find_then_break(action_id: str) -> dict[int, str]:
            nonlocal calls
            calls += 1
            if calls == 2:
                await fail_searches()
            return await original(action_id)

        run.adapter.find_created = find_then_break  # type: ignore[method-assign]
        details = {"projectKey": "ENG", "issueType": "Task", "summary": "unknown"}
        with pytest.raises(JiraTransportError) as caught:
            await run.execute("jira_create_ticket", details, action_id="unk1")
        assert caught.value.result.created == []  # type: ignore[attr-defined]
        jira.state.clear_faults()
        again = await run.execute("jira_create_ticket", details, action_id="unk1")
        assert again.data == {"recovered": [0]}

    scenario(jira, flavour, body, max_retries=1)
    assert len(marked(jira.state, "unk1")) == 1


@parametrize_flavour
def test_lost_delete_answer_counts_as_deleted_and_lost_comment_is_found_by_its_marker(
    jira: Site, flavour: str
) -> None:
    arm(
        jira.state,
        match={"method": "DELETE", "path": "/rest/api/*/issue/ENG-6"},
        fault={"kind": "drop", "when": "after"},
    )
    arm(
        jira.state,
        match={"method": "POST", "path": "/rest/api/*/issue/ENG-9/comment"},
        fault={"kind": "drop", "when": "after"},
    )

    async def body(run: Run) -> None:
        deleted = await run.execute("jira_delete_issues", {"issueKeys": ["ENG-6"]})
        assert deleted.outcome == "succeeded" and deleted.updated == ["ENG-6"]
        # The comment carries the gateway's marker property: the lost answer is recovered
        # by finding it, never by posting it again.
        commented = await run.execute("jira_add_comment", {"issueKey": "ENG-9", "body": "once"})
        assert commented.outcome == "succeeded" and commented.updated == ["ENG-9"]
        only = jira.state.issues["ENG-9"].comments[0]
        assert commented.data == {"commentId": str(only.id)}

    run = scenario(jira, flavour, body)
    assert "ENG-6" not in jira.state.issues
    assert len(run.sent("POST", "/issue/ENG-9/comment")) == 1
    assert len(jira.state.issues["ENG-9"].comments) == 1


# --------------------------------------------------------------------------- updating


@parametrize_flavour
def test_transitions_by_status_name_with_per_issue_failures(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_transition_issues",
            {
                "issueKeys": ["ENG-2", "ENG-4", "ENG-7"],
                "targetStatus": "Done",  # exactly: "done" is another status name
                "comment": "Closed by the nightly sweep.",
            },
        )
        assert result.outcome == "partial"
        assert result.updated == ["ENG-4"]
        assert result.data == {"alreadyInStatus": ["ENG-7"]}
        (failure,) = result.failures
        assert failure.key == "ENG-2"
        assert "no transition to 'Done'" in failure.reason
        assert "In Progress" in failure.reason  # what *is* available

    run = scenario(jira, flavour, body)
    assert jira.state.issues["ENG-4"].status == "Done"
    assert jira.state.issues["ENG-2"].status == "To Do"
    assert not run.sent("POST", "/issue/ENG-7/transitions")  # already there: no call
    (sent,) = run.sent("POST", "/issue/ENG-4/transitions")
    assert sent[3]["transition"] == {"id": "31"}


@parametrize_flavour
def test_sprint_by_name_story_points_fields_assign_comment(jira: Site, flavour: str) -> None:
    bob = BOB_ACCOUNT if flavour == "cloud" else "bob"

    async def body(run: Run) -> None:
        moved = await run.execute(
            "jira_move_to_sprint", {"sprintId": "sprint_43", "issueKeys": ["ENG-6", "ENG-10"]}
        )
        assert moved.outcome == "succeeded" and moved.data == {"sprintId": 103}
        points = await run.execute(
            "jira_update_story_points",
            {
                "updates": [
                    {"issueKey": "ENG-6", "storyPoints": 8},
                    {"issueKey": "ENG-10", "storyPoints": 1.5},
                ]
            },
        )
        assert points.updated == ["ENG-6", "ENG-10"]
        assert points.data == {
            "field": "customfield_10016",
            "storyPointsField": {
                "id": "customfield_10016",
                "name": "Story Points",
                "how": "detected",
            },
        }
        again = await run.execute(
            "jira_update_story_points", {"updates": [{"issueKey": "ENG-9", "storyPoints": 2}]}
        )
        assert again.outcome == "succeeded"
        fields = await run.execute(
            "jira_update_fields",
            {
                "issueKeys": ["ENG-6", "ENG-10"],
                "fields": {"priority": "Highest", "description": "Flaky since\n\nMonday"},
                "addLabels": ["triaged"],
                "removeLabels": ["ci"],
            },
        )
        assert fields.updated == ["ENG-6", "ENG-10"]
        assigned = await run.execute(
            "jira_assign_issues", {"issueKeys": ["ENG-6", "ENG-9"], "assignee": bob}
        )
        assert assigned.updated == ["ENG-6", "ENG-9"]
        unassigned = await run.execute(
            "jira_assign_issues", {"issueKeys": ["ENG-10"], "assignee": None}
        )
        assert unassigned.outcome == "succeeded"
        default = await run.execute(
            "jira_assign_issues", {"issueKeys": ["ENG-2"], "assignee": "-1"}
        )
        assert default.outcome == "succeeded"
        comment = await run.execute(
            "jira_add_comment", {"issueKey": "ENG-6", "body": "Seen again\n\nin build 42"}
        )
        assert comment.updated == ["ENG-6"]

    run = scenario(jira, flavour, body)
    issues = jira.state.issues
    assert issues["ENG-6"].sprint_id == issues["ENG-10"].sprint_id == 103
    assert (issues["ENG-6"].story_points, issues["ENG-10"].story_points) == (8, 1.5)
    assert issues["ENG-9"].story_points == 2
    assert len(run.sent("GET", "/field")) == 1  # discovered once, then cached
    assert issues["ENG-6"].priority == "Highest"
    assert "triaged" in issues["ENG-6"].labels
    assert "ci" not in issues["ENG-6"].labels and "flaky" in issues["ENG-6"].labels
    assert "Monday" in adf_to_text(issues["ENG-10"].description)
    assert issues["ENG-6"].assignee == issues["ENG-9"].assignee == BOB_ACCOUNT
    assert issues["ENG-10"].assignee is None
    assert issues["ENG-2"].assignee == jira.state.projects["ENG"].lead
    assert "in build 42" in adf_to_text(issues["ENG-6"].comments[-1].body)


@parametrize_flavour
def test_unknown_sprint_name_fails_with_the_known_names(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute(
            "jira_move_to_sprint", {"sprintId": "sprint_99", "issueKeys": ["ENG-6"]}
        )
        assert result.outcome == "failed"
        assert "no sprint named 'sprint_99' on board 1" in result.failures[0].reason
        assert "sprint_42" in result.failures[0].reason

    scenario(jira, flavour, body)
    assert jira.state.issues["ENG-6"].sprint_id == 102


# --------------------------------------------------------------------------- epics, releases


@parametrize_flavour
def test_epics_adopt_children(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        created = await run.execute(
            "jira_create_epic",
            {
                "projectKey": "ENG",
                "summary": "Observability",
                "description": "Dashboards and alerts",
                "priority": "Medium",
                "childIssueKeys": ["ENG-6", "ENG-10"],
            },
            action_id="epic1",
        )
        assert created.outcome == "succeeded", created.as_dict()
        epic = created.created[0]["key"]
        assert created.updated == ["ENG-6", "ENG-10"]
        updated = await run.execute(
            "jira_update_epic",
            {"epicKey": epic, "summary": "Observability v2", "addChildIssueKeys": ["ENG-9"]},
        )
        assert updated.updated == [epic, "ENG-9"]

    scenario(jira, flavour, body)
    (epic,) = marked(jira.state, "epic1")
    assert epic.issue_type == "Epic" and epic.summary == "Observability v2"
    issues = jira.state.issues
    assert issues["ENG-6"].parent_key == issues["ENG-10"].parent_key == epic.key
    assert issues["ENG-9"].parent_key == epic.key


@parametrize_flavour
def test_releases_create_update_and_release(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        created = await run.execute(
            "jira_create_release",
            {"projectKey": "ENG", "name": "2.0", "startDate": "2024-05-01"},
        )
        assert created.outcome == "succeeded"
        version_id = created.data["version"]["id"]
        updated = await run.execute(
            "jira_update_release",
            {"projectKey": "ENG", "versionId": version_id, "description": "Checkout v2"},
        )
        assert updated.data["version"]["description"] == "Checkout v2"
        released = await run.execute(
            "jira_release_version",
            {"projectKey": "ENG", "versionId": version_id, "releaseDate": "2024-06-01"},
        )
        assert released.data["version"]["released"] is True

    scenario(jira, flavour, body)
    (version,) = [v for v in jira.state.versions.values() if v.name == "2.0"]
    assert version.project_id == 10000
    assert (version.released, version.release_date) == (True, "2024-06-01")
    assert version.description == "Checkout v2"


# --------------------------------------------------------------------------- destructive


@parametrize_flavour
def test_delete_respects_the_subtasks_flag(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        refused = await run.execute("jira_delete_issues", {"issueKeys": ["ENG-6", "ENG-5"]})
        assert refused.outcome == "partial"
        assert refused.updated == ["ENG-6"]
        assert refused.failures[0].key == "ENG-5" and refused.failures[0].status == 400
        deleted = await run.execute(
            "jira_delete_issues", {"issueKeys": ["ENG-5"], "deleteSubtasks": True}
        )
        assert deleted.outcome == "succeeded"

    scenario(jira, flavour, body)
    assert not {"ENG-5", "ENG-6", "ENG-11", "ENG-12"} & set(jira.state.issues)


def test_archive_on_cloud_reports_issues_jira_refused(jira: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_archive_issues", {"issueKeys": ["ENG-9", "ENG-11"]})
        assert "ENG-9" in result.updated
        for failure in result.failures:  # a subtask cannot be archived on its own
            assert failure.key == "ENG-11" and failure.errors

    scenario(jira, "cloud", body)
    assert jira.state.issues["ENG-9"].archived is True


def test_archive_on_data_center_is_refused_before_any_call(jira: Site) -> None:
    async def body(run: Run) -> None:
        with pytest.raises(JiraUnsupportedError):
            await run.execute("jira_archive_issues", {"issueKeys": ["ENG-9"]})
        await run.execute("jira_get_issue", {"issueKey": "ENG-9"})

    run = scenario(jira, "datacenter", body)
    assert not run.sent("PUT", "/issue/archive")
    assert jira.state.issues["ENG-9"].archived is False


@parametrize_flavour
def test_wrong_credentials_fail_cleanly_without_leaking_them(jira: Site, flavour: str) -> None:
    wrong = "wrong-SECRET-value"
    credentials: dict[str, Any] = (
        {"email": EMAIL, "api_token": wrong}
        if flavour == "cloud"
        else {"personal_access_token": wrong}
    )
    config = JiraConfig(base_url=jira.url, flavour=flavour, **credentials)  # type: ignore[arg-type]

    async def main() -> ExecutionResult:
        async with JiraAdapter(config) as adapter:
            return await adapter.execute(
                "jira_get_issue", {"issueKey": "ENG-1"}, action_id="auth1", summary="s"
            )

    result = asyncio.run(main())
    assert result.outcome == "failed"
    assert result.failures[0].status == 401
    assert wrong not in json.dumps(result.as_dict())


@parametrize_flavour
def test_users_are_looked_up_for_previews(jira: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        who = "dave" if flavour == "datacenter" else "5b10a2844c20165700ede21d"
        dave = await run.adapter.get_user(who)
        assert dave is not None and dave["displayName"] == "Dave Diaz"
        assert await run.adapter.get_user("no-such-user") is None

    scenario(jira, flavour, body)

"""What an approval is bound to, read through the adapter from the sandbox in both profiles
(Cloud, Data Center), every request checked against Atlassian's OpenAPI spec; and the
attribution of executed writes (a comment, or the `jiragate.attribution` issue property)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.gateway.binding import changes, read_snapshot, snapshot_hash, targets
from jiragate.jira.adf import adf_to_text
from jiragate.jira.sandbox.state import SPRINT_FIELD
from tests.jira.conftest import Site
from tests.jira.test_adapter_sandbox import FLAVOURS, Run, scenario

DETAILS = {"issueKeys": ["ENG-2", "ENG-404"], "sprintId": 102, "versionId": "10101"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_snapshot_names_status_assignee_sprint_and_states(jira: Site, flavour: str):
    snaps: list[dict[str, Any]] = []

    async def body(run: Run) -> None:
        snaps.append(await read_snapshot(run.adapter, DETAILS, sprint_field=SPRINT_FIELD))
        with jira.state.lock:  # someone else, in Jira: ENG-2 leaves the sprint, 102 closes
            jira.state.issues["ENG-2"].sprint_id = None
            jira.state.issues["ENG-2"].status = "In Progress"
            jira.state.sprints[102].state = "closed"
            jira.state.versions[10101].released = True
        snaps.append(await read_snapshot(run.adapter, DETAILS, sprint_field=SPRINT_FIELD))

    scenario(jira, flavour, body)
    before, after = snaps
    issue = before["issues"]["ENG-2"]
    # The adapter trims objects to their names: the sprint is known by its name.
    assert issue["status"] == "To Do" and issue["sprint"] == ["sprint_42"]
    assert issue["assignee"] and issue["updated"]
    assert after["issues"]["ENG-2"]["sprint"] == []
    assert before["issues"]["ENG-404"] is None  # no such issue: recorded as missing
    assert before["sprints"] == {"102": "active"}
    assert before["versions"] == {"10101": {"released": False, "archived": False}}
    found = {(c["target"], c["field"]) for c in changes(before, after)}
    assert found == {
        ("ENG-2", "status"),
        ("ENG-2", "sprint"),
        ("sprint 102", "state"),
        ("version 10101", "state"),
    }
    assert before["hash"] != after["hash"] and before["hash"] == snapshot_hash(before)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("mode", ["comment", "property"])
def test_attribution_names_agent_approvers_and_action(jira: Site, flavour: str, mode: str):
    facts = {"agent": "log-triage-bot", "approvers": ["lead-alice"], "action_id": "act_x1"}
    missed: list[list[str]] = []

    async def body(run: Run) -> None:
        missed.append(await run.adapter.attribute(["ENG-2", "ENG-404"], mode=mode, facts=facts))

    scenario(jira, flavour, body)
    assert missed == [["ENG-404"]]  # a deleted issue is reported, never an exception
    issue = jira.state.issues["ENG-2"]
    if mode == "property":
        assert issue.properties["jiragate.attribution"] == facts
    else:
        text = adf_to_text(issue.comments[-1].body)
        assert "log-triage-bot" in text and "lead-alice" in text and "act_x1" in text


SNAPSHOTS = st.fixed_dictionaries(
    {
        "issues": st.dictionaries(
            st.sampled_from(["ENG-1", "ENG-2"]),
            st.none()
            | st.fixed_dictionaries(
                {
                    "status": st.sampled_from(["To Do", "Done"]),
                    "assignee": st.none() | st.sampled_from(["a", "b"]),
                    "sprint": st.lists(st.sampled_from(["1", "2"]), max_size=1),
                    "updated": st.sampled_from(["t1", "t2"]),
                }
            ),
        ),
        "sprints": st.dictionaries(st.sampled_from(["1"]), st.sampled_from(["active", "closed"])),
    }
)


@settings(max_examples=200, deadline=None)
@given(SNAPSHOTS, SNAPSHOTS)
def test_a_change_is_found_exactly_when_a_fact_that_matters_differs(a, b):
    b = {**b, "issues": {k: b["issues"].get(k, v) for k, v in a["issues"].items()}}
    drop = {"updated"}

    def facts(snapshot: dict[str, Any]) -> Any:
        issues = {
            k: None if v is None else {f: x for f, x in v.items() if f not in drop}
            for k, v in snapshot["issues"].items()
        }
        # Only targets still in the action count (an edit may drop some).
        both = a["sprints"].keys() & b["sprints"].keys()
        return issues, {k: snapshot["sprints"][k] for k in both}

    assert bool(changes(a, b)) == (facts(a) != facts(b))
    assert changes(a, a) == []


def test_targets_cover_every_way_an_action_names_what_it_touches():
    keys, sprints, versions = targets(
        {
            "issueKey": "ENG-1",
            "issueKeys": ["ENG-2", "ENG-1"],
            "epicKey": "ENG-3",
            "addChildIssueKeys": ["ENG-4"],
            "updates": [{"issueKey": "ENG-5", "storyPoints": 3}],
            "sprintId": 7,
            "versionId": "10100",
        }
    )
    assert keys == ["ENG-1", "ENG-3", "ENG-2", "ENG-4", "ENG-5"]
    assert sprints == [7] and versions == ["10100"]

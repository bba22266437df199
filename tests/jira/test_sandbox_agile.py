"""The sandbox's sprint lifecycle, backlog, rank, version and component endpoints are as
strict as Jira: each refusal an adapter could meet, over real HTTP, every answer checked
against Atlassian's spec (`jira_http`)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.jira.sandbox.state import Version

AGILE = "/rest/agile/1.0"
START, END = "2026-03-02T09:00:00.000Z", "2026-03-13T17:00:00.000Z"


def _messages(response: httpx.Response) -> str:
    body = response.json()
    return " ".join([*body.get("errorMessages", []), *body.get("errors", {}).values()])


def test_the_sprint_state_machine(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState]
) -> None:
    _, state = sandbox
    created = jira_http.post(f"{AGILE}/sprint", json={"name": " s44 ", "originBoardId": 1})
    assert created.status_code == 201 and created.json()["name"] == "s44"
    new = created.json()["id"]
    path = f"{AGILE}/sprint/{new}"
    refusals = [
        ({"state": "active"}, "needs a start date and an end date"),
        ({"state": "active", "startDate": START, "endDate": END}, "sprint_42 is already active"),
        ({"state": "closed"}, "only an active sprint"),
        ({"startDate": END, "endDate": START}, "end date must be after"),
        ({"startDate": "next monday"}, "not a date-time"),
        ({"state": "paused"}, "Unknown sprint state"),
    ]
    for body, message in refusals:
        answer = jira_http.post(path, json=body)
        assert answer.status_code == 400 and message in _messages(answer), (body, answer.text)
    assert jira_http.delete(f"{AGILE}/sprint/102").status_code == 403  # active
    state.parallel_sprints = True
    started = jira_http.post(path, json={"state": "active", "startDate": START, "endDate": END})
    assert started.json()["state"] == "active", started.text
    closed = jira_http.post(f"{AGILE}/sprint/102", json={"state": "closed"})
    assert closed.json()["state"] == "closed" and closed.json()["completeDate"]
    with state.lock:  # incomplete issues went to the backlog, the done one stayed
        assert {i.key for i in state.issues.values() if i.sprint_id == 102} == {"ENG-11"}
    again = jira_http.post(f"{AGILE}/sprint/102", json={"goal": "rewrite history"})
    assert again.status_code == 400 and "closed and cannot be updated" in _messages(again)
    assert jira_http.delete(f"{AGILE}/sprint/102").status_code == 204  # closed: deletable
    assert jira_http.get(f"{AGILE}/sprint/102").status_code == 404
    bad_board = jira_http.post(f"{AGILE}/sprint", json={"name": "x", "originBoardId": 99})
    assert bad_board.status_code == 400 and "Board 99" in _messages(bad_board)


def test_backlog_and_rank_take_at_most_50_and_name_what_is_wrong(jira_http: httpx.Client) -> None:
    many = [f"ENG-{n}" for n in range(1, 52)]
    assert jira_http.post(f"{AGILE}/backlog/issue", json={"issues": many}).status_code == 400
    too_many = jira_http.put(
        f"{AGILE}/issue/rank", json={"issues": many, "rankAfterIssue": "OPS-1"}
    )
    assert too_many.status_code == 400 and "At most 50" in _messages(too_many)
    both = jira_http.put(
        f"{AGILE}/issue/rank",
        json={"issues": ["ENG-2"], "rankBeforeIssue": "ENG-3", "rankAfterIssue": "ENG-4"},
    )
    assert both.status_code == 400 and "exactly one" in _messages(both)
    itself = jira_http.put(
        f"{AGILE}/issue/rank", json={"issues": ["ENG-2"], "rankAfterIssue": "ENG-2"}
    )
    assert itself.status_code == 400
    missing = jira_http.post(f"{AGILE}/backlog/issue", json={"issues": ["ENG-999"]})
    assert missing.status_code == 400 and "ENG-999" in _messages(missing)


def test_versions_move_issues_only_within_their_project(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState]
) -> None:
    _, state = sandbox
    with state.lock:
        state.versions[10300] = Version(10300, 10001, "ops-1.0")
    across = jira_http.delete("/rest/api/3/version/10100", params={"moveFixIssuesTo": "10300"})
    assert across.status_code == 400 and "same project" in _messages(across)
    into_itself = jira_http.put("/rest/api/3/version/10100/mergeto/10100")
    assert into_itself.status_code == 400
    assert jira_http.put("/rest/api/3/version/10100/mergeto/10300").status_code == 400
    assert jira_http.put("/rest/api/3/version/10100/mergeto/10101").status_code == 204
    assert jira_http.delete("/rest/api/3/version/10100").status_code == 404  # merged away
    with state.lock:
        assert state.issues["ENG-7"].fix_versions == [10101]


def test_components_are_unique_per_project_and_stay_in_it(jira_http: httpx.Client) -> None:
    twin = jira_http.post("/rest/api/3/component", json={"project": "ENG", "name": "checkout"})
    assert twin.status_code == 400 and "already exists" in _messages(twin)
    elsewhere = jira_http.post("/rest/api/3/component", json={"project": "OPS", "name": "Checkout"})
    assert elsewhere.status_code == 201  # another project may use the name
    nobody = jira_http.post(
        "/rest/api/3/component",
        json={"project": "ENG", "name": "Infra", "leadAccountId": "no-such-account"},
    )
    assert nobody.status_code == 400 and "no-such-account" in _messages(nobody)
    moved = jira_http.put("/rest/api/3/component/10200", json={"project": "OPS"})
    assert moved.status_code == 400
    across = jira_http.delete("/rest/api/3/component/10200", params={"moveIssuesTo": "10202"})
    assert across.status_code == 404
    listed = jira_http.get("/rest/api/3/project/ENG/components").json()
    assert [c["name"] for c in listed] == ["Checkout", "Accounts"]


@pytest.mark.parametrize("profile", ["cloud", "datacenter"])
def test_components_ranking_and_new_sprints_persist(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "sandbox.sqlite"
    state = SandboxState(path, profile=profile)
    with state.lock:
        state.ranking.insert(0, state.ranking.pop())
        state.components[10200].description = "kept"
        state.next_sprint_id += 5
        state.parallel_sprints = True
        state.save()
    again = SandboxState(path, profile=profile)
    assert again.ranking == state.ranking
    assert again.components[10200].description == "kept"
    assert (again.next_sprint_id, again.parallel_sprints) == (state.next_sprint_id, True)

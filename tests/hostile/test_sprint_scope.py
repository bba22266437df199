"""Sprints and boards stay inside the project the policy saw.

Found with real clients against the sandbox once boards had a location:

- `jira_move_to_sprint` names issues (their project is what policies and reviewers see) and a
  numeric `sprintId` (what the adapter moves them into). Nothing tied the two: with
  `project: OPS` denied, an agent moved ENG issues into OPS's active sprint (id 201), an
  engineering lead approved "move ENG-9 into sprint 201", and OPS's sprint commitment grew.
  `jira_create_ticket`/`jira_create_tickets` with a `sprintId` had the same hole.
- `jira_list_sprints` with `projectKey: ENG` read any board's sprints.

Only Jira knows a sprint's board (`originBoardId`) and a board's project
(`location.projectKey`), so the adapter now reads both before moving and refuses a sprint of
another project (the action ends `failed`, nothing moved); a listed board is checked the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.api.support import envelope
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.helpers.servers import serve_app
from tests.helpers.service import Service, running_service

OPS_SPRINT = 201  # the sandbox's active sprint on board 2, located in OPS
OPS_BOARD = 2
LEAD = "lead-alice"


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    with running_service(db_url, policy_dir=copy_policies_denying_ops(tmp_path)) as running:
        yield running


def _approved_and_final(service: Service, body: dict[str, Any]) -> dict[str, Any]:
    submitted = service.agent.post("/v1/actions", json=body)
    assert submitted.status_code == 202, submitted.text
    action_id = submitted.json()["id"]
    decided = service.client(LEAD).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    return service.wait_for_status(action_id, "executed", "failed", "partially_executed")


def _sprint_moves(service: Service) -> list[Any]:
    return [r for r in service.sandbox.logged() if r.method == "POST" and "/sprint/" in r.path]


def _in_ops_sprint(service: Service) -> list[str]:
    with service.sandbox.lock:
        return [i.key for i in service.sandbox.issues.values() if i.sprint_id == OPS_SPRINT]


def test_eng_issues_are_never_moved_into_another_projects_sprint(service: Service) -> None:
    final = _approved_and_final(
        service, envelope("jira_move_to_sprint", issueKeys=["ENG-9", "ENG-10"], sprintId=OPS_SPRINT)
    )
    assert final["status"] == "failed", final
    text = f"{final.get('error')} {final.get('result')}"
    assert f"sprint {OPS_SPRINT} is not in project ENG" in text
    assert "project OPS" in text
    assert _in_ops_sprint(service) == []
    assert _sprint_moves(service) == []  # the adapter only looked at the sprint and its board


def test_a_ticket_is_not_created_into_another_projects_sprint(service: Service) -> None:
    final = _approved_and_final(
        service,
        envelope(
            "jira_create_ticket",
            projectKey="ENG",
            issueType="Bug",
            summary="sprint-scope probe",
            priority="High",
            sprintId=OPS_SPRINT,
        ),
    )
    assert final["status"] == "failed", final
    assert f"sprint {OPS_SPRINT} is not in project ENG" in f"{final.get('error')}"
    assert service.sandbox_issues(summary="sprint-scope probe") == []  # refused before creating
    assert _in_ops_sprint(service) == []


def test_an_own_project_sprint_still_takes_the_issues(service: Service) -> None:
    final = _approved_and_final(
        service, envelope("jira_move_to_sprint", issueKeys=["ENG-9"], sprintId=102)
    )
    assert final["status"] == "executed", final
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-9"].sprint_id == 102


def test_listing_another_projects_board_as_eng_is_refused(service: Service) -> None:
    honest = service.agent.post(
        "/v1/actions", json=envelope("jira_list_sprints", boardId=OPS_BOARD, projectKey="OPS")
    )
    assert honest.status_code == 403, honest.text  # the rule works when OPS is named
    disguised = service.agent.post(
        "/v1/actions", json=envelope("jira_list_sprints", boardId=OPS_BOARD, projectKey="ENG")
    )
    assert disguised.status_code == 502, disguised.text  # a read Jira refused
    view = disguised.json()
    assert view["status"] == "failed", view
    assert f"board {OPS_BOARD} is not in project ENG" in f"{view.get('error')}"
    assert "ops_sprint_7" not in str(view)
    own = service.agent.post(
        "/v1/actions", json=envelope("jira_list_sprints", boardId=1, projectKey="ENG")
    )
    assert own.status_code == 200, own.text
    assert [s["name"] for s in own.json()["result"]["data"]["sprints"]] == [
        "sprint_41",
        "sprint_42",
        "sprint_43",
    ]


# --------------------------------------------------------------------------- the property

SPRINTS = {101: "ENG", 102: "ENG", 103: "ENG", 201: "OPS"}  # sprint -> its board's project


@pytest.fixture
def jira_site() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


def test_a_sprint_move_lands_only_in_the_issues_own_project(
    jira_site: tuple[str, SandboxState],
) -> None:
    """Whatever sprint id and issues an agent picks, issues are moved only when the sprint's
    board is in the issues' project; otherwise nothing is posted to the sprint at all."""
    url, state = jira_site
    config = JiraConfig(base_url=url, email="jiragate@example.com", api_token="token", board_id=1)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        sprint=st.sampled_from([*SPRINTS, 999]),
        keys=st.one_of(
            st.lists(st.sampled_from(["ENG-2", "ENG-6", "ENG-9"]), min_size=1, unique=True),
            st.lists(st.sampled_from(["OPS-1", "OPS-2"]), min_size=1, unique=True),
        ),
    )
    def check(sprint: int, keys: list[str]) -> None:
        state.reset()
        project = keys[0].split("-")[0]
        details = {"sprintId": sprint, "issueKeys": keys}
        result = asyncio.run(_move(config, details))
        posted = [r for r in state.logged() if r.method == "POST" and "/sprint/" in r.path]
        with state.lock:
            placed = {k: state.issues[k].sprint_id for k in keys}
        if SPRINTS.get(sprint) == project and sprint != 101:  # 101 is closed: Jira refuses
            assert result.outcome == "succeeded", result
            assert set(placed.values()) == {sprint}
        else:
            assert result.outcome != "succeeded", result
            assert not any(v == sprint for v in placed.values())
            if SPRINTS.get(sprint) != project:
                assert posted == []

    check()


async def _move(config: JiraConfig, details: dict[str, Any]) -> Any:
    async with JiraAdapter(config) as adapter:
        return await adapter.execute(
            "jira_move_to_sprint", details, action_id="act_property", summary="s"
        )

"""Sprints, versions and components stay inside the project the policy saw.

The attack (issue 11, a hostile agent): every agile and project-administration action names
the project policies and reviewers see (`projectKey`, or the project of `issueKeys`) and bare
ids (a sprint, board, version or component, and the ids issues move to) that only Jira can
place. With `project: OPS` denied, an agent sends `projectKey: ENG` with OPS's ids; an
engineering reviewer approves "an ENG sprint change", and OPS's sprint is closed, its version
merged away or its component deleted. The adapter reads every id first and refuses one of
another project: the action ends `failed`, and nothing is written to Jira (the request log
holds only reads). Actions whose only scope is issue keys keep them in one project at
validation (a rank's anchor too).
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
from jiragate.jira.sandbox.state import Version
from tests.api.support import envelope
from tests.helpers.policy_files import copy_policies_denying_ops
from tests.helpers.servers import serve_app
from tests.helpers.service import Service, running_service

OPS_BOARD, OPS_SPRINT, OPS_COMPONENT = 2, 201, 10202
ENG_SPRINT, ENG_FUTURE, ENG_COMPONENT = 102, 103, 10200
OPS_VERSION = 10300  # added by the fixture: the seed has no OPS version
START, END = "2026-03-02T09:00:00.000Z", "2026-03-13T17:00:00.000Z"
PM = "pm-carol"  # the default policies send unlisted writes and destructive actions to PMs


@pytest.fixture(scope="module")
def _site() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


@pytest.fixture
def site(_site: tuple[str, SandboxState]) -> tuple[str, SandboxState]:
    url, state = _site
    state.reset()
    _add_ops_version(state)
    return url, state


def _add_ops_version(state: SandboxState) -> None:
    with state.lock:
        state.versions[OPS_VERSION] = Version(OPS_VERSION, 10001, "ops-1.0", "OPS owns this")
        state.issues["OPS-1"].fix_versions = [OPS_VERSION]
        state.issues["OPS-1"].components = [OPS_COMPONENT]


def _run(url: str, action: str, details: dict[str, Any]) -> ExecutionResult:
    config = JiraConfig(base_url=url, email="jiragate@example.com", api_token="t", board_id=1)

    async def main() -> ExecutionResult:
        async with JiraAdapter(config) as adapter:
            return await adapter.execute(action, details, action_id="hostile1", summary="s")

    return asyncio.run(main())


def _writes(state: SandboxState) -> list[str]:
    return [f"{r.method} {r.path}" for r in state.logged() if r.method != "GET"]


DISGUISED = [
    ("jira_create_sprint", {"boardId": OPS_BOARD, "name": "eng_in_ops"}, "board 2 is not in"),
    ("jira_update_sprint", {"sprintId": OPS_SPRINT, "goal": "hijacked"}, "sprint 201 is not in"),
    (
        "jira_start_sprint",
        {"sprintId": OPS_SPRINT, "startDate": START, "endDate": END},
        "sprint 201 is not in",
    ),
    ("jira_close_sprint", {"sprintId": OPS_SPRINT}, "sprint 201 is not in"),
    (
        "jira_close_sprint",
        {"sprintId": ENG_SPRINT, "moveIncompleteTo": OPS_SPRINT},
        "sprint 201 is not in",
    ),
    ("jira_delete_sprint", {"sprintId": OPS_SPRINT}, "sprint 201 is not in"),
    ("jira_archive_version", {"versionId": OPS_VERSION}, "version 10300 is not in"),
    (
        "jira_merge_versions",
        {"versionId": OPS_VERSION, "targetVersionId": 10101},
        "version 10300 is not in",
    ),
    (
        "jira_merge_versions",
        {"versionId": 10101, "targetVersionId": OPS_VERSION},
        "version 10300 is not in",
    ),
    ("jira_delete_version", {"versionId": OPS_VERSION}, "version 10300 is not in"),
    (
        "jira_delete_version",
        {"versionId": 10100, "moveFixIssuesTo": OPS_VERSION},
        "version 10300 is not in",
    ),
    (
        "jira_delete_version",
        {"versionId": 10100, "moveAffectedIssuesTo": OPS_VERSION},
        "version 10300 is not in",
    ),
    ("jira_update_component", {"componentId": OPS_COMPONENT, "name": "x"}, "component 10202"),
    ("jira_delete_component", {"componentId": OPS_COMPONENT}, "component 10202 is not in"),
    (
        "jira_delete_component",
        {"componentId": ENG_COMPONENT, "moveIssuesTo": OPS_COMPONENT},
        "component 10202 is not in",
    ),
]


@pytest.mark.parametrize(("action", "ids", "refusal"), DISGUISED)
def test_an_id_of_another_project_is_refused_before_any_write(
    site: tuple[str, SandboxState], action: str, ids: dict[str, Any], refusal: str
) -> None:
    url, state = site
    before = state.snapshot()
    result = _run(url, action, {"projectKey": "ENG", **ids})
    assert result.outcome == "failed", result.as_dict()
    assert f"{refusal}" in result.failures[0].reason
    assert "ENG" in result.failures[0].reason
    assert _writes(state) == []  # the adapter only looked
    assert state.snapshot() == before


@pytest.mark.parametrize(
    ("action", "details", "pointer"),
    [
        (
            "jira_rank_issues",
            {"issueKeys": ["ENG-2"], "rankAfterIssue": "OPS-1"},
            "/rankAfterIssue",
        ),
        (
            "jira_rank_issues",
            {"issueKeys": ["ENG-2", "OPS-1"], "rankBeforeIssue": "ENG-3"},
            "/issueKeys/1",
        ),
        ("jira_move_to_backlog", {"issueKeys": ["ENG-2", "OPS-2"]}, "/issueKeys/1"),
    ],
)
def test_issue_keys_of_two_projects_are_refused_at_validation(
    action: str, details: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(InvalidDetailsError) as caught:
        catalog.validate_details(action, details)
    (violation,) = caught.value.violations
    assert violation.rule == "single-project"
    # The key named second is the one refused (a single key field is read before the list).
    assert violation.pointer in {pointer, "/issueKeys/0"}
    # ... so the project policies see is the one Jira would be written in.
    honest = {**details, "issueKeys": ["OPS-1"]}
    honest.pop("rankAfterIssue", None)
    honest.pop("rankBeforeIssue", None)
    if action == "jira_rank_issues":
        honest["rankBeforeIssue"] = "OPS-2"
    catalog.validate_details(action, honest)
    assert catalog.project_of(honest) == "OPS"


def test_own_project_ids_still_work(site: tuple[str, SandboxState]) -> None:
    url, state = site
    merged = _run(
        url,
        "jira_merge_versions",
        {"projectKey": "ENG", "versionId": 10100, "targetVersionId": 10101},
    )
    assert merged.outcome == "succeeded", merged.as_dict()
    moved = _run(
        url,
        "jira_delete_component",
        {"projectKey": "OPS", "componentId": OPS_COMPONENT},
    )
    assert moved.outcome == "succeeded", moved.as_dict()
    with state.lock:
        assert 10100 not in state.versions and OPS_COMPONENT not in state.components
        assert state.issues["ENG-7"].fix_versions == [10101]


# --------------------------------------------------------------------------- the property

VERSIONS = {10100: "ENG", 10101: "ENG", OPS_VERSION: "OPS", 99999: None}
COMPONENTS = {10200: "ENG", 10201: "ENG", OPS_COMPONENT: "OPS", 99999: None}


def test_a_version_or_component_write_happens_only_inside_the_named_project(
    site: tuple[str, SandboxState],
) -> None:
    """Whatever ids a hostile agent combines, a merge or delete writes only when every id it
    names is in the action's project; otherwise Jira sees no write at all."""
    url, state = site

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        project=st.sampled_from(["ENG", "OPS"]),
        choice=st.one_of(
            st.tuples(
                st.just("jira_merge_versions"),
                st.fixed_dictionaries(
                    {
                        "versionId": st.sampled_from(list(VERSIONS)),
                        "targetVersionId": st.sampled_from(list(VERSIONS)),
                    }
                ),
            ),
            st.tuples(
                st.just("jira_delete_version"),
                st.fixed_dictionaries(
                    {"versionId": st.sampled_from(list(VERSIONS))},
                    optional={"moveFixIssuesTo": st.sampled_from(list(VERSIONS))},
                ),
            ),
            st.tuples(
                st.just("jira_delete_component"),
                st.fixed_dictionaries(
                    {"componentId": st.sampled_from(list(COMPONENTS))},
                    optional={"moveIssuesTo": st.sampled_from(list(COMPONENTS))},
                ),
            ),
        ),
    )
    def check(project: str, choice: tuple[str, dict[str, int]]) -> None:
        action, ids = choice
        details = {"projectKey": project, **ids}
        try:
            catalog.validate_details(action, details)
        except InvalidDetailsError:
            return  # the same id twice: refused before any call
        state.reset()
        _add_ops_version(state)
        result = _run(url, action, details)
        owners = VERSIONS if action != "jira_delete_component" else COMPONENTS
        inside = all(owners[i] == project for i in ids.values())
        if inside:
            assert result.outcome == "succeeded", result.as_dict()
        else:
            assert result.outcome == "failed", result.as_dict()
            assert _writes(state) == []

    check()


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    with running_service(db_url, policy_dir=copy_policies_denying_ops(tmp_path)) as running:
        yield running


def test_through_the_gateway_an_approved_disguised_action_fails_and_writes_nothing(
    service: Service,
) -> None:
    honest = service.agent.post(
        "/v1/actions", json=envelope("jira_delete_sprint", projectKey="OPS", sprintId=OPS_SPRINT)
    )
    assert honest.status_code == 403, honest.text  # the OPS rule works when OPS is named
    for body in (
        envelope("jira_close_sprint", projectKey="ENG", sprintId=OPS_SPRINT),
        envelope("jira_delete_component", projectKey="ENG", componentId=OPS_COMPONENT),
    ):
        submitted = service.agent.post("/v1/actions", json=body)
        assert submitted.status_code == 202, submitted.text
        action_id = submitted.json()["id"]
        decided = service.client(PM).post(
            f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
        )
        assert decided.status_code == 200, decided.text
        final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
        assert final["status"] == "failed", final
        assert "is not in project ENG" in f"{final.get('error')} {final.get('result')}"
    with service.sandbox.lock:
        assert service.sandbox.sprints[OPS_SPRINT].state == "active"
        assert OPS_COMPONENT in service.sandbox.components
    writes = [r for r in service.sandbox.logged() if r.method != "GET"]
    assert writes == []

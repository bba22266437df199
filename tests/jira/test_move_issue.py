"""`jira_move_issue` through the adapter, over real HTTP against the sandbox, on both
profiles: Cloud submits Jira's bulk move and polls its task; Data Center is refused before
any call. Every request is checked against Atlassian's spec (`scenario`), and every answer
the sandbox gives to the bulk endpoints against the spec's responses (`jira_http`).

The outcomes the gateway relies on: `succeeded` with the new key when the task moved the
issue; `failed` only when Jira refused before anything ran (or finished without moving it);
an unknown outcome (`JiraTransportError(outcome_unknown=True)`) whenever the move was
submitted and may still happen — never `failed` then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jiragate.errors import InvalidDetailsError, JiraTransportError, JiraUnsupportedError
from jiragate.jira.config import JiraConfig
from jiragate.jira.handlers.moves import MOVE_WAIT_SECONDS
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app
from tests.jira.conftest import ContractRecorder
from tests.jira.test_adapter_sandbox import (
    API_TOKEN,
    EMAIL,
    FLAVOURS,
    PAT,
    Run,
    Site,
    arm,
    scenario,
)

MOVE = {"issueKey": "ENG-2", "targetProjectKey": "OPS"}


@pytest.fixture(scope="module")
def _sites() -> Iterator[dict[str, Site]]:
    states = {flavour: SandboxState(profile=flavour) for flavour in FLAVOURS}
    with (
        serve_app(create_sandbox_app(states["cloud"])) as cloud,
        serve_app(create_sandbox_app(states["datacenter"])) as datacenter,
    ):
        yield {
            "cloud": Site(cloud, states["cloud"]),
            "datacenter": Site(datacenter, states["datacenter"]),
        }


def _reset(site: Site) -> Site:
    site.state.reset()
    site.state.basic_auth = (EMAIL, API_TOKEN)
    site.state.bearer_token = PAT
    return site


@pytest.fixture
def cloud(_sites: dict[str, Site]) -> Site:
    return _reset(_sites["cloud"])


@pytest.fixture
def datacenter(_sites: dict[str, Site]) -> Site:
    return _reset(_sites["datacenter"])


async def move_eng_2(run: Run) -> None:
    result = await run.execute("jira_move_issue", MOVE)
    assert result.outcome == "succeeded", result.failures


def moves_submitted(run: Run) -> int:
    return len(run.sent("POST", "/bulk/issues/move"))


# --------------------------------------------------------------------------- Cloud


def test_cloud_moves_the_issue_and_reports_its_new_key(cloud: Site) -> None:
    before = cloud.state.issues["ENG-2"]
    issue_id, next_ops = before.id, cloud.state.projects["OPS"].next_number

    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", MOVE)
        assert result.outcome == "succeeded", result.failures
        new_key = f"OPS-{next_ops}"
        assert result.updated == [new_key]
        assert result.data is not None
        assert result.data["newKey"] == new_key
        assert (result.data["issueKey"], result.data["projectKey"]) == ("ENG-2", "OPS")
        assert result.data["issueType"] == before.issue_type  # kept: none was named
        assert result.data["taskId"]
        # One submission, for the issue's id, into OPS with the issue's own type id.
        ((_, _, _, sent),) = run.sent("POST", "/bulk/issues/move")
        ((target, mapping),) = sent["targetToSourcesMapping"].items()
        assert target.startswith("OPS,") and mapping["issueIdsOrKeys"] == [str(issue_id)]
        # The task was polled through the client's sleep hook: no real wait, bounded.
        assert run.waits and sum(run.waits) <= MOVE_WAIT_SECONDS

    scenario(cloud, "cloud", body)
    with cloud.state.lock:
        moved = cloud.state.find_issue("ENG-2")  # the old key still answers, as in Jira
        assert moved is not None and moved.id == issue_id
        assert (moved.key, moved.project_key) == (f"OPS-{next_ops}", "OPS")
        assert "ENG-2" not in cloud.state.issues


def test_the_old_key_answers_with_the_moved_issue_over_http(
    cloud: Site, contract: ContractRecorder
) -> None:
    scenario(cloud, "cloud", move_eng_2)
    with httpx.Client(
        base_url=cloud.url,
        auth=(EMAIL, API_TOKEN),
        event_hooks={"response": [contract.check]},
    ) as http:
        answer = http.get("/rest/api/3/issue/ENG-2", params={"fields": "project"}).json()
    assert answer["fields"]["project"]["key"] == "OPS"
    assert answer["key"].startswith("OPS-")
    assert contract.problems == []


def test_a_named_issue_type_is_the_one_it_gets(cloud: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", {**MOVE, "targetIssueType": "task"})
        assert result.outcome == "succeeded", result.failures
        assert result.data is not None and result.data["issueType"] == "Task"

    scenario(cloud, "cloud", body)


def test_an_unknown_target_project_fails_before_anything_is_submitted(cloud: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", {**MOVE, "targetProjectKey": "NOPE"})
        assert result.outcome == "failed"
        (failure,) = result.failures
        assert failure.status == 404 and "NOPE" in failure.reason
        assert moves_submitted(run) == 0

    scenario(cloud, "cloud", body)
    assert cloud.state.issues["ENG-2"].project_key == "ENG"


def test_an_issue_type_the_target_lacks_fails_naming_the_ones_it_has(cloud: Site) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", {**MOVE, "targetIssueType": "Incident"})
        assert result.outcome == "failed"
        (failure,) = result.failures
        assert "no issue type 'Incident'" in failure.reason and "Task" in failure.reason
        assert moves_submitted(run) == 0

    scenario(cloud, "cloud", body)


def test_jira_refusing_the_submission_with_400_is_failed(cloud: Site) -> None:
    with cloud.state.lock:
        cloud.state.issues["ENG-2"].archived = True  # readable, but Jira will not move it

    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", MOVE)
        assert result.outcome == "failed"
        (failure,) = result.failures
        assert failure.status == 400
        # The bulk API's own error shape ({"errors": [{"message"}]}) is read.
        assert failure.error_messages == ("Some of the issues in the issueIdsOrKeys are not valid",)
        assert moves_submitted(run) == 1

    scenario(cloud, "cloud", body)
    assert cloud.state.issues["ENG-2"].project_key == "ENG"


def test_a_task_that_never_finishes_is_unknown_never_failed(cloud: Site) -> None:
    cloud.state.bulk_polls_to_finish = None

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError, match="still RUNNING") as caught:
            await run.execute("jira_move_issue", MOVE)
        assert caught.value.outcome_unknown is True
        assert 0 < sum(run.waits) <= MOVE_WAIT_SECONDS  # bounded, and never a real sleep
        assert len(run.sent("GET", "/bulk/queue/" + _task_id(cloud.state))) >= 5

    scenario(cloud, "cloud", body)
    assert cloud.state.issues["ENG-2"].project_key == "ENG"


def test_a_move_finishing_after_the_wait_is_found_by_the_resumed_attempt(cloud: Site) -> None:
    cloud.state.bulk_polls_to_finish = 50  # more polls than one attempt makes

    async def first(run: Run) -> None:
        with pytest.raises(JiraTransportError) as caught:
            await run.execute("jira_move_issue", MOVE)
        assert caught.value.outcome_unknown is True

    scenario(cloud, "cloud", first)
    # Jira finishes the task later (the next read of it completes it).
    cloud.state.bulk_polls_to_finish = 0
    with httpx.Client(base_url=cloud.url, auth=(EMAIL, API_TOKEN)) as http:
        done = http.get(f"/rest/api/3/bulk/queue/{_task_id(cloud.state)}").json()
    assert done["status"] == "COMPLETE"

    async def resumed(run: Run) -> None:
        result = await run.adapter.execute(
            "jira_move_issue", MOVE, action_id="act1", summary="s", resumed=True
        )
        assert result.outcome == "succeeded", result.failures
        assert result.data is not None and result.data["newKey"].startswith("OPS-")
        assert moves_submitted(run) == 0  # found moved: not submitted a second time

    scenario(cloud, "cloud", resumed)


def test_unreadable_task_progress_is_unknown(cloud: Site) -> None:
    arm(
        cloud.state,
        match={"method": "GET", "path": "/rest/api/3/bulk/queue/*"},
        times=None,
        fault={"kind": "status", "status": 503},
    )

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError, match="progress cannot be read") as caught:
            await run.execute("jira_move_issue", MOVE)
        assert caught.value.outcome_unknown is True

    scenario(cloud, "cloud", body)


def test_a_lost_submission_answer_is_unknown_not_resent(cloud: Site) -> None:
    arm(
        cloud.state,
        match={"method": "POST", "path": "/rest/api/3/bulk/issues/move"},
        fault={"kind": "drop", "when": "after"},
    )

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError) as caught:
            await run.execute("jira_move_issue", MOVE)
        assert caught.value.outcome_unknown is True
        assert moves_submitted(run) == 1  # a POST that may have been taken is never resent

    scenario(cloud, "cloud", body)
    assert len(cloud.state.bulk_tasks) == 1


def test_an_issue_jira_places_in_another_project_is_refused(cloud: Site) -> None:
    """ENG-2 was moved to OPS earlier: "move ENG-2 to DATA" would move an OPS issue that the
    policies never saw (they saw project ENG). Nothing is submitted."""
    scenario(cloud, "cloud", move_eng_2)

    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", {**MOVE, "targetProjectKey": "ENG2"})
        assert result.outcome == "failed"
        assert "is in project OPS, not ENG" in result.failures[0].reason
        # Not resumed: finding it in the target is not this attempt's success either.
        again = await run.execute("jira_move_issue", MOVE)
        assert again.outcome == "failed"
        assert moves_submitted(run) == 0

    scenario(cloud, "cloud", body)


def test_a_sub_task_is_refused_its_parent_moves_it(cloud: Site) -> None:
    with cloud.state.lock:
        subtask = next(
            i
            for i in cloud.state.issues.values()
            if i.issue_type == "Subtask" and i.key.startswith("ENG-")
        )

    async def body(run: Run) -> None:
        result = await run.execute("jira_move_issue", {**MOVE, "issueKey": subtask.key})
        assert result.outcome == "failed"
        assert "sub-task" in result.failures[0].reason
        assert moves_submitted(run) == 0

    scenario(cloud, "cloud", body)


@pytest.mark.parametrize(
    "details",
    [
        {"issueKey": "ENG-2", "targetProjectKey": "ENG"},  # not a move
        {"issueKey": "ENG-2", "targetProjectKey": "ops"},  # keys are upper case
        {"issueKey": "ENG-2"},
        {"issueKey": "ENG-2", "targetProjectKey": "OPS", "sendBulkNotification": False},
    ],
)
def test_invalid_details_are_refused_before_any_call(cloud: Site, details: dict[str, Any]) -> None:
    async def main() -> None:
        config = JiraConfig(base_url=cloud.url, flavour="cloud", email=EMAIL, api_token=API_TOKEN)
        sent: list[Any] = []
        async with JiraAdapter(config, on_request=lambda *a: sent.append(a)) as adapter:
            with pytest.raises(InvalidDetailsError):
                await adapter.execute("jira_move_issue", details, action_id="a1", summary="s")
        assert sent == []

    asyncio.run(main())


# --------------------------------------------------------------------------- Data Center


def test_data_center_is_refused_by_name_without_a_call(datacenter: Site) -> None:
    async def main() -> None:
        config = JiraConfig(
            base_url=datacenter.url, flavour="datacenter", personal_access_token=PAT
        )
        sent: list[Any] = []
        async with JiraAdapter(config, on_request=lambda *a: sent.append(a)) as adapter:
            with pytest.raises(JiraUnsupportedError, match="Data Center has no REST endpoint"):
                await adapter.execute("jira_move_issue", MOVE, action_id="a1", summary="s")
        assert sent == []

    asyncio.run(main())
    assert datacenter.state.issues["ENG-2"].project_key == "ENG"


def test_the_data_center_sandbox_has_no_bulk_move(datacenter: Site) -> None:
    with httpx.Client(base_url=datacenter.url, headers={"Authorization": f"Bearer {PAT}"}) as http:
        for version in ("2", "3"):
            answer = _submit(http, "OPS,10002", ["ENG-2"], version=version)  # a valid body
            assert answer.status_code == 404, version
    assert datacenter.state.bulk_tasks == {}


# --------------------------------------------------------------------------- the sandbox


def _task_id(state: SandboxState) -> str:
    with state.lock:
        (task_id,) = state.bulk_tasks
    return task_id


def _submit(
    http: httpx.Client, target: str, keys: list[str], *, version: str = "3"
) -> httpx.Response:
    mapping = {
        "inferClassificationDefaults": True,
        "inferFieldDefaults": True,
        "inferStatusDefaults": True,
        "inferSubtaskTypeDefault": True,
        "issueIdsOrKeys": keys,
    }
    body = {"targetToSourcesMapping": {target: mapping}}
    return http.post(f"/rest/api/{version}/bulk/issues/move", json=body)


def test_the_sandbox_is_strict_where_jira_is(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState]
) -> None:
    for target, keys, message in (
        ("NOPE,10002", ["ENG-2"], "project 'NOPE' does not exist"),
        ("OPS,99999", ["ENG-2"], "issue type '99999' is not in project OPS"),
        ("OPS,10002", ["ENG-999"], "not valid"),
    ):
        answer = _submit(jira_http, target, keys)
        assert answer.status_code == 400, target
        (error,) = answer.json()["errors"]
        assert message in error["message"]
    # A body the spec refuses (no mapping) is refused in the bulk error shape too.
    answer = jira_http.post("/rest/api/3/bulk/issues/move", json={"sendBulkNotification": False})
    assert (
        answer.status_code == 400
        and "targetToSourcesMapping" in answer.json()["errors"][0]["message"]
    )
    _, state = sandbox
    assert state.bulk_tasks == {}


def test_the_sandbox_task_runs_then_completes_and_moves(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState]
) -> None:
    _, state = sandbox
    submitted = _submit(jira_http, "OPS,10002", ["ENG-2"])
    assert submitted.status_code == 201
    task = submitted.json()["taskId"]
    assert jira_http.get(f"/rest/api/3/bulk/queue/{task}").json()["status"] == "RUNNING"
    assert state.issues["ENG-2"].project_key == "ENG"  # not before the task completes
    done = jira_http.get(f"/rest/api/3/bulk/queue/{task}").json()
    assert done["status"] == "COMPLETE" and done["progressPercent"] == 100
    moved = state.find_issue("ENG-2")
    assert moved is not None and done["processedAccessibleIssues"] == [moved.id]
    assert moved.project_key == "OPS" and moved.issue_type == "Task"
    assert (moved.components, moved.fix_versions) == ([], [])  # ENG's, not OPS's
    changes = {item["field"]: item for entry in moved.history for item in entry["items"]}
    assert changes["Key"]["fromString"] == "ENG-2" and changes["project"]["toString"] == "OPS"
    unknown = jira_http.get("/rest/api/3/bulk/queue/424242")
    assert unknown.status_code == 400 and "not a bulk operation task" in unknown.text


def test_the_documented_result_is_what_a_move_of_the_seed_returns(cloud: Site) -> None:
    """docs/jira.md's example result, from the seed data (ENG-2 becomes OPS-3)."""
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "jira.md").read_text(encoding="utf-8")
    section = doc.split("## Moving an issue to another project", 1)[1]
    (example,) = re.findall(r"```text\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    documented = json.loads(example)

    async def body(run: Run) -> None:
        result = (await run.execute("jira_move_issue", MOVE)).as_dict()
        assert {key: result[key] for key in documented} == documented

    scenario(cloud, "cloud", body)

"""The proxy's generic actions through the adapter against both sandbox profiles: the
request sent as received (checked against Atlassian's spec like every scenario), Jira's
status and body kept in the result, and a lost answer to a write an unknown outcome."""

from __future__ import annotations

import pytest

from jiragate.errors import JiraTransportError
from tests.jira.test_adapter_sandbox import (
    BOB_ACCOUNT,
    Run,
    Site,
    arm,
    parametrize_flavour,
    scenario,
)


def watch(flavour: str) -> dict:
    return {
        "method": "POST",
        "path": "/rest/api/2/issue/ENG-1/watchers",
        "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
        "query": {},
        "projectKey": "ENG",
        "body": BOB_ACCOUNT if flavour == "cloud" else "bob",
    }


@parametrize_flavour
def test_a_generic_write_is_forwarded_and_its_answer_kept(jira: Site, flavour: str):
    async def body(run: Run) -> None:
        result = await run.execute("jira_rest_write", watch(flavour))
        assert result.outcome.value == "succeeded", result.as_dict()
        assert result.data["status"] == 204
        read = await run.execute(
            "jira_rest_read",
            {
                "method": "GET",
                "path": "/rest/api/2/issue/ENG-1/watchers",
                "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
                "query": {},
                "projectKey": "ENG",
            },
        )
        assert read.data["status"] == 200 and read.data["body"]["watchCount"] >= 1

    scenario(jira, flavour, body)
    assert jira.state.issues["ENG-1"].watchers


@parametrize_flavour
def test_a_refused_generic_write_fails_with_jiras_messages(jira: Site, flavour: str):
    async def body(run: Run) -> None:
        details = {**watch(flavour), "path": "/rest/api/2/issue/ENG-999/watchers"}
        result = await run.execute("jira_rest_write", details)
        assert result.outcome.value == "failed"
        assert result.failures[0].status == 404
        assert result.data["status"] == 404

    scenario(jira, flavour, body)


@parametrize_flavour
def test_a_lost_answer_to_a_generic_write_is_an_unknown_outcome(jira: Site, flavour: str):
    arm(
        jira.state,
        match={"path": "/rest/api/2/issue/ENG-1/watchers"},
        fault={"kind": "status", "status": 502},
    )

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError) as lost:
            await run.execute("jira_rest_write", watch(flavour))
        assert lost.value.outcome_unknown

    scenario(jira, flavour, body)

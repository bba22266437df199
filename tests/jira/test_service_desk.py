"""Jira Service Management through the adapter, over real HTTP, on both sandbox profiles:
every request is checked against the hand-kept JSM subset spec (`scenario`,
jira/openapi/jira-servicedesk.subset.json) as the platform calls are against Atlassian's.

The reads and raising a request; JSM's errors (its `errorMessage` shape, a missing required
field, the experimental header); and what a hostile agent tries — another desk's id behind
its own project key, another desk's queue or request type, a queue that lists another
project's issues, an SLA read of a moved issue — each failing with nothing read past the
check or raised. Exactly once: an answer lost after the POST was sent is an unknown outcome,
and the retry finds the request (marked or not) instead of raising a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from jiragate.errors import JiraTransportError
from jiragate.jira.markers import MARKER_PROPERTY
from jiragate.jira.results import ExecutionResult
from jiragate.jira.sandbox.state import Issue
from tests.jira.conftest import API_TOKEN, EMAIL, PAT
from tests.jira.test_adapter_sandbox import FLAVOURS, Run, Site, arm, scenario
from tests.jira.test_issue_writes import _sites, site

__all__ = ["_sites", "site"]  # the two-profile fixtures

parametrize_flavour = pytest.mark.parametrize("flavour", FLAVOURS)
SD = "/rest/servicedeskapi"
BOB = {"cloud": "5b10a2844c20165700ede21b", "datacenter": "bob"}
INCIDENT = {"projectKey": "OPS", "requestTypeId": 12, "summary": "Checkout is down"}
HELP = {"projectKey": "OPS", "requestTypeId": 11, "summary": "VPN is down in Berlin"}


def reasons(result: ExecutionResult) -> str:
    return " | ".join(failure.reason for failure in result.failures)


def posted(run: Run) -> list[Any]:
    return [
        body
        for method, path, _, body in run.requests
        if (method, path) == ("POST", f"{SD}/request")
    ]


def requests_in(site: Site, summary: str) -> list[Issue]:
    with site.state.lock:
        return [i for i in site.state.issues.values() if i.summary == summary]


def raw(site: Site, flavour: str) -> httpx.Client:
    """A plain client with our credentials: the sandbox's answers without the adapter."""
    auth = {"auth": (EMAIL, API_TOKEN)} if flavour == "cloud" else {}
    headers = {} if flavour == "cloud" else {"Authorization": f"Bearer {PAT}"}
    return httpx.Client(base_url=site.url, headers=headers, **auth)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reads


@parametrize_flavour
def test_the_desk_its_queues_request_types_and_fields_are_read(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        desk = await run.execute("jira_get_service_desk", {"projectKey": "OPS"})
        assert desk.data == {
            "serviceDesk": {
                "id": "1",
                "projectId": "10001",
                "projectKey": "OPS",
                "projectName": "Operations",
            }
        }
        queues = await run.execute("jira_list_queues", {"projectKey": "OPS"})
        assert [(q["id"], q["name"], q["issueCount"]) for q in queues.data["queues"]] == [
            ("1", "All open", 2),
            ("2", "Unassigned", 0),
            ("3", "Incidents", 1),
        ]
        assert queues.data["queues"][2]["jql"].startswith('project = "OPS" AND (')
        issues = await run.execute(
            "jira_get_queue_issues", {"projectKey": "OPS", "queueId": 1, "fields": ["summary"]}
        )
        assert [(i["key"], i["fields"]) for i in issues.data["issues"]] == [
            ("OPS-2", {"summary": "Disk alert on db-2"}),
            ("OPS-1", {"summary": "Rotate TLS certificates"}),
        ]
        assert issues.updated == []  # a read touches nothing
        types = await run.execute("jira_list_request_types", {"projectKey": "OPS"})
        assert [(t["id"], t["name"]) for t in types.data["requestTypes"]] == [
            ("11", "Get IT help"),
            ("12", "Report an incident"),
        ]
        found = await run.execute(
            "jira_list_request_types", {"projectKey": "OPS", "searchQuery": "incident"}
        )
        assert [t["id"] for t in found.data["requestTypes"]] == ["12"]
        fields = await run.execute(
            "jira_get_request_type_fields", {"projectKey": "OPS", "requestTypeId": 11}
        )
        listed = {f["fieldId"]: f for f in fields.data["fields"]}
        assert sorted(listed) == ["description", "priority", "summary"]
        assert listed["summary"]["required"] and not listed["description"]["required"]
        # Valid values are the site's own priorities (P1... on the datacenter profile).
        priorities = [v["label"] for v in listed["priority"]["validValues"]]
        assert priorities[0] == ("Highest" if flavour == "cloud" else "P1")

    scenario(site, flavour, body)


@parametrize_flavour
def test_an_sla_is_read_as_jsm_records_it(site: Site, flavour: str) -> None:
    with site.state.lock:
        site.state.issues["OPS-2"].status = "Done"

    async def body(run: Run) -> None:
        result = await run.execute("jira_get_issue_sla", {"issueKey": "OPS-2"})
        assert result.outcome == "succeeded", reasons(result)
        first, resolution = result.data["slas"]
        assert first["name"] == "Time to first response"
        ongoing = first["ongoingCycle"]  # no comment yet: the clock runs, long breached
        assert ongoing["breached"] is True and ongoing["goalMillis"] == 4 * 3600 * 1000
        assert ongoing["remainingMillis"] < 0 and ongoing["paused"] is False
        assert resolution["name"] == "Time to resolution" and "ongoingCycle" not in resolution
        (done,) = resolution["completedCycles"]
        assert done["goalMillis"] == 24 * 3600 * 1000 and "stopTime" in done

    scenario(site, flavour, body)


@parametrize_flavour
def test_an_sla_of_an_issue_that_is_no_request_fails_naming_it(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_get_issue_sla", {"issueKey": "ENG-2"})
        assert result.outcome == "failed"
        assert "ENG-2 is not a customer request" in reasons(result)

    run = scenario(site, flavour, body)
    assert not run.sent("GET", "/sla")


@pytest.mark.parametrize("flavour", ["datacenter"])
def test_a_data_center_without_the_sla_endpoint_says_so(site: Site, flavour: str) -> None:
    site.state.jsm_sla = False  # an older JSM: the experimental resource is not there

    async def body(run: Run) -> None:
        result = await run.execute("jira_get_issue_sla", {"issueKey": "OPS-1"})
        assert result.outcome == "failed"
        assert "this Jira has no SLA endpoint" in reasons(result)

    scenario(site, flavour, body)


@parametrize_flavour
def test_a_project_without_a_desk_is_refused_by_name(site: Site, flavour: str) -> None:
    with site.state.lock:
        site.state.projects["HR"] = type(site.state.projects["OPS"])(10002, "HR", "People", "x")

    async def body(run: Run) -> None:
        result = await run.execute("jira_list_queues", {"projectKey": "HR"})
        assert result.outcome == "failed"
        assert "project HR is not a Jira Service Management service desk" in reasons(result)

    scenario(site, flavour, body)


# --------------------------------------------------------------------------- JSM's own rules


@parametrize_flavour
def test_the_sandbox_is_strict_where_jsm_is(site: Site, flavour: str) -> None:
    opt_in = {"X-ExperimentalApi": "opt-in"}
    with raw(site, flavour) as client:
        # Data Center's SLA resource is experimental: without the opt-in header, JSM's error
        # shape naming it. Cloud's is not; queues are not either, but on an older JSD.
        sla = client.get(f"{SD}/request/OPS-1/sla")
        assert sla.status_code == (200 if flavour == "cloud" else 412)
        if flavour == "datacenter":
            assert "X-ExperimentalApi: opt-in" in sla.json()["errorMessage"]
            assert set(sla.json()) == {"errorMessage", "i18nErrorMessage"}
        assert client.get(f"{SD}/request/OPS-1/sla", headers=opt_in).status_code == 200
        assert client.get(f"{SD}/servicedesk/1/queue").status_code == 200
        site.state.jsm_experimental.add("queue")  # an older JSD
        assert client.get(f"{SD}/servicedesk/1/queue").status_code == 412
        opted = client.get(f"{SD}/servicedesk/1/queue", headers=opt_in)
        assert opted.status_code == 200 and opted.json()["size"] == 3
        unknown = client.post(
            f"{SD}/request",
            json={"serviceDeskId": "1", "requestTypeId": "99", "requestFieldValues": {}},
        )
        assert unknown.status_code == 400
        assert unknown.json()["errorMessage"] == (
            "The request type 99 does not exist on service desk 1."
        )
        other_desk = client.post(
            f"{SD}/request",
            json={"serviceDeskId": "1", "requestTypeId": "21", "requestFieldValues": {}},
        )
        assert other_desk.status_code == 400
        stray = client.post(
            f"{SD}/request",
            json={
                "serviceDeskId": "1",
                "requestTypeId": "11",
                "requestFieldValues": {"summary": "x", "labels": ["a"]},
            },
        )
        assert stray.status_code == 400 and "'labels' is not on" in stray.json()["errorMessage"]
        # The spec subset refuses what JSM does not document, in JSM's shape.
        typo = client.post(f"{SD}/request", json={"serviceDesk": "1"})
        assert typo.status_code == 400 and "serviceDesk" in typo.json()["errorMessage"]
    assert requests_in(site, "x") == []


@parametrize_flavour
def test_the_adapter_opts_in_wherever_jsm_asks(site: Site, flavour: str) -> None:
    site.state.jsm_experimental.update({"queue", "sla"})  # an older JSD: both experimental

    async def body(run: Run) -> None:
        for action, details in (
            ("jira_list_queues", {"projectKey": "OPS"}),
            ("jira_get_queue_issues", {"projectKey": "OPS", "queueId": 3}),
            ("jira_get_issue_sla", {"issueKey": "OPS-1"}),
        ):
            result = await run.execute(action, details)
            assert result.outcome == "succeeded", reasons(result)

    scenario(site, flavour, body)


@parametrize_flavour
def test_a_missing_required_field_is_jsms_refusal_in_its_words(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_create_customer_request", INCIDENT)
        assert result.outcome == "failed"
        (failure,) = result.failures
        assert failure.status == 400
        assert "The field 'Customer impact' (customfield_10043) is required." in failure.reason

    scenario(site, flavour, body)
    assert requests_in(site, INCIDENT["summary"]) == []


# --------------------------------------------------------------------------- raising requests


@parametrize_flavour
def test_a_request_is_raised_and_marked(site: Site, flavour: str) -> None:
    details = {
        **INCIDENT,
        "description": "Payments fail with a 502.",
        "fields": {"customfield_10043": 120},
        "raiseOnBehalfOf": BOB[flavour],
        "requestParticipants": ["5b10a2844c20165700ede21c" if flavour == "cloud" else "carol"],
    }

    async def body(run: Run) -> None:
        result = await run.execute("jira_create_customer_request", details, action_id="req1")
        assert result.outcome == "succeeded", reasons(result)
        assert result.created == [{"index": 0, "key": "OPS-3"}]
        assert result.data == {"issueKey": "OPS-3", "serviceDeskId": "1", "requestTypeId": "12"}

    run = scenario(site, flavour, body)
    (sent,) = posted(run)
    assert sent == {
        "serviceDeskId": "1",
        "requestTypeId": "12",
        "requestFieldValues": {
            "customfield_10043": 120,
            "summary": "Checkout is down",
            "description": "Payments fail with a 502.",
        },
        "raiseOnBehalfOf": BOB[flavour],
        "requestParticipants": details["requestParticipants"],
    }
    (issue,) = requests_in(site, "Checkout is down")
    assert issue.request_type_id == 12 and issue.issue_type == "Bug"
    assert issue.reporter == "5b10a2844c20165700ede21b"  # Bob's request, raised for him
    assert issue.participants == ["5b10a2844c20165700ede21c"]
    assert issue.custom_fields["customfield_10043"] == 120
    assert {"jiragate-req1", "jiragate-req1.0"} <= set(issue.labels)
    assert issue.properties[MARKER_PROPERTY]["action"] == "req1"


@parametrize_flavour
def test_running_a_raised_request_again_raises_nothing(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        first = await run.execute("jira_create_customer_request", HELP, action_id="again1")
        second = await run.execute("jira_create_customer_request", HELP, action_id="again1")
        assert second.created == first.created
        assert second.data == {"recovered": [0]}

    run = scenario(site, flavour, body)
    assert len(posted(run)) == 1
    assert len(requests_in(site, HELP["summary"])) == 1


@parametrize_flavour
def test_an_answer_lost_after_sending_is_unknown_then_found(site: Site, flavour: str) -> None:
    arm(
        site.state,
        match={"method": "POST", "path": f"{SD}/request"},
        fault={"kind": "drop", "when": "after"},  # JSM raised it; the answer never came
    )
    recorded = datetime.now(UTC) - timedelta(seconds=5)

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError) as caught:
            await run.execute("jira_create_customer_request", HELP, action_id="lost1")
        assert caught.value.outcome_unknown
        result = await run.adapter.execute(
            "jira_create_customer_request",
            HELP,
            action_id="lost1",
            summary="s",
            not_before=recorded,
            resumed=True,
        )
        assert result.outcome == "succeeded", reasons(result)
        assert result.created == [{"index": 0, "key": "OPS-3"}]
        assert result.data == {"recovered": [0]}

    run = scenario(site, flavour, body)
    assert len(posted(run)) == 1  # never sent again
    (issue,) = requests_in(site, HELP["summary"])
    assert issue.properties[MARKER_PROPERTY]["action"] == "lost1"  # marked on recovery
    assert "jiragate-lost1" in issue.labels


@parametrize_flavour
def test_an_answer_lost_before_jsm_acted_is_raised_on_the_retry(site: Site, flavour: str) -> None:
    arm(
        site.state,
        match={"method": "POST", "path": f"{SD}/request"},
        fault={"kind": "drop", "when": "before"},
    )

    async def body(run: Run) -> None:
        with pytest.raises(JiraTransportError):
            await run.execute("jira_create_customer_request", HELP, action_id="lost2")
        result = await run.adapter.execute(
            "jira_create_customer_request", HELP, action_id="lost2", summary="s", resumed=True
        )
        assert result.outcome == "succeeded" and "recovered" not in (result.data or {})

    run = scenario(site, flavour, body)
    assert len(posted(run)) == 2
    assert len(requests_in(site, HELP["summary"])) == 1


@parametrize_flavour
def test_recovery_adopts_no_request_it_cannot_tell_apart(site: Site, flavour: str) -> None:
    """Two unmarked look-alikes: the action fails naming both, and raises nothing."""
    arm(
        site.state,
        match={"method": "POST", "path": f"{SD}/request"},
        fault={"kind": "drop", "when": "after"},
        times=2,
    )

    async def body(run: Run) -> None:
        for action_id in ("twin1", "twin2"):
            with pytest.raises(JiraTransportError):
                await run.execute("jira_create_customer_request", HELP, action_id=action_id)
        result = await run.adapter.execute(
            "jira_create_customer_request", HELP, action_id="twin1", summary="s", resumed=True
        )
        assert result.outcome == "failed"
        assert "2 unmarked requests match it (OPS-4, OPS-3)" in reasons(result)

    run = scenario(site, flavour, body)
    assert len(posted(run)) == 2
    assert len(requests_in(site, HELP["summary"])) == 2


@parametrize_flavour
def test_recovery_ignores_look_alikes_someone_else_raised(site: Site, flavour: str) -> None:
    with site.state.lock:
        other = site.state.new_issue("OPS", HELP["summary"], "Task", "Medium", reporter="x")
        other.request_type_id = 11  # the same summary and type, raised by a customer
        # ...and one the service account created through the platform API: no request.
        us = site.state.account_for_login(EMAIL) if flavour == "cloud" else None
        ours = us.account_id if us else "5b10a2844c20165700ede21a"  # alice: the PAT's user
        plain = site.state.new_issue("OPS", HELP["summary"], "Task", "Medium", reporter=ours)

    async def body(run: Run) -> None:
        result = await run.adapter.execute(
            "jira_create_customer_request", HELP, action_id="mine1", summary="s", resumed=True
        )
        assert result.outcome == "succeeded" and "recovered" not in (result.data or {})
        assert result.created != [{"index": 0, "key": other.key}]

    scenario(site, flavour, body)
    assert MARKER_PROPERTY not in other.properties
    assert MARKER_PROPERTY not in plain.properties


# --------------------------------------------------------------------------- scope attacks


@parametrize_flavour
def test_another_desks_id_behind_this_project_is_refused(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        for action, details in (
            ("jira_list_queues", {"projectKey": "OPS", "serviceDeskId": 2}),
            ("jira_get_queue_issues", {"projectKey": "OPS", "serviceDeskId": 2, "queueId": 4}),
            ("jira_list_request_types", {"projectKey": "OPS", "serviceDeskId": 2}),
            ("jira_create_customer_request", {**HELP, "serviceDeskId": 2, "requestTypeId": 21}),
        ):
            result = await run.execute(action, details)
            assert result.outcome == "failed", action
            assert "service desk 2 is the desk of project ENG, not OPS" in reasons(result)
            assert result.data is None

    run = scenario(site, flavour, body)
    # Only the desk itself was read: no queue, request type or request of ENG's desk.
    assert {path for _, path, *_ in run.requests} == {f"{SD}/servicedesk/2"}


@parametrize_flavour
def test_another_desks_queue_or_request_type_is_not_found(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        queue = await run.execute("jira_get_queue_issues", {"projectKey": "OPS", "queueId": 4})
        assert "queue 4 is not on the service desk of OPS (desk 1)" in reasons(queue)
        fields = await run.execute(
            "jira_get_request_type_fields", {"projectKey": "OPS", "requestTypeId": 21}
        )
        assert "request type 21 is not on the service desk of OPS" in reasons(fields)
        raised = await run.execute("jira_create_customer_request", {**HELP, "requestTypeId": 21})
        assert raised.outcome == "failed"
        assert "request type 21 is not on the service desk of OPS" in reasons(raised)

    run = scenario(site, flavour, body)
    assert posted(run) == [] and not run.sent("GET", "/queue/4/issue")
    assert requests_in(site, HELP["summary"]) == []


@parametrize_flavour
def test_a_queue_that_lists_another_projects_issues_returns_none(site: Site, flavour: str) -> None:
    # A server that resolves ids site-wide and runs queue JQL unrestricted (Jira never does):
    # ENG's queue 4 now answers on OPS's desk with ENG's issues.
    site.state.site_wide_ids = True

    async def body(run: Run) -> None:
        result = await run.execute("jira_get_queue_issues", {"projectKey": "OPS", "queueId": 4})
        assert result.outcome == "failed"
        assert "queue 4 lists issues outside OPS (ENG-1," in reasons(result)
        assert result.data is None and result.updated == []

    scenario(site, flavour, body)


@parametrize_flavour
def test_the_sla_of_a_moved_issue_is_not_read(site: Site, flavour: str) -> None:
    with site.state.lock:
        site.state.issues["OPS-1"].project_key = "ENG"  # moved; the old key still answers

    async def body(run: Run) -> None:
        result = await run.execute("jira_get_issue_sla", {"issueKey": "OPS-1"})
        assert result.outcome == "failed"
        assert "issue OPS-1 is in project ENG, not OPS" in reasons(result)

    run = scenario(site, flavour, body)
    assert not [path for _, path, *_ in run.requests if path.startswith(SD)]

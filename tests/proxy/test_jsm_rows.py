"""The proxy's Jira Service Management rows (proxy/jsm_rows.py): `/rest/servicedeskapi/...`
as the catalog's JSM actions an agent on /v1/actions would name, the desk's project read
from Jira; raising a request gated, run once and resent as the same action; unmapped JSM
calls generic actions; path tricks refused.

Over real HTTP: a Jiragate (uvicorn) in front of the Jira sandbox (OPS is desk 1 with queues
1-3 and request types 11, 12; ENG is desk 2), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import (
    DC_JIRA,
    KEYS,
    Service,
    running_service,
    unbudgeted_policies,
)
from tests.proxy.support import held_action, latest, send
from tests.proxy.test_proxy import PATH_TRICKS, decide, raw
from tests.proxy.test_read_rows import client, straight

SD = "/rest/servicedeskapi"
JSM = {"X-ExperimentalApi": "opt-in"}

# (path, query) -> (action, details): what an agent on /v1/actions would send.
READS: list[tuple[str, dict[str, str], str, dict[str, Any]]] = [
    (f"{SD}/servicedesk/1", {}, "jira_get_service_desk", {"projectKey": "OPS"}),
    (
        f"{SD}/servicedesk/1/queue",
        {"includeCount": "true"},
        "jira_list_queues",
        {"projectKey": "OPS", "serviceDeskId": 1, "includeCount": True},
    ),
    (
        f"{SD}/servicedesk/1/queue/1/issue",
        {"start": "0", "limit": "10"},
        "jira_get_queue_issues",
        {"projectKey": "OPS", "serviceDeskId": 1, "queueId": 1, "startAt": 0, "maxResults": 10},
    ),
    (
        f"{SD}/servicedesk/2/requesttype",
        {"searchQuery": "Ask"},
        "jira_list_request_types",
        {"projectKey": "ENG", "serviceDeskId": 2, "searchQuery": "Ask"},
    ),
    (
        f"{SD}/servicedesk/1/requesttype/11/field",
        {},
        "jira_get_request_type_fields",
        {"projectKey": "OPS", "serviceDeskId": 1, "requestTypeId": 11},
    ),
    (f"{SD}/request/OPS-1/sla", {}, "jira_get_issue_sla", {"issueKey": "OPS-1"}),
]

RAISE = {
    "serviceDeskId": "1",
    "requestTypeId": "11",
    "requestFieldValues": {
        "summary": "VPN is down in Berlin",
        "description": "Since 9:00, every laptop.",
        "priority": {"name": "High"},
    },
}
RAISED = {
    "projectKey": "OPS",
    "serviceDeskId": 1,
    "requestTypeId": 11,
    "summary": "VPN is down in Berlin",
    "description": "Since 9:00, every laptop.",
    "fields": {"priority": {"name": "High"}},
}


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:  # noqa: F811
    with running_service(db_url, proxy_wait_seconds=0.3) as running:
        yield running


def actions(service: Service) -> list[dict[str, Any]]:
    return service.agent.get("/v1/actions").json()["items"]


def test_each_read_is_its_catalog_action_decided_as_on_v1_actions_with_jiras_answer(
    service: Service,
) -> None:
    with client(service) as jira:
        for path, query, action, details in READS:
            answer = jira.get(path, params=query, headers=JSM)
            assert answer.status_code == 200, (path, answer.text)
            record = latest(service, action)
            assert (record["action"], record["details"]) == (action, details), path
            envelope = {"action": action, "summary": "same", "details": details}
            direct = service.agent.post("/v1/evaluate", json=envelope).json()
            assert direct["decision"] == record["decision"]["decision"] == "allow", path
            assert direct["determining_rule"] == record["rule"], path
            expected = straight(service, "GET", path, query, None).json()
            got = answer.json()
            if path.endswith("/sla"):  # elapsed and remaining times move with the clock
                got, expected = (
                    [s["name"] for s in got["values"]],
                    [s["name"] for s in expected["values"]],
                )
            assert str(got) == str(expected).replace(service.sandbox_url, service.url), path


def test_a_desk_named_by_its_projects_key_is_that_projects_action(service: Service) -> None:
    with client(service) as jira:
        # The sandbox (like Data Center) knows desks by id only: Jira's own 404, nothing run.
        answer = jira.get(f"{SD}/servicedesk/OPS/queue")
    assert answer.status_code == 404, answer.text
    assert actions(service) == []


def test_a_queue_page_is_capped_at_the_actions_limit_in_what_jira_is_sent(
    service: Service,
) -> None:
    with client(service) as jira:
        answer = jira.get(f"{SD}/servicedesk/1/queue/1/issue", params={"limit": "500"})
    assert answer.status_code == 200, answer.text
    details = latest(service, "jira_get_queue_issues")["details"]
    assert details["maxResults"] == 50
    sent = [r for r in service.sandbox.logged() if r.path == f"{SD}/servicedesk/1/queue/1/issue"]
    assert "limit=50" in sent[-1].query and "500" not in sent[-1].query


def test_an_unknown_desk_is_jiras_404_and_records_nothing(service: Service) -> None:
    with client(service) as jira:
        for path in (
            f"{SD}/servicedesk/99",
            f"{SD}/servicedesk/99/queue",
            f"{SD}/servicedesk/99/queue/1/issue",
            f"{SD}/servicedesk/99/requesttype/11/field",
        ):
            answer = jira.get(path)
            assert answer.status_code == 404, (path, answer.text)
            # Jira's shape, and JSM's errorMessage, which JSM's clients read
            assert set(answer.json()) == {"errorMessages", "errors", "errorMessage"}
            assert "Jira has no servicedesk with id 99" in answer.json()["errorMessages"][0]
            assert answer.json()["errorMessage"] == answer.json()["errorMessages"][0]
        raised = jira.post(f"{SD}/request", json={**RAISE, "serviceDeskId": "99"})
        assert raised.status_code == 404, raised.text
    assert actions(service) == []
    assert not [r for r in service.sandbox.logged() if r.method == "POST"]


REFUSED = [
    ("GET", f"{SD}/request/10001/sla", {}, None, "issue key"),
    ("GET", f"{SD}/servicedesk/1/queue", {"includeCount": "maybe"}, None, "includeCount"),
    ("GET", f"{SD}/servicedesk/1/queue/1/issue", {"limit": "-5"}, None, "negative"),
    ("POST", f"{SD}/request", {}, {**RAISE, "channel": "email"}, "channel"),
    ("POST", f"{SD}/request", {}, {**RAISE, "serviceDeskId": "one"}, "serviceDeskId"),
    ("POST", f"{SD}/request", {"x": "1"}, RAISE, "query parameter"),
    (
        "POST",
        f"{SD}/request",
        {},
        {**RAISE, "requestFieldValues": {"summary": "x", "description": {"type": "doc"}}},
        "plain text",
    ),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "named"), REFUSED)
def test_a_request_its_row_cannot_express_is_refused_and_records_nothing(
    service: Service, method: str, path: str, query: dict[str, str], body: Any, named: str
) -> None:
    with client(service) as jira:
        answer = send(jira, method, path, query, body)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["errorMessages"][0], answer.text
    assert actions(service) == []
    assert not [r for r in service.sandbox.logged() if r.method == "POST"]


def test_raising_a_request_is_gated_runs_once_and_a_resend_is_its_outcome(
    service: Service,
) -> None:
    with client(service) as jira:
        held = jira.post(f"{SD}/request", json=RAISE, headers=JSM)
        action_id = held_action(held)
        record = service.agent_view(action_id)
        assert (record["action"], record["details"]) == ("jira_create_customer_request", RAISED)
        envelope = {"action": record["action"], "summary": "same", "details": RAISED}
        direct = service.agent.post("/v1/evaluate", json=envelope).json()
        assert direct["decision"] == record["decision"]["decision"] == "require_approval"
        assert record["review_group"] == "project-managers"
        # Sent again before anyone decided: the same action, still held.
        assert held_action(jira.post(f"{SD}/request", json=RAISE)) == action_id
        edited = "VPN is down in Berlin and Munich"
        decide(service, "pm-carol", action_id, modifiedDetails={"summary": edited})
        service.wait_for_status(action_id, "executed")
        created = jira.post(f"{SD}/request", json=RAISE)
        assert created.status_code == 201, created.text
        key = created.json()["issueKey"]
        assert key.startswith("OPS-") and created.json()["issueId"]
        assert created.json()["serviceDeskId"] == "1" and created.json()["requestTypeId"] == "11"
        again = jira.post(f"{SD}/request", json=RAISE)
        assert (again.status_code, again.json()) == (201, created.json())
    posts = [
        r for r in service.sandbox.logged() if r.method == "POST" and r.path == f"{SD}/request"
    ]
    assert len(posts) == 1
    with service.sandbox.lock:
        issue = service.sandbox.issues[key]
        assert (issue.summary, issue.request_type_id) == (edited, 11)


def test_a_request_on_behalf_of_a_customer_follows_its_rule(service: Service) -> None:
    with client(service) as jira:
        body = {**RAISE, "raiseOnBehalfOf": "5b10a2844c20165700ede21b"}
        record = service.agent_view(held_action(jira.post(f"{SD}/request", json=body)))
    assert record["details"]["raiseOnBehalfOf"] == "5b10a2844c20165700ede21b"
    assert record["rule"] == "customer-requests-on-behalf"


def test_an_unmapped_servicedeskapi_call_is_a_generic_action(service: Service) -> None:
    with client(service) as jira:
        answer = jira.get(f"{SD}/request/OPS-1", headers=JSM)
        assert answer.status_code == 200, answer.text
        assert answer.json()["issueKey"] == "OPS-1"
        record = latest(service, "jira_rest_read")
        assert record["details"] == {
            "method": "GET",
            "path": f"{SD}/request/OPS-1",
            "template": f"{SD}/request/{{issueIdOrKey}}",
            "query": {},
            "projectKey": "OPS",
        }
        assert record["rule"] == "allow-safe-reads"
        listed = jira.get(f"{SD}/servicedesk")
        assert listed.status_code == 200, listed.text
        assert latest(service, "jira_rest_read")["details"]["template"] == f"{SD}/servicedesk"
        # A write no row maps falls to the defaults: held for a project manager.
        comment = jira.post(f"{SD}/request/OPS-1/comment", json={"body": "x", "public": True})
        written = service.agent_view(held_action(comment))
    assert written["action"] == "jira_rest_write"
    assert written["details"]["template"] == f"{SD}/request/{{issueIdOrKey}}/comment"
    assert (written["rule"], written["review_group"]) == (None, "project-managers")


JSM_TRICKS = [
    f"{SD}/servicedesk/2/../1/queue",
    f"{SD}/servicedesk/2%2F..%2F1/queue",
    f"{SD}/servicedesk/2/%2e%2e/1/queue",
    f"{SD}/request/ENG-1%252F..%252FOPS-1/sla",
    f"{SD}//request",
    f"{SD}/request;x=1",
    *(p.replace("/rest/api/3/", f"{SD}/") for p in PATH_TRICKS[:3]),
]


@pytest.mark.parametrize("path", JSM_TRICKS)
def test_servicedeskapi_path_tricks_are_refused_before_anything_runs(
    service: Service, path: str
) -> None:
    before = len(list(service.sandbox.logged()))
    status, body = raw(
        service,
        "POST",
        path,
        [
            ("Authorization", f"Bearer {KEYS['log-triage-bot']}"),
            ("Content-Type", "application/json"),
        ],
        json.dumps(RAISE).encode(),
    )
    assert status == 400, body
    assert "Jiragate refuses this path" in body["errorMessages"][0]
    assert len(list(service.sandbox.logged())) == before
    assert actions(service) == []


OPS_CLOSED = """\
rules:
  - id: ops-desk-is-closed
    match:
      project: OPS
      action: [jira_list_queues, jira_get_queue_issues, jira_get_issue_sla,
               jira_create_customer_request]
    decision: deny
    priority: 1000
    reason: The OPS service desk is not for agents.
"""


@pytest.fixture
def closed(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    policies = tmp_path / "policies"
    shutil.copytree(unbudgeted_policies(), policies)
    (policies / "ops-closed.yaml").write_text(OPS_CLOSED, encoding="utf-8")
    with running_service(db_url, policy_dir=policies, proxy_wait_seconds=0.2) as running:
        yield running


def test_a_deny_on_the_project_holds_through_the_proxy(closed: Service) -> None:
    """Desk 1 is OPS's (Jira says so, the path does not): the deny on OPS applies to it."""
    attempts = [
        ("GET", f"{SD}/servicedesk/1/queue", None, "jira_list_queues"),
        ("GET", f"{SD}/servicedesk/1/queue/1/issue", None, "jira_get_queue_issues"),
        ("GET", f"{SD}/request/OPS-1/sla", None, "jira_get_issue_sla"),
        ("POST", f"{SD}/request", RAISE, "jira_create_customer_request"),
    ]
    before = len(list(closed.sandbox.logged()))
    with client(closed) as jira:
        for method, path, body, action in attempts:
            answer = send(jira, method, path, {}, body)
            assert answer.status_code == 400, (path, answer.text)
            assert "ops-desk-is-closed" in answer.json()["errorMessages"][0], path
            record = latest(closed, action)
            assert record["details"].get("projectKey", "OPS") == "OPS"
            envelope = {"action": action, "summary": "same", "details": record["details"]}
            direct = closed.agent.post("/v1/evaluate", json=envelope).json()
            assert direct["decision"] == "deny" and direct["determining_rule"] == record["rule"]
        # ENG's desk is not closed.
        assert jira.get(f"{SD}/servicedesk/2/queue").status_code == 200
    reached = [(r.method, r.path) for r in list(closed.sandbox.logged())[before:]]
    assert ("GET", f"{SD}/servicedesk/1/queue") not in reached
    assert ("GET", f"{SD}/request/OPS-1/sla") not in reached
    assert ("POST", f"{SD}/request") not in reached


def test_on_data_center_the_experimental_sla_read_is_forwarded_opted_in(db_url: str) -> None:  # noqa: F811
    """The DC sandbox answers 412 to an SLA read without X-ExperimentalApi: the proxy sends
    it on every forwarded JSM call, as the catalog's handlers do."""
    from jiragate.jira.sandbox import SandboxState

    with (
        running_service(
            db_url, sandbox_state=SandboxState(profile="datacenter"), jira=dict(DC_JIRA)
        ) as service,
        httpx.Client(
            base_url=service.url,
            headers={"Authorization": f"Bearer {KEYS['log-triage-bot']}"},
            timeout=30,
        ) as jira,
    ):
        answer = jira.get(f"{SD}/request/OPS-1/sla")
        assert answer.status_code == 200, answer.text
        assert [sla["name"] for sla in answer.json()["values"]] == [
            "Time to first response",
            "Time to resolution",
        ]

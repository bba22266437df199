"""Fault injection, auth, the control API and SQLite persistence of the sandbox."""

from __future__ import annotations

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState, create_sandbox_app, parse_fault
from jiragate.jira.sandbox.faults import FaultSpecError
from tests.helpers.servers import serve_app

CREATE = {"fields": {"project": {"key": "ENG"}, "summary": "faulty", "issuetype": {"name": "Task"}}}


def arm(base_url: str, **description) -> None:
    answer = httpx.post(f"{base_url}/_sandbox/faults", json=description)
    assert answer.status_code == 201, answer.text


def test_status_fault_with_retry_after_fires_the_given_times(jira_http, sandbox) -> None:
    base_url, state = sandbox
    arm(
        base_url,
        match={"method": "POST", "path": "/rest/api/3/issue"},
        times=2,
        fault={"kind": "status", "status": 429, "retry_after": "1"},
    )
    for _ in range(2):
        limited = jira_http.post("/rest/api/3/issue", json=CREATE)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert limited.json()["errorMessages"]
    assert jira_http.post("/rest/api/3/issue", json=CREATE).status_code == 201
    assert len(state.issues) == 15  # the two limited calls created nothing


def test_retry_after_as_http_date_and_5xx(jira_http, sandbox) -> None:
    base_url, state = sandbox
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    arm(
        base_url,
        match={"path": "/rest/api/*/issue/ENG-1"},
        fault={"kind": "status", "status": 503, "retry_after": date},
    )
    answer = jira_http.get("/rest/api/2/issue/ENG-1")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == date
    state.add_fault(parse_fault({"fault": {"kind": "status", "status": 500}}))
    assert jira_http.get("/rest/api/3/field").status_code == 500
    assert jira_http.get("/rest/api/3/field").status_code == 200


def test_delay_fault_still_answers(jira_http, sandbox) -> None:
    base_url, state = sandbox
    arm(base_url, match={"path": "/rest/api/3/field"}, fault={"kind": "delay", "seconds": 0.05})
    assert jira_http.get("/rest/api/3/field").status_code == 200
    assert [e.fault for e in state.request_log] == ["delay"]


def test_drop_before_is_a_transport_error_and_changes_nothing(jira_http, sandbox) -> None:
    base_url, state = sandbox
    arm(
        base_url,
        match={"method": "POST", "path": "/rest/api/3/issue"},
        fault={"kind": "drop", "when": "before"},
    )
    with pytest.raises(httpx.TransportError):
        jira_http.post("/rest/api/3/issue", json=CREATE)
    assert "ENG-13" not in state.issues


def test_drop_after_creates_the_issue_but_the_client_never_hears(jira_http, sandbox) -> None:
    base_url, state = sandbox
    arm(
        base_url,
        match={"method": "POST", "path": "/rest/api/3/issue"},
        fault={"kind": "drop", "when": "after"},
    )
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        jira_http.post("/rest/api/3/issue", json=CREATE)
    assert state.issues["ENG-13"].summary == "faulty"
    (entry,) = [e for e in state.request_log if e.method == "POST"]
    assert entry.fault == "drop-after" and entry.status == 201


def test_partial_bulk_fails_the_chosen_elements(jira_http, sandbox) -> None:
    _, state = sandbox
    state.add_fault(parse_fault({"fault": {"kind": "partial_bulk", "indexes": [1]}}))
    answer = jira_http.post("/rest/api/3/issue/bulk", json={"issueUpdates": [CREATE] * 3})
    assert answer.status_code == 201
    body = answer.json()
    assert len(body["issues"]) == 2
    assert [e["failedElementNumber"] for e in body["errors"]] == [1]
    assert body["errors"][0]["status"] == 400


def test_fault_control_api(sandbox) -> None:
    base_url, state = sandbox
    arm(base_url, fault={"kind": "status", "status": 503}, times=None)
    listed = httpx.get(f"{base_url}/_sandbox/faults").json()
    assert listed[0]["times"] is None and listed[0]["fault"]["status"] == 503
    assert httpx.delete(f"{base_url}/_sandbox/faults").status_code == 204
    assert state.faults == []
    bad = httpx.post(f"{base_url}/_sandbox/faults", json={"fault": {"kind": "explode"}})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]


@pytest.mark.parametrize(
    "description",
    [
        {"fault": {"kind": "status", "status": 404}},
        {"fault": {"kind": "delay"}},
        {"fault": {"kind": "drop", "when": "during"}},
        {"fault": {"kind": "partial_bulk", "indexes": [-1]}},
        {"fault": {"kind": "status"}, "times": 0},
        {"match": "POST", "fault": {"kind": "drop"}},
    ],
)
def test_malformed_faults_name_the_field(description) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(description)


def test_state_inspection_logs_requests_without_credentials(jira_http, sandbox) -> None:
    base_url, _ = sandbox
    jira_http.post("/rest/api/3/issue", json=CREATE)
    httpx.get(f"{base_url}/rest/api/2/field", headers={"Authorization": "Bearer pat-secret-123"})
    snapshot = httpx.get(f"{base_url}/_sandbox/state")
    requests = snapshot.json()["requests"]
    assert [(r["method"], r["auth"], r["status"]) for r in requests] == [
        ("POST", "basic", 201),
        ("GET", "bearer", 200),
    ]
    assert requests[0]["body"] == CREATE
    assert "pat-secret-123" not in snapshot.text and "sandbox-token" not in snapshot.text
    assert any(i["key"] == "ENG-13" for i in snapshot.json()["issues"])
    assert httpx.post(f"{base_url}/_sandbox/reset").status_code == 204
    assert all(
        i["key"] != "ENG-13" for i in httpx.get(f"{base_url}/_sandbox/state").json()["issues"]
    )


def test_auth_is_required_and_checked_when_configured(sandbox) -> None:
    base_url, state = sandbox
    field = f"{base_url}/rest/api/3/field"
    missing = httpx.get(field)
    assert missing.status_code == 401 and missing.json()["errorMessages"]
    assert httpx.get(field, auth=("bob@example.com", "anything")).status_code == 200
    state.basic_auth = ("alice@example.com", "right")
    state.bearer_token = "pat"
    assert httpx.get(field, auth=("alice@example.com", "wrong")).status_code == 401
    assert httpx.get(field, auth=("alice@example.com", "right")).status_code == 200
    assert httpx.get(field, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(field, headers={"Authorization": "Bearer pat"}).status_code == 200
    assert httpx.get(field, headers={"Authorization": "Token x"}).status_code == 401


def test_validation_can_be_switched_off() -> None:
    plain = {"fields": {**CREATE["fields"], "description": "plain text on v3"}}
    with serve_app(create_sandbox_app(SandboxState(), validate_requests=False)) as base_url:
        lenient = httpx.post(f"{base_url}/rest/api/3/issue", json=plain, auth=("a@b.c", "t"))
    # The route itself still refuses non-ADF text on Cloud, now as a field error.
    assert lenient.status_code == 400 and "description" in lenient.json()["errors"]


def test_sqlite_persistence_round_trip(tmp_path) -> None:
    db = tmp_path / "sandbox.db"
    first = SandboxState(path=db)
    with serve_app(create_sandbox_app(first)) as base_url:
        created = httpx.post(f"{base_url}/rest/api/3/issue", json=CREATE, auth=("a@b.c", "t"))
        httpx.post(
            f"{base_url}/rest/agile/1.0/sprint/103/issue",
            json={"issues": ["ENG-2"]},
            auth=("a@b.c", "t"),
        )
    assert created.status_code == 201
    second = SandboxState(path=db)
    assert second.issues["ENG-13"].summary == "faulty"
    assert second.issues["ENG-2"].sprint_id == 103
    assert second.new_issue("ENG", "next", "Task", "Low", reporter="x").key == "ENG-14"

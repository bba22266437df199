"""Error answers in the shape each API promises, over real HTTP against a running service.

Under `/api/` (the Cheqpoint protocol) every error is `{"error": "<human message>"}`, so the
official `cheqpoint` SDK shows the message, not a code. Under `/v1` a bad query parameter is
`422 {"error": "invalid_query", "message": "<parameter>: <what it takes>, got '<value>'"}`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cheqpoint import CheqpointClient, CheqpointError

from tests.api.support import DB_KINDS, envelope, service_on
from tests.helpers.service import KEYS, Service

AGENT_KEY = KEYS["log-triage-bot"]


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with service_on(request, request.param, tmp_path_factory.mktemp("envelopes")) as running:
        yield running


def only_a_message(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and " " in message, body  # a sentence, not a code
    return message


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "words"),
    [
        ("POST", "/api/approvals/request", {}, b"{}", 401, "missing API key"),
        (
            "GET",
            "/api/approvals/x",
            {"x-api-key": "not-a-key-000000"},
            None,
            401,
            "unknown API key",
        ),
        ("POST", "/api/approvals/request", {"x-api-key": KEYS["lead-alice"]}, b"{}", 403, "agent"),
        ("POST", "/api/approvals/request", {"x-api-key": AGENT_KEY}, b"\xff{", 400, "not UTF-8"),
        ("POST", "/api/approvals/request", {"x-api-key": AGENT_KEY}, b"[1]", 400, "JSON object"),
        ("POST", "/api/approvals/request", {"x-api-key": AGENT_KEY}, b'{"a":', 400, "invalid JSON"),
        ("POST", "/api/webhooks/inbound", {"x-api-key": AGENT_KEY}, b"", 400, "body is empty"),
        ("GET", "/api/approvals/act_nope", {"x-api-key": AGENT_KEY}, None, 404, "not found"),
        ("DELETE", "/api/approvals/request", {"x-api-key": AGENT_KEY}, None, 405, "Not Allowed"),
        ("GET", "/api/no/such/route", {"x-api-key": AGENT_KEY}, None, 404, "Not Found"),
    ],
)
def test_every_api_error_is_cheqpoints_message_envelope(
    service: Service, method, path, headers, content, status, words
):
    response = httpx.request(
        method, f"{service.url}{path}", headers=headers, content=content, timeout=10
    )
    assert response.status_code == status, response.text
    assert words.lower() in only_a_message(response).lower()


def test_an_oversized_api_body_is_refused_in_cheqpoints_envelope(service: Service):
    huge = b'{"pad": "' + b"x" * (service.gateway.settings.max_body_bytes + 10) + b'"}'
    response = httpx.post(
        f"{service.url}/api/approvals/request",
        headers={"x-api-key": AGENT_KEY, "content-type": "application/json"},
        content=huge,
        timeout=10,
    )
    assert response.status_code == 413
    assert "limit" in only_a_message(response)


def test_the_official_sdk_shows_the_message(service: Service):
    reviewer = CheqpointClient(api_key=KEYS["lead-alice"], base_url=service.url, timeout=10)
    with pytest.raises(CheqpointError) as raised:
        reviewer.create_request(action="jira_get_issue", summary="x", details={"issueKey": "ENG-2"})
    assert raised.value.status_code == 403
    assert "agent's API key" in str(raised.value)

    agent = CheqpointClient(api_key=AGENT_KEY, base_url=service.url, timeout=10)
    with pytest.raises(CheqpointError) as raised:
        agent.create_request(action="jira_drop_project", summary="x", details={})
    assert raised.value.status_code == 400
    assert "unknown action 'jira_drop_project'" in str(raised.value)

    stranger = CheqpointClient(api_key="not-a-key-000000000", base_url=service.url, timeout=10)
    with pytest.raises(CheqpointError) as raised:
        stranger.get_request("act_whatever")
    assert raised.value.status_code == 401 and "unknown API key" in str(raised.value)


def test_v1_errors_keep_the_code_and_message_envelope(service: Service):
    response = httpx.get(f"{service.url}/v1/actions", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized" and response.json()["message"]
    missing = httpx.get(f"{service.url}/v1/nowhere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "account", "message"),
    [
        (
            "POST",
            "/v1/evaluate?explain=maybe",
            "log-triage-bot",
            "explain: expected true or false, got 'maybe'",
        ),
        ("GET", "/v1/actions?limit=5000", "log-triage-bot", "limit: "),
        ("GET", "/v1/actions?limit=ten", "log-triage-bot", "got 'ten'"),
        (
            "GET",
            "/v1/actions?status=done",
            "log-triage-bot",
            "status: Input should be 'pending_approval'",
        ),
        (
            "GET",
            "/v1/actions?action=jira_nuke",
            "log-triage-bot",
            "action: expected an action name from the catalog",
        ),
        ("GET", "/v1/actions?cursor=garbage", "log-triage-bot", "cursor: expected a next_cursor"),
        ("POST", "/v1/actions?wait=soon", "log-triage-bot", "wait: "),
        ("GET", "/v1/approvals?limit=0", "lead-alice", "limit: "),
        ("GET", "/v1/audit?after=-1", "auditor", "after: "),
        ("GET", "/v1/audit?limit=1001", "auditor", "limit: "),
        ("GET", "/v1/audit/export?since=x", "auditor", "since: "),
    ],
)
def test_a_bad_query_parameter_is_named_with_its_valid_values(
    service: Service, method, path, account, message
):
    body = envelope("jira_get_issue", issueKey="ENG-1") if method == "POST" else None
    response = service.client(account).request(method, path, json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "invalid_query", answer
    assert message in answer["message"], answer


def test_the_directly_dispatched_routes_answer_as_their_fastapi_routes(service: Service):
    """POST /v1/evaluate and /v1/actions skip FastAPI's dependency machinery (api/app.py
    `_dispatch_directly`): the same exception handlers answer their errors, the other
    methods on their paths still reach FastAPI's routes, and /openapi.json still documents
    them."""
    agent = service.agent
    wrong_method = agent.put("/v1/evaluate", json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    assert agent.get("/v1/actions", params={"limit": 1}).status_code == 200  # FastAPI's list
    poisoned = agent.post("/v1/evaluate", content=b"[1]")
    assert poisoned.status_code == 400 and poisoned.json()["error"] == "invalid_body"
    unknown = agent.post("/v1/actions", json={"action": "jira_nuke", "summary": "x", "details": {}})
    assert unknown.status_code == 400 and "jira_nuke" in unknown.json()["message"]
    anonymous = httpx.post(f"{service.url}/v1/evaluate", json={}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    paths = httpx.get(f"{service.url}/openapi.json", timeout=10).json()["paths"]
    for path in ("/v1/evaluate", "/v1/actions"):
        assert "requestBody" in paths[path]["post"], path

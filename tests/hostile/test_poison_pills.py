"""Poison pills over real HTTP: NaN/Infinity, a 4301-digit integer, lone surrogates, NUL
characters and malformed Idempotency-Key headers. Each is a 400 JSON error naming the field
(pointer or header), before authentication where the body is parsed first, and nothing is
stored: no action row, no execution, the read never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.cheqpoint import post_signed_webhook
from tests.helpers.service import KEYS, WEBHOOK_SECRET, Service, running_service

SEED = (
    '{"action": "jira_update_story_points", "summary": %s, '
    '"details": {"updates": [{"issueKey": "ENG-1", "storyPoints": %s}]}}'
)
POISONS = {
    "nan": (SEED % ('"points"', "NaN"), "/details/updates/0/storyPoints", "NaN"),
    "infinity": (SEED % ('"points"', "Infinity"), "/details/updates/0/storyPoints", "Infinity"),
    "minus-infinity": (SEED % ('"points"', "-Infinity"), "/details/updates/0/storyPoints", "-Inf"),
    "overflowing-float": (SEED % ('"points"', "1e999"), "/details/updates/0/storyPoints", "1e999"),
    "4301-digit-int": (SEED % ('"points"', "9" * 4301), "/details/updates/0/storyPoints", "range"),
    "65-bit-int": (SEED % ('"points"', str(2**64)), "/details/updates/0/storyPoints", "range"),
    "lone-surrogate": (SEED % ('"fix \\ud800 points"', "3"), "/summary", "surrogate"),
    "nul": (SEED % ('"fix \\u0000 points"', "3"), "/summary", "NUL"),
    "nul-in-a-key": (
        '{"action": "jira_get_issue", "summary": "s", "details": {"issueKey": "ENG-1", '
        '"fie\\u0000lds": []}}',
        "/details/fie\x00lds",
        "NUL",
    ),
}
PATHS = ("/v1/actions", "/v1/evaluate", "/api/approvals/request", "/api/webhooks/inbound")


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    with running_service(db_url) as running:
        yield running


def stored_actions(service: Service) -> int:
    return len(service.gateway._store.list_actions(limit=200).items)


def post(service: Service, path: str, body: str, **headers: str) -> httpx.Response:
    # Both credentials: a bearer for /v1, x-api-key for the Cheqpoint-compatible /api.
    key = KEYS["log-triage-bot"]
    agent = {"Authorization": f"Bearer {key}", "x-api-key": key}
    return httpx.post(
        f"{service.url}{path}",
        content=body.encode(),
        headers={"content-type": "application/json", **agent, **headers},
        timeout=30,
    )


def assert_refused(response: httpx.Response, pointer: str, hint: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    if response.request.url.path.startswith("/api/"):  # Cheqpoint's envelope: the message
        assert list(body) == ["error"], body
        assert pointer in body["error"] and hint in body["error"], body
        return body
    assert body["error"] == "invalid_json_value", body
    assert body["pointer"] == pointer
    assert pointer in body["message"] and hint in body["message"], body
    return body


def test_every_poison_is_a_400_naming_the_pointer_on_every_json_route(service: Service) -> None:
    before = stored_actions(service)
    for name, (body, pointer, hint) in POISONS.items():
        for path in PATHS:
            response = post(service, path, body)
            assert response.status_code == 400, (name, path, response.text)
            assert_refused(response, pointer, hint)
    assert stored_actions(service) == before == 0
    assert list(service.sandbox.logged()) == []  # not one call reached Jira


def test_a_4301_digit_integer_before_authentication_is_a_json_400(service: Service) -> None:
    body, pointer, hint = POISONS["4301-digit-int"]
    response = httpx.post(
        f"{service.url}/v1/actions",
        content=body.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert_refused(response, pointer, hint)


def test_a_decision_carrying_nan_is_refused_and_the_approval_stays_open(service: Service) -> None:
    action = service.agent.post(
        "/v1/actions",
        json={
            "action": "jira_update_story_points",
            "summary": "re-estimate",
            "details": {"updates": [{"issueKey": "ENG-1", "storyPoints": 3}]},
        },
    ).json()
    assert action["status"] == "pending_approval", action
    lead = service.client("lead-alice")
    response = lead.post(
        f"/v1/approvals/{action['id']}/decision",
        content=b'{"verdict": "approve", "modifiedDetails": '
        b'{"updates": [{"issueKey": "ENG-1", "storyPoints": NaN}]}}',
        headers={"content-type": "application/json"},
    )
    assert_refused(response, "/modifiedDetails/updates/0/storyPoints", "NaN")
    assert service.agent_view(action["id"])["status"] == "pending_approval"


READ = '{"action": "jira_get_issue", "summary": "read it", "details": {"issueKey": "ENG-1"}}'


@pytest.mark.parametrize(
    "key",
    # Surrounding whitespace is optional whitespace to HTTP itself, stripped by the server's
    # parser (and refused by httpx as a client): "   " arrives as the empty value.
    ["", "a b", "k" * 256, "tab\tkey", "caf\u00e9"],
    ids=["empty", "inner-space", "256-chars", "tab", "non-ascii"],
)
def test_a_malformed_idempotency_key_is_a_400_naming_the_header(service: Service, key: str):
    response = httpx.post(
        f"{service.url}/v1/actions",
        content=READ.encode(),
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {KEYS['log-triage-bot']}".encode()),
            (b"idempotency-key", key.encode("latin-1")),  # raw bytes, as a hostile client
        ],
        timeout=30,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_header"
    assert "Idempotency-Key" in body["message"]
    assert stored_actions(service) == 0
    assert list(service.sandbox.logged()) == []  # the read did not run unrecorded


def test_a_well_formed_idempotency_key_still_replays(service: Service) -> None:
    headers = {"Idempotency-Key": "read-ENG-1:2024-06-01"}
    first = service.agent.post("/v1/actions", content=READ, headers=headers)
    again = service.agent.post("/v1/actions", content=READ, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]


def test_the_cheqpoint_webhook_refuses_nan_as_json(tmp_path: Path, db_url: str) -> None:
    with running_service(db_url, cheqpoint={"webhook_secret": WEBHOOK_SECRET}) as running:
        body = b'{"id": "apr_1", "riskScore": NaN}'
        response = post_signed_webhook(running.url, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "webhook_refused"
    assert "/riskScore" in response.json()["message"]

"""`Idempotency-Key` replays and `?wait=`, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api.support import DB_KINDS, seed_tickets, service_on
from tests.helpers.service import KEYS, Service


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with service_on(request, request.param, tmp_path_factory.mktemp("idem")) as running:
        yield running


def approve(service: Service, action_id: str) -> None:
    response = service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert response.status_code == 200, response.text


def test_the_same_key_and_body_twice_is_one_action(service: Service):
    key = f"idem-{uuid.uuid4()}"
    body = seed_tickets(count=2)
    first = service.agent.post("/v1/actions", json=body, headers={"Idempotency-Key": key})
    second = service.agent.post("/v1/actions", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Location"] == f"/v1/actions/{first.json()['id']}"

    approve(service, first.json()["id"])
    service.wait_for_status(first.json()["id"], "executed")
    third = service.agent.post("/v1/actions", json=body, headers={"Idempotency-Key": key})
    assert third.status_code == 200 and third.json()["status"] == "executed"
    assert third.headers["Idempotent-Replayed"] == "true"
    assert len(service.sandbox_issues(label=body["details"]["labels"][1])) == 2


def test_concurrent_retries_with_one_key_make_one_action_and_one_execution(service: Service):
    key = f"idem-{uuid.uuid4()}"
    body = seed_tickets(count=2)
    start = threading.Barrier(6)

    def post(_: int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {KEYS['log-triage-bot']}", "Idempotency-Key": key}
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            start.wait()
            return client.post("/v1/actions", json=body)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    action_id = answers[0].json()["id"]
    page = service.agent.get("/v1/actions", params={"limit": 200}).json()
    assert [i["id"] for i in page["items"] if i["details"] == body["details"]] == [action_id]

    approve(service, action_id)
    service.wait_for_status(action_id, "executed")
    assert len(service.sandbox_issues(label=body["details"]["labels"][1])) == 2
    assert len(service.gateway._store.list_executions(action_id)) == 1


def test_the_same_key_with_another_body_is_a_conflict(service: Service):
    key = f"idem-{uuid.uuid4()}"
    first = service.agent.post(
        "/v1/actions", json=seed_tickets(count=2), headers={"Idempotency-Key": key}
    )
    assert first.status_code == 202
    other = service.agent.post(
        "/v1/actions", json=seed_tickets(count=3), headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409, other.text
    assert other.json()["error"] == "idempotency_conflict"


def test_keys_belong_to_one_agent(service: Service):
    key = f"idem-{uuid.uuid4()}"
    body = seed_tickets(count=1)
    mine = service.agent.post("/v1/actions", json=body, headers={"Idempotency-Key": key})
    theirs = service.client("ide-assistant").post(
        "/v1/actions", json=body, headers={"Idempotency-Key": key}
    )
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_wait_returns_the_execution_when_a_reviewer_decides_meanwhile(service: Service):
    body = seed_tickets(count=1)
    label = body["details"]["labels"][1]

    def approve_when_pending() -> None:
        time.sleep(0.3)
        pending = service.client("lead-bob").get("/v1/approvals").json()["items"]
        [action] = [a for a in pending if label in a["details"]["labels"]]
        response = service.client("lead-bob").post(
            f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
        )
        assert response.status_code == 200, response.text

    reviewer = threading.Thread(target=approve_when_pending)
    reviewer.start()
    try:
        response = service.agent.post("/v1/actions", params={"wait": 20}, json=body)
    finally:
        reviewer.join()
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "executed"
    assert response.json()["approval"]["reviewers"] == ["lead-bob"]
    assert len(service.sandbox_issues(label=label)) == 1


def test_wait_without_a_decision_answers_pending(service: Service):
    response = service.agent.post("/v1/actions", params={"wait": 0.3}, json=seed_tickets())
    assert response.status_code == 202
    assert response.json()["status"] == "pending_approval"


def test_wait_out_of_range_is_refused(service: Service):
    response = service.agent.post("/v1/actions", params={"wait": -1}, json=seed_tickets())
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_query"
    assert response.json()["message"].startswith("wait: ")

"""The Cheqpoint-compatible API pushes decisions to allowed callback URLs, signed."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI, Request

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, verify_webhook_signature
from tests.helpers.servers import serve_app
from tests.helpers.service import KEYS, WEBHOOK_SECRET, running_service

EPIC = {
    "action": "jira_create_epic",
    "summary": "Epic for the checkout rewrite",
    "details": {"projectKey": "ENG", "summary": "Checkout rewrite"},
}


@pytest.fixture
def receiver():
    received: list[tuple[bytes, str]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        received.append((await request.body(), request.headers.get(SIGNATURE_HEADER, "")))
        return {"ok": True}

    with serve_app(app) as url:
        yield url, received


def test_a_decision_is_pushed_signed_to_an_allowed_callback(db_url, receiver):
    url, received = receiver
    db = db_url
    cheqpoint = {"webhook_secret": WEBHOOK_SECRET, "callback_url_prefixes": [url]}
    with running_service(db, cheqpoint=cheqpoint) as service:
        api = {"x-api-key": KEYS["ide-assistant"]}
        created = service.client("ide-assistant").post(
            "/api/approvals/request", headers=api, json={**EPIC, "webhookUrl": f"{url}/hook"}
        )
        assert created.status_code == 200, created.text
        approval_id = created.json()["id"]
        assert created.json()["status"] == "PENDING"

        decided = service.client("pm-carol").post(
            f"/v1/approvals/{approval_id}/decision", json={"verdict": "approve", "note": "ok"}
        )
        assert decided.status_code == 200, decided.text
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        (body, signature) = received[0]
        assert verify_webhook_signature(WEBHOOK_SECRET, body, signature)
        import json

        pushed = json.loads(body)
        assert pushed["id"] == approval_id and pushed["status"] == "APPROVED"
        assert pushed["decisionNote"] == "ok"
        # What was pushed is exactly what a poll answers.
        polled = service.client("ide-assistant").get(f"/api/approvals/{approval_id}", headers=api)
        assert polled.json() == pushed


def test_callbacks_to_other_urls_are_refused_before_anything_is_created(db_url):
    db = db_url
    with running_service(db) as service:
        api = {"x-api-key": KEYS["ide-assistant"]}
        refused = service.client("ide-assistant").post(
            "/api/approvals/request",
            headers=api,
            json={**EPIC, "webhookUrl": "http://169.254.169.254/latest/meta-data"},
        )
        assert refused.status_code == 400
        assert (
            "is not allowed" in refused.json()["error"]
        )  # Cheqpoint's envelope: {"error": message}
        listed = service.client("ide-assistant").get("/v1/actions").json()
        assert listed["items"] == []


def test_a_bad_max_wait_is_refused_before_anything_is_created(db_url):
    db = db_url
    with running_service(db) as service:
        api = {"x-api-key": KEYS["ide-assistant"]}
        refused = service.client("ide-assistant").post(
            "/api/webhooks/inbound", headers=api, json={**EPIC, "maxWaitMs": "soon"}
        )
        assert refused.status_code == 400
        assert refused.json() == {"error": "maxWaitMs must be a non-negative number"}
        assert service.client("ide-assistant").get("/v1/actions").json()["items"] == []

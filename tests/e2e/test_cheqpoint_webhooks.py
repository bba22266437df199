"""The Cheqpoint backend against a protocol-faithful fake Cheqpoint: webhooks are verified
and only a hint; the decision fetched with our own key is what counts, and it counts once."""

from __future__ import annotations

import json

import httpx

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from tests.api.support import audit_types, seed_tickets
from tests.helpers.cheqpoint import cheqpoint_service_fixture, fake_cheqpoint_fixture
from tests.helpers.fake_cheqpoint import FakeCheqpoint
from tests.helpers.service import WEBHOOK_SECRET, Service

CONNECTION_KEY = "cq_live_e2e_connection_key_0001"


cheqpoint = fake_cheqpoint_fixture(CONNECTION_KEY)
# public_url only makes the gateway send webhookUrl
service = cheqpoint_service_fixture(
    "service", CONNECTION_KEY, "webhooks", public_url="http://127.0.0.1:9"
)


def push(service: Service, body: dict, *, secret: str = WEBHOOK_SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    with httpx.Client(base_url=service.url, timeout=30) as client:
        return client.post(
            "/v1/webhooks/cheqpoint",
            content=raw,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_webhook(secret, raw),
            },
        )


def test_a_gated_action_becomes_a_routable_cheqpoint_request(
    service: Service, cheqpoint: tuple[str, FakeCheqpoint]
):
    _, fake = cheqpoint
    action = service.agent.post("/v1/actions", json=seed_tickets()).json()
    assert action["status"] == "pending_approval"
    ref = action["approval"]["ref"]
    assert action["approval"]["backend"] == "cheqpoint" and ref.startswith("cq_")
    sent = fake.requests[ref]
    assert sent["action"] == "eng-leads:jira_create_tickets"  # the group's action prefix
    assert sent["trace"]["reviewGroup"] == "engineering-leads"
    assert sent["trace"]["jiragateActionId"] == action["id"]
    assert 0 <= sent["riskScore"] <= 1
    assert sent["webhookUrl"] == "http://127.0.0.1:9/v1/webhooks/cheqpoint"


def test_forged_pushed_replayed_and_unknown_webhooks(
    service: Service, cheqpoint: tuple[str, FakeCheqpoint]
):
    _, fake = cheqpoint
    body = seed_tickets()
    label = body["details"]["labels"][1]
    action = service.agent.post("/v1/actions", json=body).json()
    ref = action["approval"]["ref"]
    claim = {"id": ref, "status": "APPROVED", "details": body["details"], "modifiedDetails": None}

    forged = push(service, claim, secret="not-the-secret-000")
    assert forged.status_code == 401
    assert forged.json()["error"] == "webhook_refused"
    with httpx.Client(base_url=service.url, timeout=30) as client:
        unsigned = client.post("/v1/webhooks/cheqpoint", json=claim)
    assert unsigned.status_code == 401

    # Correctly signed, but Cheqpoint itself still says PENDING: the push is not believed.
    lying = push(service, claim)
    assert lying.status_code == 200, lying.text
    assert lying.json()["status"] == "pending_approval"
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert service.sandbox_issues(label=label) == []

    fake.decide(ref, "APPROVED", modified_details={"issueCount": 2, "priority": "Medium"})
    real = push(service, claim)
    assert real.status_code == 200
    final = service.wait_for_status(action["id"], "executed", "failed")
    assert final["status"] == "executed"
    assert final["effective_details"]["issueCount"] == 2
    assert final["approval"]["reviewers"] == [f"cheqpoint:{ref}"]

    replay = push(service, claim)
    assert replay.status_code == 200 and replay.json()["status"] == "executed"
    assert len(service.sandbox_issues(label=label)) == 2
    assert {i.priority for i in service.sandbox_issues(label=label)} == {"Medium"}
    assert len(service.gateway._store.list_executions(action["id"])) == 1
    types = audit_types(service, action["id"])
    assert types.count("approval.approved") == 1 and types.count("action.executed") == 1

    unknown = push(service, {"id": "cq_does_not_exist", "status": "APPROVED"})
    assert unknown.status_code == 404


def test_a_cheqpoint_rejection_rejects_and_runs_nothing(
    service: Service, cheqpoint: tuple[str, FakeCheqpoint]
):
    _, fake = cheqpoint
    body = seed_tickets()
    action = service.agent.post("/v1/actions", json=body).json()
    fake.decide(action["approval"]["ref"], "REJECTED", decision_note="duplicates")
    assert push(service, {"id": action["approval"]["ref"]}).status_code == 200
    final = service.wait_for_status(action["id"], "rejected")
    assert final["approval"]["note"] == "duplicates"
    assert service.sandbox_issues(label=body["details"]["labels"][1]) == []


def test_a_widening_edit_in_cheqpoint_is_refused_as_a_rejection(
    service: Service, cheqpoint: tuple[str, FakeCheqpoint]
):
    _, fake = cheqpoint
    body = seed_tickets()
    action = service.agent.post("/v1/actions", json=body).json()
    fake.decide(action["approval"]["ref"], "APPROVED", modified_details={"projectKey": "OPS"})
    push(service, {"id": action["approval"]["ref"]})
    final = service.wait_for_status(action["id"], "rejected")
    assert "/projectKey: may not be changed by a reviewer" in final["approval"]["note"]
    assert service.sandbox_issues(label=body["details"]["labels"][1]) == []

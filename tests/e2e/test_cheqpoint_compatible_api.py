"""The inbox speaking the Cheqpoint protocol under `/api/`: Jiragate's own Cheqpoint backend
and the official `cheqpoint` SDK both work against it unchanged, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from cheqpoint import CheqpointClient, RejectedError

from tests.api.support import DB_KINDS, audit_types, seed_tickets, service_on
from tests.helpers.servers import free_port
from tests.helpers.service import KEYS, Service

# The gateway asks "Cheqpoint" (itself) as the IDE assistant; agents submit as log-triage-bot.
CONNECTION_AGENT = "ide-assistant"


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    port = free_port()
    with service_on(
        request,
        request.param,
        tmp_path_factory.mktemp("selfcheq"),
        port=port,
        approval_backend="cheqpoint",
        cheqpoint={"url": f"http://127.0.0.1:{port}", "connection_key": KEYS[CONNECTION_AGENT]},
    ) as running:
        yield running


@pytest.fixture
def sdk(service: Service) -> CheqpointClient:
    return CheqpointClient(api_key=KEYS[CONNECTION_AGENT], base_url=service.url, timeout=10)


def pending_for(service: Service, reviewer: str, match: Callable[[dict], bool]) -> dict:
    """The one pending approval in `reviewer`'s inbox that `match` picks (waits briefly)."""
    deadline = time.monotonic() + 10
    while True:
        items = service.client(reviewer).get("/v1/approvals").json()["items"]
        found = [item for item in items if match(item)]
        if found:
            [item] = found
            return item
        assert time.monotonic() < deadline, f"nothing for {reviewer} matched"
        time.sleep(0.05)


def decide_soon(service: Service, reviewer: str, match: Callable[[dict], bool], **body: object):
    """Start a reviewer thread that decides the matching approval as soon as it appears."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            item = pending_for(service, reviewer, match)
            answer = service.client(reviewer).post(
                f"/v1/approvals/{item['id']}/decision", json={"verdict": "approve", **body}
            )
            assert answer.status_code == 200, answer.text
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


# ----------------------------------------------------------------------------- 11. our backend


def test_the_gateway_backend_against_its_own_cheqpoint_api(service: Service):
    body = seed_tickets()
    label = body["details"]["labels"][1]
    action = service.agent.post("/v1/actions", json=body).json()
    assert action["status"] == "pending_approval"
    assert action["approval"]["backend"] == "cheqpoint"
    ref = action["approval"]["ref"]
    assert ref and ref != action["id"]

    # The request landed as an "external" approval in the engineering leads' inbox.
    external = pending_for(service, "lead-alice", lambda item: item["id"] == ref)
    assert external["agent"] == CONNECTION_AGENT
    assert external["review_group"] == "engineering-leads"
    assert external["details"] == body["details"]
    assert service.agent_view(action["id"])["status"] == "pending_approval"

    decided = service.client("lead-alice").post(
        f"/v1/approvals/{ref}/decision",
        json={"verdict": "approve", "modifiedDetails": {"issueCount": 4, "priority": "Medium"}},
    )
    assert decided.status_code == 200, decided.text

    # The worker's maintain() polls "Cheqpoint" (our /api/), sees APPROVED and executes.
    final = service.wait_for_status(action["id"], "executed", "failed")
    assert final["status"] == "executed", final
    assert final["effective_details"]["issueCount"] == 4
    made = service.sandbox_issues(label=label)
    assert len(made) == 4 and {i.priority for i in made} == {"Medium"}
    # The external approval is never executed by Jiragate: only the gateway's record ran.
    assert service.gateway._store.list_executions(ref) == []
    assert service.gateway.get_record(ref).status.value == "approved"
    assert "approval.approved" in audit_types(service, action["id"])


def test_wait_polls_its_own_cheqpoint_api_until_a_lead_decides(service: Service):
    body = seed_tickets(count=2)
    label = body["details"]["labels"][1]
    thread, errors = decide_soon(
        service,
        "lead-bob",
        lambda item: item["agent"] == CONNECTION_AGENT and label in item["details"]["labels"],
        modifiedDetails={"issueCount": 1},
    )
    try:
        response = service.agent.post("/v1/actions", params={"wait": 20}, json=body)
    finally:
        thread.join()
    assert not errors, errors
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "executed"
    assert len(service.sandbox_issues(label=label)) == 1


# ----------------------------------------------------------------------------- 12. the SDK


def test_sdk_create_and_get_request(service: Service, sdk: CheqpointClient):
    created = sdk.create_request(
        action="jira_create_epic",
        summary="Plan the fraud work",
        details={"projectKey": "ENG", "summary": "Fraud (SDK)"},
        risk_score=0.4,
    )
    assert set(created) == {"id"}  # the SDK keeps only the id
    status = sdk.get_request(created["id"])
    assert status.status == "PENDING"
    assert status.details == {"projectKey": "ENG", "summary": "Fraud (SDK)"}
    assert status.modified_details is None and status.auto_decided is False
    pending_for(service, "pm-carol", lambda item: item["id"] == created["id"])


def test_sdk_reads_are_auto_approved_and_denials_auto_rejected(sdk: CheqpointClient):
    read = sdk.create_request(
        action="jira_get_issue", summary="read", details={"issueKey": "ENG-2"}
    )
    approved = sdk.get_request(read["id"])
    assert approved.status == "APPROVED" and approved.auto_decided is True
    denied = sdk.get_request(
        sdk.create_request(
            action="jira_delete_issues",
            summary="wipe",
            details={"issueKeys": [f"ENG-{i}" for i in range(1, 12)]},
        )["id"]
    )
    assert denied.status == "REJECTED"
    assert denied.decision_reason_code == "POLICY_DENIED"
    assert denied.auto_decision_rule_name == "deny-bulk-deletes"


def test_sdk_request_sync_returns_pending_then_the_decision(service: Service, sdk: CheqpointClient):
    pending = sdk.request_sync(
        action="jira_create_epic",
        summary="sync epic",
        details={"projectKey": "ENG", "summary": "Sync A"},
        timeout_ms=300,
    )
    assert pending["status"] == "pending"
    summary = f"Sync B {time.monotonic_ns()}"
    thread, errors = decide_soon(
        service,
        "pm-dave",
        lambda item: item["details"].get("summary") == summary,
        modifiedDetails={"labels": ["approved-by-pm"]},  # the one label kept
    )
    try:
        answer = sdk.request_sync(
            action="jira_create_epic",
            summary="sync epic",
            details={"projectKey": "ENG", "summary": summary, "labels": ["ai", "approved-by-pm"]},
            timeout_ms=8000,
        )
    finally:
        thread.join()
    assert not errors, errors
    assert answer["status"] == "approved"
    assert answer["modifiedDetails"]["labels"] == ["approved-by-pm"]


def test_sdk_checkpoint_returns_the_edited_payload(service: Service, sdk: CheqpointClient):
    details = {**seed_tickets()["details"], "issueCount": 6}
    label = details["labels"][1]
    thread, errors = decide_soon(
        service,
        "lead-bob",
        lambda item: label in item["details"].get("labels", []),
        modifiedDetails={"issueCount": 2},
        note="two are enough",
    )
    try:
        result = sdk.checkpoint(
            action="jira_create_tickets",
            summary="six bugs",
            details=details,
            poll_interval=0.05,
            timeout=10,
        )
    finally:
        thread.join()
    assert not errors, errors
    assert result.status == "APPROVED"
    assert result.effective_details["issueCount"] == 2
    assert result.effective_details["projectKey"] == "ENG"
    assert result.response_notes == "two are enough"
    assert service.sandbox_issues(label=label) == []  # the SDK's caller executes, not us


def test_sdk_checkpoint_raises_on_rejection(service: Service, sdk: CheqpointClient):
    summary = f"Rejected epic {time.monotonic_ns()}"

    def reject() -> None:
        item = pending_for(service, "pm-carol", lambda i: i["details"].get("summary") == summary)
        service.client("pm-carol").post(
            f"/v1/approvals/{item['id']}/decision", json={"verdict": "reject", "note": "not now"}
        )

    thread = threading.Thread(target=reject)
    thread.start()
    try:
        with pytest.raises(RejectedError) as raised:
            sdk.checkpoint(
                action="pm:jira_create_epic",
                summary="epic",
                details={"projectKey": "ENG", "summary": summary},
                poll_interval=0.05,
                timeout=10,
            )
    finally:
        thread.join()
    assert raised.value.response_notes == "not now"


def test_a_group_prefix_never_overrides_the_policy(service: Service, sdk: CheqpointClient):
    # A denied action stays denied whatever group the caller names (it used to go pending).
    denied = sdk.create_request(
        action="pm:jira_delete_issues",
        summary="wipe",
        details={"issueKeys": [f"ENG-{i}" for i in range(1, 12)]},
    )
    status = sdk.get_request(denied["id"])
    assert status.status == "REJECTED" and status.decision_reason_code == "POLICY_DENIED"
    # A gated action goes to the policy's group, not the one the caller picked.
    gated = sdk.create_request(
        action="pm:jira_create_tickets", summary="x", details=seed_tickets(count=3)["details"]
    )
    assert service.gateway.get_record(gated["id"]).review_group == "engineering-leads"
    # An allowed read may be escalated to a human on purpose.
    escalated = sdk.create_request(
        action="pm:jira_get_issue", summary="x", details={"issueKey": "ENG-2"}
    )
    assert sdk.get_request(escalated["id"]).status == "PENDING"
    assert service.gateway.get_record(escalated["id"]).review_group == "project-managers"


def test_the_cheqpoint_api_needs_an_agent_key(service: Service):
    reviewer = CheqpointClient(api_key=KEYS["lead-alice"], base_url=service.url, timeout=10)
    from cheqpoint import CheqpointError

    with pytest.raises(CheqpointError) as raised:
        reviewer.create_request(action="jira_get_issue", summary="x", details={"issueKey": "ENG-2"})
    assert raised.value.status_code == 403
    stranger = CheqpointClient(api_key="not-a-key-000000000", base_url=service.url, timeout=10)
    with pytest.raises(CheqpointError) as raised:
        stranger.get_request("act_whatever")
    assert raised.value.status_code == 401

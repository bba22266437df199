"""The Cheqpoint client against a protocol-faithful fake served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from jiragate.approvals.cheqpoint import (
    SIGNATURE_HEADER,
    CheqpointClient,
    CheqpointDecision,
    CheqpointStatus,
    sign_webhook,
    verify_webhook_signature,
)
from jiragate.errors import ApprovalBackendError
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import free_port, serve_app

KEY = "cq_test_key"
DETAILS = {
    "projectKey": "ENG",
    "issueCount": 12,
    "issueType": "Bug",
    "priority": "High",
    "labels": ["ai-generated", "error-log-triage"],
    "sprintId": "sprint_42",
}
SUMMARY = "AI requesting creation of 12 tickets from overnight error log scan"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeCheqpoint]]:
    app, state = create_fake_cheqpoint(KEY)
    with serve_app(app) as base_url:
        yield base_url, state


@pytest.fixture
def fake(served) -> FakeCheqpoint:
    _, state = served
    with state.lock:
        state.requests.clear()
        state.calls.clear()
        state.faults.clear()
        state.auto_decide.clear()
    return state


@pytest.fixture
def base_url(served, fake) -> str:
    return served[0]


class Sleeps:
    """Records the retry pauses instead of waiting."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


def client(base_url: str, **options) -> CheqpointClient:
    return CheqpointClient(base_url, options.pop("key", KEY), **options)


def test_create_sends_the_sdk_shape_and_get_returns_a_typed_decision(base_url, fake):
    async def scenario() -> tuple[str, CheqpointDecision, CheqpointDecision]:
        async with client(base_url) as cq:
            request_id = await cq.create_request(
                action="jira_create_tickets",
                summary=SUMMARY,
                details=DETAILS,
                justification="log scan found 12 new errors",
                risk_score=0.7,
                webhook_url="http://127.0.0.1:1/v1/webhooks/cheqpoint",
                trace={"group": "engineering-leads", "action_id": "act_1"},
            )
            before = await cq.get_request(request_id)
            fake.decide(
                request_id,
                "APPROVED",
                modified_details={"issueCount": 4, "priority": "Medium"},
                decision_note="Approving 4 tickets as Medium priority.",
            )
            return request_id, before, await cq.get_request(request_id)

    request_id, before, after = asyncio.run(scenario())
    method, path, headers, body = fake.calls[0]
    assert (method, path) == ("POST", "/api/approvals/request")
    assert headers["x-api-key"] == KEY
    assert body == {
        "apiKey": KEY,
        "action": "jira_create_tickets",
        "riskScore": 0.7,
        "summary": SUMMARY,
        "details": DETAILS,
        "justification": "log scan found 12 new errors",
        "webhookUrl": "http://127.0.0.1:1/v1/webhooks/cheqpoint",
        "trace": {"group": "engineering-leads", "action_id": "act_1"},
    }
    assert before.status is CheqpointStatus.PENDING
    assert not before.decided
    assert after.id == request_id
    assert after.status is CheqpointStatus.APPROVED
    assert after.modified_details == {"issueCount": 4, "priority": "Medium"}
    assert after.decision_note == "Approving 4 tickets as Medium priority."
    assert after.merged_details == {**DETAILS, "issueCount": 4, "priority": "Medium"}
    assert after.decided_at is not None
    assert after.auto_decided is False


def test_a_system_rejection_is_marked_retryable(base_url, fake):
    async def scenario() -> CheqpointDecision:
        async with client(base_url) as cq:
            request_id = await cq.create_request(action="a", summary="s", details={})
            fake.decide(request_id, "REJECTED", reason_code="EXPIRED", retryable=True)
            return await cq.get_request(request_id)

    decision = asyncio.run(scenario())
    assert decision.status is CheqpointStatus.REJECTED
    assert (decision.retryable, decision.decision_reason_code) == (True, "EXPIRED")


def test_request_sync_returns_a_decision_made_while_the_server_waits(base_url, fake):
    async def decide_when_it_arrives() -> None:
        while not fake.requests:
            await asyncio.sleep(0.01)
        fake.decide(fake.only_request_id(), "REJECTED", decision_note="not tonight")

    async def scenario():
        async with client(base_url) as cq:
            result, _ = await asyncio.gather(
                cq.request_sync(
                    action="jira_delete_issues",
                    summary="delete 3",
                    details={"issueKeys": ["ENG-1"]},
                    max_wait_ms=10_000,
                ),
                decide_when_it_arrives(),
            )
            return result

    result = asyncio.run(scenario())
    assert result.status == "rejected"
    assert result.decision_note == "not tonight"
    assert result.approval_id == fake.only_request_id()


def test_request_sync_answers_pending_when_nobody_decides_in_time(base_url, fake):
    async def scenario():
        async with client(base_url) as cq:
            return await cq.request_sync(action="a", summary="s", details={}, max_wait_ms=30)

    result = asyncio.run(scenario())
    assert result.status == "pending"
    assert result.approval_id.startswith("cq_")
    assert fake.calls[0][3]["maxWaitMs"] == 30


def test_request_sync_caps_the_server_wait_at_ten_seconds(base_url, fake):
    fake.auto_decide["jira_create_tickets"] = ("APPROVED", {"issueCount": 4}, "auto: fewer")

    async def scenario():
        async with client(base_url) as cq:
            return await cq.request_sync(
                action="jira_create_tickets", summary=SUMMARY, details=DETAILS, max_wait_ms=60_000
            )

    result = asyncio.run(scenario())
    assert fake.calls[0][3]["maxWaitMs"] == 10_000
    assert (result.status, result.modified_details) == ("approved", {"issueCount": 4})
    assert result.review_url is not None


def test_request_async_passes_the_callback_and_does_not_wait(base_url, fake):
    async def scenario():
        async with client(base_url) as cq:
            return await cq.request_async(
                action="a", summary="s", details={}, callback_url="http://127.0.0.1:1/hook"
            )

    result = asyncio.run(scenario())
    assert result.status == "pending"
    assert fake.calls[0][3]["callbackUrl"] == "http://127.0.0.1:1/hook"
    assert "maxWaitMs" not in fake.calls[0][3]


def test_a_failed_create_is_not_retried(base_url, fake):
    fake.fail_next(500)

    async def scenario() -> None:
        async with client(base_url, sleep=Sleeps()) as cq:
            await cq.create_request(action="a", summary="s", details={})

    with pytest.raises(ApprovalBackendError, match="answered 500") as caught:
        asyncio.run(scenario())
    assert caught.value.status == 500
    assert len(fake.calls) == 1  # a retried POST could open a second approval
    assert fake.requests == {}


def test_get_retries_5xx_with_injected_backoff(base_url, fake):
    sleeps = Sleeps()

    async def scenario() -> CheqpointDecision:
        async with client(base_url, sleep=sleeps, get_retries=2, retry_backoff=0.5) as cq:
            request_id = await cq.create_request(action="a", summary="s", details={})
            fake.fail_next(503, count=2)
            return await cq.get_request(request_id)

    assert asyncio.run(scenario()).status is CheqpointStatus.PENDING
    assert sleeps.pauses == [0.5, 1.0]


def test_get_gives_up_after_its_retries(base_url, fake):
    sleeps = Sleeps()
    fake.fail_next(502, count=5)

    async def scenario() -> None:
        async with client(base_url, sleep=sleeps, get_retries=1) as cq:
            await cq.get_request("cq_x")

    with pytest.raises(ApprovalBackendError) as caught:
        asyncio.run(scenario())
    assert caught.value.status == 502
    assert len(sleeps.pauses) == 1


def test_client_errors_are_not_retried_and_carry_the_servers_message(base_url, fake):
    sleeps = Sleeps()

    async def scenario() -> None:
        async with client(base_url, sleep=sleeps) as cq:
            await cq.get_request("cq_missing")

    with pytest.raises(ApprovalBackendError, match=r"404.*Approval request not found"):
        asyncio.run(scenario())
    assert sleeps.pauses == []


def test_a_wrong_key_is_refused_without_leaking_the_key(base_url, fake):
    async def scenario() -> None:
        async with client(base_url, key="cq_wrong_secret") as cq:
            await cq.create_request(action="a", summary="s", details={})

    with pytest.raises(ApprovalBackendError, match=r"401.*Invalid API key") as caught:
        asyncio.run(scenario())
    assert "cq_wrong_secret" not in str(caught.value)
    assert "cq_wrong_secret" not in repr(client(base_url, key="cq_wrong_secret"))


def test_malformed_json_is_a_backend_error(base_url, fake):
    fake.malformed_next()

    async def scenario() -> None:
        async with client(base_url) as cq:
            await cq.create_request(action="a", summary="s", details={})

    with pytest.raises(ApprovalBackendError, match="malformed JSON"):
        asyncio.run(scenario())


def test_a_slow_answer_times_out_as_a_backend_error(base_url, fake):
    fake.slow_next(1.0)

    async def scenario() -> None:
        async with client(base_url, timeout=0.1) as cq:
            await cq.create_request(action="a", summary="s", details={})

    with pytest.raises(ApprovalBackendError, match="timed out"):
        asyncio.run(scenario())


def test_an_unreachable_server_is_a_backend_error():
    async def scenario() -> None:
        async with client(f"http://127.0.0.1:{free_port()}", get_retries=0) as cq:
            await cq.get_request("cq_1")

    with pytest.raises(ApprovalBackendError, match="unreachable") as caught:
        asyncio.run(scenario())
    assert caught.value.status is None


def test_an_unexpected_answer_shape_is_a_backend_error():
    answers = iter([{"id": "cq_1", "status": "MAYBE", "details": {}}, ["not", "an", "object"]])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    async def scenario(expected: str) -> None:
        async with client("http://127.0.0.1", transport=httpx.MockTransport(handler)) as cq:
            with pytest.raises(ApprovalBackendError, match=expected):
                await cq.get_request("cq_1")

    asyncio.run(scenario("unknown status 'MAYBE'"))
    asyncio.run(scenario("not an object"))


def test_bad_arguments_are_refused_with_a_reason(base_url):
    with pytest.raises(ValueError, match="http"):
        CheqpointClient("app.cheqpoint.co", KEY)
    with pytest.raises(ValueError, match="connection key"):
        CheqpointClient(base_url, "")

    async def scenario() -> None:
        async with client(base_url) as cq:
            with pytest.raises(ValueError, match="risk_score"):
                await cq.create_request(action="a", summary="s", details={}, risk_score=1.5)
            with pytest.raises(ValueError, match="max_wait_ms"):
                await cq.request_sync(action="a", summary="s", details={}, max_wait_ms=-1)

    asyncio.run(scenario())


def test_the_official_sdk_works_against_the_fake(base_url, fake):
    """The fake is only useful if the reference client accepts it unchanged."""
    from cheqpoint import CheqpointClient as SdkClient

    sdk = SdkClient(api_key=KEY, base_url=base_url)
    created = sdk.create_request(action="jira_search", summary="s", details={"jql": "x"})
    fake.decide(created["id"], "APPROVED", modified_details={"jql": "y"}, response_notes="ok")
    status = sdk.get_request(created["id"])
    assert (status.status, status.modified_details, status.response_notes) == (
        "APPROVED",
        {"jql": "y"},
        "ok",
    )
    fake.auto_decide["jira_delete_issues"] = ("REJECTED", None, "never")
    answer = sdk.request_sync(action="jira_delete_issues", summary="s", details={})
    assert (answer["status"], answer["decisionNote"]) == ("rejected", "never")


# --------------------------------------------------------------------------- webhooks

BODY = json.dumps({"id": "cq_1", "status": "APPROVED", "details": {}}).encode()


def test_a_signed_webhook_verifies_in_every_accepted_form():
    signature = sign_webhook("whsec", BODY)
    assert len(signature) == 64
    for header in (signature, f"sha256={signature}", signature.upper(), f"  {signature}\n"):
        assert verify_webhook_signature("whsec", BODY, header), header
    assert verify_webhook_signature(b"whsec", BODY, f"SHA256={signature}")


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        ("other", BODY, "sign"),  # wrong secret
        ("whsec", BODY + b" ", "sign"),  # body changed after signing
        ("whsec", BODY, None),  # no header
        ("whsec", BODY, ""),
        ("", BODY, "sign"),  # no secret configured: never trust
        ("whsec", BODY, "sha1=abc"),
        ("whsec", BODY, "sign-truncated"),
    ],
)
def test_a_webhook_that_does_not_match_is_refused(secret, body, header):
    signature = sign_webhook("whsec", BODY)
    header = {"sign": signature, "sign-truncated": signature[:-2]}.get(header, header)
    assert verify_webhook_signature(secret, body, header) is False


def test_signing_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        sign_webhook("", BODY)
    assert SIGNATURE_HEADER == "x-cheqpoint-signature"

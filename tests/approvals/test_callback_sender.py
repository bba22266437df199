"""The callback sender takes its transport from whoever builds it (no client built per call,
nothing read from the environment), signs every body, and reports a failure as an outcome."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from jiragate.approvals.callbacks import CallbackSender
from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, verify_webhook_signature

SECRET = "callback-secret-for-tests"


def test_a_decision_is_posted_signed_through_the_injected_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async def scenario() -> tuple[bool, str]:
        sender = CallbackSender(SECRET, transport=httpx.MockTransport(answer))
        try:
            return await sender.send(
                "http://127.0.0.1:9/hook", {"id": "act_1", "status": "APPROVED"}
            )
        finally:
            await sender.aclose()

    answered, outcome = asyncio.run(scenario())
    assert (answered, outcome) == (True, "HTTP 204")
    [request] = seen
    body = request.content
    assert json.loads(body) == {"id": "act_1", "status": "APPROVED"}
    assert verify_webhook_signature(SECRET, body, request.headers[SIGNATURE_HEADER])
    assert not verify_webhook_signature("another-secret", body, request.headers[SIGNATURE_HEADER])


def test_an_unreachable_requester_is_an_outcome_not_an_exception() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def scenario() -> tuple[bool, str]:
        sender = CallbackSender(SECRET, transport=httpx.MockTransport(refuse))
        try:
            return await sender.send("http://127.0.0.1:9/hook", {})
        finally:
            await sender.aclose()

    assert asyncio.run(scenario()) == (False, "failed: ConnectError")


def test_a_sender_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        CallbackSender("")
    assert SECRET not in repr(CallbackSender(SECRET))

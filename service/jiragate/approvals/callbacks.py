"""Signed decision callbacks to the requesters of Cheqpoint-compatible approvals.

Like the Jira adapter and the Cheqpoint client, the sender owns one HTTP client built from an
injectable transport (tests and embedders pass an `httpx` transport; `Gateway.build` passes
`callback_transport`), reused for every callback and closed with the gateway. It is also the
seam for later notifications (Slack, Teams, email): a sender per destination kind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook

#: Callbacks are hints (the requester's truth is `GET /api/approvals/{id}`): never wait long.
CALLBACK_TIMEOUT_SECONDS = 5.0


class CallbackSender:
    """POSTs a decision, signed with the webhook secret, to a callback URL."""

    def __init__(
        self,
        webhook_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = CALLBACK_TIMEOUT_SECONDS,
    ) -> None:
        if not webhook_secret:
            raise ValueError("a webhook secret is required to sign callbacks")
        self._secret = webhook_secret
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    def __repr__(self) -> str:  # never show the secret
        return "CallbackSender()"

    async def send(self, url: str, payload: Mapping[str, Any]) -> tuple[bool, str]:
        """(whether an HTTP answer came back, what happened: `HTTP 200`, `failed: …`)."""
        body = json.dumps(dict(payload)).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign_webhook(self._secret, body),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"failed: {type(exc).__name__}"
        return True, f"HTTP {response.status_code}"

    async def aclose(self) -> None:
        await self._http.aclose()

"""Delivery to each channel kind: one attempt, a bounded time, a verdict (sent, retry later,
or give up). Like `CallbackSender`, HTTP goes through one `httpx.AsyncClient` built from an
injectable transport; SMTP through aiosmtplib.

A channel's answer decides whether to retry: a transport error, a timeout, HTTP 429 or 5xx
(or a Slack API `ok: false` with a rate limit) is retried; any other 4xx will not get better
and is recorded as failed at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import httpx

from jiragate.approvals.notify import messages
from jiragate.approvals.notify.messages import Notice
from jiragate.notify_settings import (
    EmailChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)

SIGNATURE_HEADER = "X-Jiragate-Signature"
TIMESTAMP_HEADER = "X-Jiragate-Timestamp"

AnyChannel = SlackChannel | TeamsChannel | EmailChannel | WebhookChannel


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt's verdict."""

    ok: bool
    outcome: str
    retry: bool = False
    #: What a later event needs (Slack with a bot token: the message's channel and ts).
    ref: dict[str, Any] | None = None


def sign_event(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `{timestamp}.{body}`: the timestamp is signed too, so a
    receiver that refuses old timestamps refuses replays."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _http_verdict(response: httpx.Response) -> Attempt:
    status = response.status_code
    if status < 300:
        return Attempt(True, f"HTTP {status}")
    return Attempt(False, f"HTTP {status}", retry=status == 429 or status >= 500)


class Senders:
    """Sends notices; `http` is shared by every HTTP channel (closed with `aclose`)."""

    def __init__(
        self, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout = timeout
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    def __repr__(self) -> str:
        return "Senders()"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        channel: AnyChannel,
        notice: Notice,
        *,
        recipients: list[str],
        ref: Mapping[str, Any] | None = None,
    ) -> Attempt:
        """One attempt; never raises for a channel's failure (it is the verdict)."""
        try:
            if isinstance(channel, SlackChannel):
                return await self._slack(channel, notice, ref)
            if isinstance(channel, TeamsChannel):
                return await self._post_json(
                    channel.secret_value("webhook_url"), messages.teams_card(notice)
                )
            if isinstance(channel, EmailChannel):
                return await self._email(channel, notice, recipients)
            return await self._webhook(channel, notice)
        except httpx.HTTPError as exc:
            return Attempt(False, f"failed: {type(exc).__name__}", retry=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Attempt(False, f"failed: {type(exc).__name__}", retry=True)

    async def post(self, url: str, payload: Mapping[str, Any]) -> Attempt:
        try:
            return await self._post_json(url, payload)
        except httpx.HTTPError as exc:
            return Attempt(False, f"failed: {type(exc).__name__}", retry=True)

    async def _post_json(
        self, url: str | None, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Attempt:
        assert url is not None  # the settings refuse a channel without its URL
        response = await self._http.post(url, json=dict(payload), headers=dict(headers or {}))
        return _http_verdict(response)

    async def _slack(
        self, channel: SlackChannel, notice: Notice, ref: Mapping[str, Any] | None
    ) -> Attempt:
        decided = notice.event == "decision"
        if decided:
            payload = messages.slack_outcome_message(notice, notice.headline)
        else:
            payload = messages.slack_message(notice)
        token = channel.secret_value("bot_token")
        if token is None:  # an incoming webhook: post (a decision is posted as a follow-up)
            return await self._post_json(channel.secret_value("webhook_url"), payload)
        api = channel.api_url.rstrip("/")
        if decided and ref and ref.get("ts"):
            method, body = "chat.update", {**payload, "channel": ref["channel"], "ts": ref["ts"]}
        else:
            method, body = "chat.postMessage", {**payload, "channel": channel.channel}
        response = await self._http.post(
            f"{api}/{method}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        verdict = _http_verdict(response)
        if not verdict.ok:
            return verdict
        try:
            answer = response.json()
        except ValueError:
            return Attempt(False, f"{method}: not JSON", retry=True)
        if not answer.get("ok"):
            error = str(answer.get("error", "unknown"))
            return Attempt(False, f"{method}: {error}", retry=error == "ratelimited")
        where = {"channel": answer.get("channel"), "ts": answer.get("ts")}
        return Attempt(True, f"{method}: ok", ref=where)

    async def _email(self, channel: EmailChannel, notice: Notice, recipients: list[str]) -> Attempt:
        if not recipients:
            return Attempt(False, "no recipients (no group member has an email)")
        smtp = channel.smtp
        message = messages.email_message(notice, sender=channel.sender, recipients=recipients)
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            username=smtp.username,
            password=channel.secret_value("password"),
            cert_bundle=str(smtp.ca_file) if smtp.ca_file else None,
            timeout=self._timeout,
        )
        return Attempt(True, f"mailed {len(recipients)}")

    async def _webhook(self, channel: WebhookChannel, notice: Notice) -> Attempt:
        body = json.dumps(messages.webhook_event(notice), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        secret = channel.secret_value("secret")
        assert secret is not None
        response = await self._http.post(
            channel.url,
            content=body,
            headers={
                "content-type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign_event(secret, timestamp, body),
            },
        )
        return _http_verdict(response)

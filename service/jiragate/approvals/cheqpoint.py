"""An async client for the Cheqpoint approval protocol, plus webhook signing.

Field names and endpoints follow the official SDK (`cheqpoint` 0.2.0, `cheqpoint/client.py`)
and /work/shared/cheqpoint-protocol.md:

- `POST /api/approvals/request` with header `x-api-key` and `apiKey` repeated in the body
  -> `{"id", "status": "PENDING"}`;
- `GET /api/approvals/{id}` -> `{id, status: PENDING|APPROVED|REJECTED, details,
  modifiedDetails, responseNotes, decisionReasonCode, decisionNote, autoDecided,
  autoDecisionRuleName, decidedAt, retryable}`;
- `POST /api/webhooks/inbound` (`maxWaitMs` capped at 10,000) -> lower-case
  `{status: approved|rejected|pending, approvalId (or id), modifiedDetails, decisionNote}`.

Every failure (unreachable, timeout, non-2xx, malformed JSON, unexpected shape) raises
`ApprovalBackendError`, so the gateway fails closed. Only `GET` is retried: repeating a
`POST` could open a second approval request for the same action.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from jiragate.errors import ApprovalBackendError
from jiragate.redaction import register_secrets

DEFAULT_BASE_URL = "https://app.cheqpoint.co"
SIGNATURE_HEADER = "x-cheqpoint-signature"
MAX_SERVER_WAIT_MS = 10_000  # the inbound endpoint never waits longer than this
USER_AGENT = "jiragate-cheqpoint/0.1"


class CheqpointStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class CheqpointDecision:
    """`GET /api/approvals/{id}`, typed (the SDK's `RequestStatus`)."""

    id: str
    status: CheqpointStatus
    details: dict[str, Any]
    modified_details: dict[str, Any] | None = None
    response_notes: str | None = None
    decision_reason_code: str | None = None
    decision_note: str | None = None
    auto_decided: bool = False
    auto_decision_rule_name: str | None = None
    decided_at: str | None = None
    #: True when the *system* rejected it (expiry, SLA breach, no reviewer), not a person.
    retryable: bool = False

    @property
    def decided(self) -> bool:
        return self.status is not CheqpointStatus.PENDING

    @property
    def merged_details(self) -> dict[str, Any]:
        """The original details with the reviewer's edited keys overridden (a partial patch)."""
        return {**self.details, **(self.modified_details or {})}

    @classmethod
    def from_json(cls, data: Any) -> CheqpointDecision:
        if not isinstance(data, Mapping):
            raise ApprovalBackendError(f"Cheqpoint answered {type(data).__name__}, not an object")
        try:
            status = CheqpointStatus(data["status"])
        except (KeyError, ValueError):
            raise ApprovalBackendError(
                f"Cheqpoint answered an unknown status {data.get('status')!r}"
            ) from None
        return cls(
            id=_required_str(data, "id"),
            status=status,
            details=_optional_object(data, "details") or {},
            modified_details=_optional_object(data, "modifiedDetails"),
            response_notes=_optional_str(data, "responseNotes"),
            decision_reason_code=_optional_str(data, "decisionReasonCode"),
            decision_note=_optional_str(data, "decisionNote"),
            auto_decided=bool(data.get("autoDecided", False)),
            auto_decision_rule_name=_optional_str(data, "autoDecisionRuleName"),
            decided_at=_optional_str(data, "decidedAt"),
            retryable=bool(data.get("retryable", False)),
        )


@dataclass(frozen=True, slots=True)
class InboundResult:
    """`POST /api/webhooks/inbound`: a decision, or "pending" if none came in time."""

    status: str  # "approved" | "rejected" | "pending"
    approval_id: str
    modified_details: dict[str, Any] | None = None
    decision_note: str | None = None
    review_url: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> InboundResult:
        if not isinstance(data, Mapping):
            raise ApprovalBackendError(f"Cheqpoint answered {type(data).__name__}, not an object")
        status = data.get("status")
        if status not in ("approved", "rejected", "pending"):
            raise ApprovalBackendError(f"Cheqpoint answered an unknown status {status!r}")
        approval_id = data.get("approvalId") or data.get("id")
        if not isinstance(approval_id, str) or not approval_id:
            raise ApprovalBackendError("Cheqpoint's answer has no approvalId or id")
        return cls(
            status=status,
            approval_id=approval_id,
            modified_details=_optional_object(data, "modifiedDetails"),
            decision_note=_optional_str(data, "decisionNote"),
            review_url=_optional_str(data, "reviewUrl"),
        )


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ApprovalBackendError(f"Cheqpoint's answer has no {key!r} string")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ApprovalBackendError(f"Cheqpoint's {key!r} is {type(value).__name__}, not a string")
    return value


def _optional_object(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise ApprovalBackendError(f"Cheqpoint's {key!r} is {type(value).__name__}, not an object")
    return value


class CheqpointClient:
    """Talks to Cheqpoint (or our Cheqpoint-compatible server). Use `async with` or `aclose`.

    `transport` lets tests and embedders inject an httpx transport; `sleep` is the pause
    between GET retries (injectable so tests never wait).
    """

    def __init__(
        self,
        base_url: str,
        connection_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        get_retries: int = 2,
        retry_backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Cheqpoint base_url must be an http(s) URL, got {base_url!r}")
        if not connection_key:
            raise ValueError("a Cheqpoint connection key is required")
        if timeout <= 0 or get_retries < 0:
            raise ValueError("timeout must be positive and get_retries non-negative")
        self.base_url = base_url.rstrip("/")
        self._key = connection_key
        register_secrets([connection_key])  # masked wherever Cheqpoint echoes it back
        self._timeout = timeout
        self._get_retries = get_retries
        self._retry_backoff = retry_backoff
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"x-api-key": connection_key, "user-agent": USER_AGENT},
        )

    def __repr__(self) -> str:  # never show the key
        return f"CheqpointClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> CheqpointClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def timeout(self) -> float:
        """The longest one call may take: a request being created cannot be older."""
        return self._timeout

    async def aclose(self) -> None:
        await self._http.aclose()

    # ----------------------------------------------------------------- calls

    async def create_request(
        self,
        *,
        action: str,
        summary: str,
        details: Mapping[str, Any],
        justification: str | None = None,
        risk_score: float | None = None,
        webhook_url: str | None = None,
        trace: Mapping[str, Any] | None = None,
    ) -> str:
        """Open an approval request; return its id."""
        if risk_score is not None and not 0.0 <= risk_score <= 1.0:
            raise ValueError(f"risk_score must be between 0.0 and 1.0, got {risk_score}")
        body: dict[str, Any] = {
            "apiKey": self._key,
            "action": action,
            "riskScore": risk_score,
            "summary": summary,
            "details": dict(details),
        }
        if justification is not None:
            body["justification"] = justification
        if webhook_url is not None:
            body["webhookUrl"] = webhook_url
        if trace is not None:
            body["trace"] = dict(trace)
        data = await self._call("POST", "/api/approvals/request", json=body)
        if not isinstance(data, Mapping):
            raise ApprovalBackendError("Cheqpoint answered a non-object to a new request")
        return _required_str(data, "id")

    async def get_request(self, request_id: str) -> CheqpointDecision:
        """The request's current status and, once decided, the decision."""
        if not request_id:
            raise ValueError("request_id must not be empty")
        path = f"/api/approvals/{quote(request_id, safe='')}"
        for attempt in range(self._get_retries + 1):
            try:
                data = await self._call("GET", path)
            except ApprovalBackendError as exc:
                # Unreachable, timed out, 5xx or 429 may pass; a 4xx or a bad answer will not.
                retryable = exc.status is None or exc.status >= 500 or exc.status == 429
                if not retryable or attempt == self._get_retries:
                    raise
                await self._sleep(self._retry_backoff * 2**attempt)
            else:
                return CheqpointDecision.from_json(data)
        raise AssertionError("unreachable")  # pragma: no cover

    async def request_sync(
        self,
        *,
        action: str,
        summary: str,
        details: Mapping[str, Any],
        justification: str | None = None,
        max_wait_ms: int = MAX_SERVER_WAIT_MS,
    ) -> InboundResult:
        """Ask and let the server wait up to `max_wait_ms` (capped at 10,000) for a decision.

        Unlike the SDK this does not poll afterwards: a "pending" answer carries the
        approval id, and the caller keeps polling `get_request` or waits for the webhook.
        """
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must not be negative, got {max_wait_ms}")
        wait_ms = min(max_wait_ms, MAX_SERVER_WAIT_MS)
        body: dict[str, Any] = {
            "action": action,
            "summary": summary,
            "details": dict(details),
            "maxWaitMs": wait_ms,
        }
        if justification is not None:
            body["justification"] = justification
        data = await self._call(
            "POST", "/api/webhooks/inbound", json=body, timeout=self._timeout + wait_ms / 1000
        )
        return InboundResult.from_json(data)

    async def request_async(
        self,
        *,
        action: str,
        summary: str,
        details: Mapping[str, Any],
        justification: str | None = None,
        callback_url: str | None = None,
    ) -> InboundResult:
        """Ask without waiting; the decision is pushed to `callback_url` (or polled)."""
        body: dict[str, Any] = {"action": action, "summary": summary, "details": dict(details)}
        if justification is not None:
            body["justification"] = justification
        if callback_url is not None:
            body["callbackUrl"] = callback_url
        return InboundResult.from_json(await self._call("POST", "/api/webhooks/inbound", json=body))

    # ----------------------------------------------------------------- transport

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        where = f"{method} {self.base_url}{path}"
        try:
            response = await self._http.request(
                method, path, json=json, timeout=timeout if timeout is not None else self._timeout
            )
        except httpx.TimeoutException as exc:
            raise ApprovalBackendError(f"Cheqpoint timed out: {where}") from exc
        except httpx.HTTPError as exc:
            raise ApprovalBackendError(
                f"Cheqpoint is unreachable: {where}: {type(exc).__name__}"
            ) from exc
        if not response.is_success:
            raise ApprovalBackendError(
                f"Cheqpoint answered {response.status_code} to {where}: {_error_message(response)}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ApprovalBackendError(f"Cheqpoint answered malformed JSON to {where}") from exc


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.reason_phrase


# --------------------------------------------------------------------------- webhooks

_SIGNATURE = re.compile(r"(?:sha256=)?([0-9a-f]{64})", re.IGNORECASE)


def _key_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_webhook(secret: str | bytes, body: bytes) -> str:
    """The `x-cheqpoint-signature` value for `body`: HMAC-SHA256, lower-case hex."""
    if not secret:
        raise ValueError("a webhook secret is required to sign")
    return hmac.new(_key_bytes(secret), body, hashlib.sha256).hexdigest()


def verify_webhook_signature(
    secret: str | bytes, body_bytes: bytes, signature_header: str | None
) -> bool:
    """True only if `signature_header` is the HMAC-SHA256 of the exact raw body.

    Accepted: 64 hex digits (either case), optionally prefixed `sha256=`, surrounding
    whitespace ignored. A missing header, an empty secret or any other shape is False
    (fail closed). The comparison is constant-time.
    """
    if not secret or not signature_header:
        return False
    match = _SIGNATURE.fullmatch(signature_header.strip())
    if match is None:
        return False
    expected = sign_webhook(secret, body_bytes)
    return hmac.compare_digest(expected, match.group(1).lower())

"""The HTTP layer to Jira: auth, JSON, Jira error bodies, and retries that never duplicate.

Retry rules (docs/jira.md, "Retries"):

- **429** is retried for every method: Jira refused the call before doing anything. The wait
  is `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset`, else backoff.
- **503** and other **5xx**, timeouts and dropped connections are retried for idempotent
  calls (GET, PUT, DELETE, or a POST the caller marks idempotent). A 503's `Retry-After` is
  honoured.
- A **non-idempotent POST** (create, comment, transition) is never blindly resent: after an
  ambiguous failure the caller's `recover` callback checks whether the lost POST took effect.
  If it did, its answer stands in for the lost one. If it did not, the POST is sent again
  only when Jira provably did not act on it: the connection was never made, or Jira answered
  500 or 503. After a timeout, a dropped connection, a 502 or a 504, Jira may still be working
  on the request (or not have indexed it yet), so "not found" proves nothing: the failure is
  raised as `JiraTransportError` with `outcome_unknown = True`, and the caller retries the
  whole action later, when a search for its markers can be trusted (the gateway defers it).
  Without a `recover` callback the same holds: a 500/503 or a refused connection is raised as
  is (Jira did nothing), anything else as an unknown outcome.
- **Any write** (PUT, DELETE, POST) whose last try got a 502, a 504, a timeout or a dropped
  connection ends in `JiraTransportError(outcome_unknown=True)`, never in a refusal: Jira may
  have applied it. Only GETs raise the last `JiraHTTPError` after exhausting their retries.
- **Waits Jira asks for are capped**: a `Retry-After` (or `X-RateLimit-Reset`) longer than
  `max_retry_wait` is not slept; the call raises `JiraDeferredError(retry_after=...)` at once
  and the gateway runs the action again after that long, so no worker blocks for an hour.
- Backoff otherwise: `min(backoff_cap, backoff_base * 2**attempt)`, scaled by a random factor
  in [0.5, 1] ("equal jitter") so that replicas do not retry in lockstep.

Exhausted retries raise `JiraTransportError` (no answer) or the last `JiraHTTPError`.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from jiragate.errors import JiraDeferredError, JiraError, JiraHTTPError, JiraTransportError
from jiragate.jira.config import JiraConfig
from jiragate.jira.transport import AiohttpTransport, proxy_mounts
from jiragate.redaction import register_secrets

#: Called before every attempt with (method, path, query, json body) — tests capture requests.
RequestHook = Callable[[str, str, Mapping[str, Any] | None, Any], None]
#: Checks whether a lost non-idempotent request took effect: its stand-in answer, or None.
Recover = Callable[[], Awaitable[Any | None]]
Sleep = Callable[[float], Awaitable[None]]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: What of Jira's answer the proxy hands a client: the body's type, paging and rate limits.
#: Never Set-Cookie (Jira's session for our service account), never hop-by-hop headers.
PASSED_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "link",
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-nearlimit",
        "ratelimit-policy",
        "ratelimit",
        "x-arequestid",
    }
)
#: Passed too on a redirect (3xx) only: where Jira sends the client, e.g. Jira Cloud's
#: attachment download to Atlassian's media store. The proxy rewrites one on Jira's own
#: origin to its own (proxy/answers.py, `relocated`); this client never follows it.
REDIRECT_HEADERS = frozenset({"location"})


@dataclass(frozen=True, slots=True)
class RawResponse:
    """Jira's answer to a forwarded request: status, the headers a client may see, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class ClientStats:
    """Counters for metrics: HTTP attempts, retries among them, and failed attempts."""

    calls: int = 0
    retries: int = 0
    errors: int = 0
    recoveries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "retries": self.retries,
            "errors": self.errors,
            "recoveries": self.recoveries,
        }


@dataclass(frozen=True, slots=True)
class FileUpload:
    """One file for a multipart upload (Jira's attachments)."""

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"

    @property
    def parts(self) -> list[dict[str, Any]]:
        """What the request hook sees instead of the bytes: the part as Jira's spec describes
        it (`MultipartFile`)."""
        return [
            {
                "name": "file",
                "originalFilename": self.filename,
                "contentType": self.media_type,
                "size": len(self.content),
            }
        ]


def auth_headers(config: JiraConfig) -> dict[str, str]:
    """Cloud: HTTP Basic email:api_token. Data Center: Bearer personal access token.

    Per Atlassian: "Basic auth for REST APIs" (Cloud, API tokens) and "Using Personal Access
    Tokens" (Data Center 8.14+).
    """
    if config.is_cloud:
        raw = f"{config.email}:{config.api_token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    return {"Authorization": f"Bearer {config.personal_access_token}"}


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def parse_rate_limit_reset(value: str | None, *, now: float) -> float | None:
    """Seconds until an `X-RateLimit-Reset` ISO 8601 timestamp, or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class JiraClient:
    """An async JSON client for one Jira site. Build one per adapter; close it when done."""

    def __init__(
        self,
        config: JiraConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        on_request: RequestHook | None = None,
    ) -> None:
        self.config = config
        self.stats = ClientStats()
        self.on_request = on_request
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        credentials = auth_headers(config)
        # Whatever Jira (or a proxy before it) echoes of these is masked in our errors and logs.
        credential = credentials["Authorization"].partition(" ")[2]
        register_secrets([config.api_token or "", config.personal_access_token or "", credential])
        mounts = None
        if transport is None:
            # aiohttp under httpx (jira/transport.py): half the CPU per call of httpx's own
            # transport. httpx ignores env proxies once handed a transport, so they come along.
            transport, mounts = AiohttpTransport(), proxy_mounts()
        self._http = httpx.AsyncClient(
            base_url=config.base,
            transport=transport,
            mounts=mounts,
            timeout=config.timeout,
            headers={
                **credentials,
                "Accept": "application/json",
                "User-Agent": "jiragate",
            },
            follow_redirects=False,
        )
        # Requests are built by the client (base URL, query, default headers) but sent on the
        # Jira site's transport directly (`_send`): httpx's `send` (auth flow, redirect loop,
        # hooks, cookie jar) did nothing for us and cost ~0.25 ms of CPU per call, as much
        # as a third of the whole call on top of the transport. The site is one URL, so its
        # transport (a proxy's, if the environment names one for it) is chosen once.
        self._transport = self._http._transport_for_url(httpx.URL(config.base))

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.config.base!r}, flavour={self.config.flavour!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def pause(self, seconds: float) -> None:
        """Wait between polls of a long-running Jira task (a bulk move), through the same
        sleep hook as retries: tests record the waits instead of sleeping."""
        await self._sleep(seconds)

    async def __aenter__(self) -> JiraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ verbs

    async def get(
        self,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.request("GET", path, query=query, headers=headers)

    async def put(self, path: str, body: Any, *, query: Mapping[str, Any] | None = None) -> Any:
        return await self.request("PUT", path, query=query, body=body)

    async def delete(self, path: str, *, query: Mapping[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, query=query)

    async def post(
        self,
        path: str,
        body: Any,
        *,
        query: Mapping[str, Any] | None = None,
        idempotent: bool = False,
        recover: Recover | None = None,
        ok_statuses: Collection[int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.request(
            "POST",
            path,
            query=query,
            body=body,
            idempotent=idempotent,
            recover=recover,
            ok_statuses=ok_statuses,
            headers=headers,
        )

    async def post_file(
        self,
        path: str,
        upload: FileUpload,
        *,
        recover: Recover | None = None,
    ) -> Any:
        """POST one file as `multipart/form-data` (field `file`), as Jira's attachment
        endpoint takes it, with the `X-Atlassian-Token: no-check` its XSRF check asks for.
        Not idempotent: a lost answer is checked with `recover`, like any other POST."""
        return await self.request("POST", path, upload=upload, recover=recover)

    # ------------------------------------------------------------------ the one request loop

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        recover: Recover | None = None,
        ok_statuses: Collection[int] = (),
        upload: FileUpload | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one logical request, retrying as the module docstring says; return its JSON.

        `ok_statuses` are error statuses whose body the caller reads itself instead of an
        exception (a bulk create's 400 lists which elements failed). `headers` are sent with
        this request only, beside the client's own (Jira Service Management's
        `X-ExperimentalApi: opt-in`); they never replace the credentials.
        """
        extra = {
            name: value
            for name, value in (headers or {}).items()
            if name.lower() != "authorization"
        }
        method = method.upper()
        safe_to_resend = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        params = _clean_query(query)
        attempt = 0
        while True:
            if self.on_request is not None:
                self.on_request(method, path, params, body if upload is None else upload.parts)
            self.stats.calls += 1
            try:
                if upload is None:
                    response = await self._send(
                        method,
                        path,
                        params=params,
                        json=body if body is not None else None,
                        headers=extra or None,
                    )
                else:
                    response = await self._send(
                        method,
                        path,
                        params=params,
                        files={"file": (upload.filename, upload.content, upload.media_type)},
                        headers={**extra, "X-Atlassian-Token": "no-check"},
                    )
            except httpx.TransportError as exc:
                self.stats.errors += 1
                failure: JiraHTTPError | JiraTransportError = JiraTransportError(
                    f"no answer from Jira to {method} {path}: {type(exc).__name__}"
                )
                wait = None
                never_sent = isinstance(exc, _NEVER_SENT)
            else:
                if response.status_code < 400 or response.status_code in ok_statuses:
                    return _json_of(response)
                self.stats.errors += 1
                failure = _http_error(response, method, path)
                if response.status_code == 429:
                    if attempt >= self.config.max_retries:
                        raise failure
                    await self._wait(attempt, self._server_wait(response))
                    attempt += 1
                    continue
                if response.status_code < 500:
                    raise failure
                wait = self._server_wait(response) if response.status_code == 503 else None
                never_sent = response.status_code in _NOT_APPLIED_STATUSES
            # Ambiguous: a 5xx or no answer. The request may or may not have taken effect.
            if safe_to_resend:
                if attempt >= self.config.max_retries:
                    raise _unknown_if_write(method, path, failure, never_sent)
                await self._wait(attempt, wait)
                attempt += 1
                continue
            if recover is None:
                raise _unknown_if_write(method, path, failure, never_sent)
            # Give Jira (and its search index) time to settle before asking what happened.
            await self._wait(attempt, wait)
            self.stats.recoveries += 1
            try:
                recovered = await recover()
            except JiraError as exc:
                # Whether the request took effect is now unknown: never report it as refused.
                raise JiraTransportError(
                    f"{method} {path} got no usable answer ({failure}), and checking whether it "
                    f"took effect failed: {exc}"
                ) from exc
            if recovered is not None:
                return recovered
            if not never_sent:
                # Not found yet is not "not created": Jira may still be working on it.
                raise JiraTransportError(
                    f"{method} {path}: {failure}; it may still take effect, so it was not "
                    "sent again (the action is retried later, after checking its markers)",
                    outcome_unknown=True,
                )
            if attempt >= self.config.max_retries:
                raise failure
            attempt += 1

    async def forward(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """One request as the proxy received it (docs/proxy.md), sent once with our own
        credentials; Jira's answer, whatever its status, with only the headers a client may
        see (`PASSED_RESPONSE_HEADERS`: no cookies, no hop-by-hop headers; a redirect's
        `Location` too). A redirect is never followed: following it would send the service
        account's credentials wherever Jira (or whoever answers for it) points.

        No retries: the agent's client does its own, and sees Jira's 429 and Retry-After.
        A write whose answer is lost (timeout, drop, 502, 504) is an unknown outcome."""
        method = method.upper()
        if self.on_request is not None:
            self.on_request(method, path, dict(query), json.loads(body) if body else None)
        self.stats.calls += 1
        sent = {"Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        try:
            response = await self._send(
                method, path, params=list(query), content=body, headers=sent
            )
        except httpx.TransportError as exc:
            self.stats.errors += 1
            raise JiraTransportError(
                f"no answer from Jira to {method} {path}: {type(exc).__name__}",
                outcome_unknown=method not in _READ_METHODS and not isinstance(exc, _NEVER_SENT),
            ) from None
        if response.status_code >= 400:
            self.stats.errors += 1
        if method not in _READ_METHODS and response.status_code in (502, 504):
            raise _unknown_if_write(method, path, _http_error(response, method, path), False)
        names = PASSED_RESPONSE_HEADERS
        if 300 <= response.status_code < 400:
            names = names | REDIRECT_HEADERS
        passed = tuple(
            (name, value) for name, value in response.headers.items() if name.lower() in names
        )
        return RawResponse(response.status_code, passed, response.content)

    async def _send(self, method: str, path: str, **parts: Any) -> httpx.Response:
        """One request on the site's transport, its body read. No cookies are kept: every
        call carries our credentials, so Jira's session cookies would only tie the service
        account's calls together."""
        request = self._http.build_request(method, path, **parts)
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _server_wait(self, response: httpx.Response) -> float | None:
        now = self._clock()
        wait = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if wait is None:
            wait = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"), now=now)
        return wait

    async def _wait(self, attempt: int, server_wait: float | None) -> None:
        if server_wait is not None and server_wait > self.config.max_retry_wait:
            # Blocking a worker for Jira's whole wait would stall every other action.
            raise JiraDeferredError(
                f"Jira asked to wait {server_wait:.0f} s before trying again, more than the "
                f"{self.config.max_retry_wait:.0f} s a call may wait; the action is deferred",
                retry_after=server_wait,
            )
        self.stats.retries += 1
        await self._sleep(server_wait if server_wait is not None else self.backoff(attempt))

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with equal jitter: in [d/2, d], d = min(cap, base*2^n)."""
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * (2**attempt))
        return ceiling * (0.5 + 0.5 * self._rng.random())


# Transport failures that happen before the request reached Jira: safe to send again.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Jira's own refusals to act (an internal error rolls back; unavailable means not started).
_NOT_APPLIED_STATUSES = frozenset({500, 503})


def _unknown_if_write(
    method: str, path: str, failure: JiraHTTPError | JiraTransportError, never_sent: bool
) -> JiraHTTPError | JiraTransportError:
    """What a write's last ambiguous failure means: unknown unless Jira provably did nothing."""
    if method in _READ_METHODS or never_sent:
        return failure
    return JiraTransportError(
        f"{method} {path}: {failure}; Jira may have applied it, so the outcome is unknown",
        outcome_unknown=True,
    )


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _clean_query(query: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop None values, render booleans as Jira expects (true/false), join lists with commas."""
    if not query:
        return None
    out: dict[str, str] = {}
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(item) for item in value)
        else:
            out[key] = str(value)
    return out or None


def _json_of(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise JiraTransportError(
            f"Jira answered {response.status_code} to {response.request.method} "
            f"{response.request.url.path} with a body that is not JSON"
        ) from None


def _http_error(response: httpx.Response, method: str, path: str) -> JiraHTTPError:
    """Jira's `{errorMessages, errors}` body as an exception; Jira Service Management's
    `{errorMessage, i18nErrorMessage}` (the servicedeskapi's error shape) as its message;
    any other body as one message."""
    messages: list[str] = []
    errors: dict[str, str] = {}
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        raw_messages = payload.get("errorMessages") or []
        if isinstance(raw_messages, list):
            messages = [str(m) for m in raw_messages]
        raw_errors = payload.get("errors") or {}
        if isinstance(raw_errors, dict):
            errors = {str(k): str(v) for k, v in raw_errors.items()}
        elif isinstance(raw_errors, list):
            # The bulk operations' shape (`BulkOperationErrorResponse`): [{"message": ...}].
            messages += [
                str(item["message"])
                for item in raw_errors
                if isinstance(item, dict) and isinstance(item.get("message"), str)
            ]
        if not messages and not errors and isinstance(payload.get("errorMessage"), str):
            messages = [payload["errorMessage"]]  # servicedeskapi: one message, no field map
        if not messages and not errors and isinstance(payload.get("message"), str):
            messages = [payload["message"]]
    elif response.text.strip():
        messages = [response.text.strip()[:500]]
    return JiraHTTPError(
        response.status_code, method=method, path=path, error_messages=messages, errors=errors
    )

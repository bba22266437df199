"""The sandbox's front door, as one ASGI middleware: log, authenticate, inject faults, validate.

Order per call: the request is logged (method, path, body and the auth *scheme*, never the
credentials); a missing or wrong credential answers 401; an armed fault fires (status, delay,
drop before/after); the body is validated against Atlassian's spec (when enabled); then the
route runs. `/_sandbox/...` control calls skip all of it.

Dropping a connection: uvicorn answers 500 when an app raises *before* `http.response.start`,
and closes the socket when it raises *after* it. So a drop sends a response start that promises
a body (Content-Length) and then raises: the client gets headers and then EOF, which httpx
reports as `RemoteProtocolError` — a transport error, never a usable answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiragate.jira import spec
from jiragate.jira.sandbox.faults import Fault
from jiragate.jira.sandbox.render import bulk_error, bulk_operation_body
from jiragate.jira.sandbox.state import LoggedRequest, SandboxState

CONTROL_PREFIX = "/_sandbox"
#: Cloud's media store (sandbox/media.py), asked for no Jira login.
MEDIA_PREFIX = "/_media"
_UNAUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


class ConnectionDropped(Exception):
    """Raised after a promised-but-unsent body so that uvicorn closes the socket."""


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, *, state: SandboxState, validate_requests: bool) -> None:
        self.app = app
        self.state = state
        self.validate_requests = validate_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(MEDIA_PREFIX):
            # Cloud's media store (sandbox/media.py): another origin, no Jira login; the
            # signed URL is its only check. Logged with the scheme of any credential sent,
            # without the query (the token).
            header = _header(scope, b"authorization")
            scheme = header.partition(" ")[0].lower() if header else None
            entry = LoggedRequest(scope["method"], scope["path"], "", None, scheme or None)
            self.state.log(entry)
            await self.app(scope, receive, _StatusRecorder(send, entry).send)
            return
        if not self.state.base_url:
            self.state.base_url = _base_url(scope)
        _lenient_scope(scope)
        method: str = scope["method"]
        path: str = scope["path"]
        raw = await _read_body(receive)
        query_text = scope.get("query_string", b"").decode("latin-1")
        # A multipart upload (attachments) is read by its route; everything else is JSON.
        multipart = (_header(scope, b"content-type") or "").startswith("multipart/form-data")
        body, body_error = (None, None) if multipart else _decode_json(raw)
        if body_error is None:
            body = _lenient_body(path, body)
        scheme, login, auth_ok = self._authenticate(scope)
        entry = LoggedRequest(
            method, path, query_text, body if body_error is None else None, scheme
        )
        self.state.log(entry)
        sender = _StatusRecorder(send, entry)

        if not auth_ok:
            await _send_json(sender, 401, _error([_UNAUTHENTICATED]))
            return
        scope["sandbox.login"] = login
        scope["sandbox.body"] = body

        fault = self.state.take_fault(method, path, kinds={"status", "delay", "drop"})
        if fault is not None:
            entry.fault = fault.kind if fault.kind != "drop" else f"drop-{fault.when}"
            if fault.kind == "status":
                await _send_json(sender, fault.status, _fault_body(fault), _fault_headers(fault))
                return
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault.when == "before":
                await _drop(sender)
            else:
                await self.app(scope, _replay(raw), _Swallow(entry).send)
                await _drop(send)

        if self.state.profile == "datacenter" and path.startswith("/rest/api/3/"):
            # Data Center and Server have no v3.
            await _send_json(sender, 404, _error([f"Null or unsupported resource: {path}"]))
            return
        if body_error is not None:
            await _send_json(sender, 400, _error([body_error]))
            return
        if self.validate_requests and not multipart and spec.is_known_path(method, path):
            problems = spec.validate_request(method, path, query=parse_qs(query_text), body=body)
            if problems:
                if path.endswith("/bulk/issues/move"):
                    await _send_json(sender, 400, bulk_operation_body(problems))
                    return
                if path.startswith("/rest/servicedeskapi/"):
                    # JSM answers in its own shape: one errorMessage, no field map.
                    shaped = {"errorMessage": "; ".join(problems), "i18nErrorMessage": None}
                elif path.endswith("/issue/bulk"):
                    shaped = bulk_error(problems)
                else:
                    shaped = _error(problems)
                await _send_json(sender, 400, shaped)
                return
        await self.app(scope, _replay(raw), sender.send)

    def _authenticate(self, scope: Scope) -> tuple[str | None, str | None, bool]:
        """(scheme, login, accepted). The login is a Basic email or None for a bearer PAT."""
        header = _header(scope, b"authorization")
        if not header:
            return None, None, False
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return "basic", None, False
            email, sep, token = decoded.partition(":")
            if not sep or not email or not token:
                return "basic", None, False
            expected = self.state.basic_auth
            return "basic", email, expected is None or expected == (email, token)
        if scheme.lower() == "bearer":
            if not credential:
                return "bearer", None, False
            expected_token = self.state.bearer_token
            return "bearer", None, expected_token is None or expected_token == credential
        return scheme.lower(), None, False


class _StatusRecorder:
    def __init__(self, send: Send, entry: LoggedRequest) -> None:
        self._send = send
        self._entry = entry

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._entry.status = int(message["status"])
        await self._send(message)

    async def __call__(self, message: Message) -> None:
        await self.send(message)


class _Swallow:
    """Lets the route apply its change while the client never sees the answer."""

    def __init__(self, entry: LoggedRequest) -> None:
        self._entry = entry

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._entry.status = int(message["status"])


async def _drop(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    raise ConnectionDropped("sandbox fault: connection dropped on purpose")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(raw: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # like a client that keeps the connection open
        return {"type": "http.disconnect"}  # pragma: no cover

    return receive


def _decode_json(raw: bytes) -> tuple[Any, str | None]:
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"The request body is not valid JSON: {exc}"


LATEST = "/rest/api/latest/"


def _lenient_scope(scope: Scope) -> None:
    """What Jira accepts that its spec does not say: `/rest/api/latest/` is v2 (pycontribs
    `jira` uses it), and booleans in the query are case-insensitive (`validateQuery=True`,
    `deleteSubtasks=False`, as Java's Boolean.parseBoolean reads them)."""
    path: str = scope["path"]
    if path.startswith(LATEST):
        scope["path"] = "/rest/api/2/" + path.removeprefix(LATEST)
        scope["raw_path"] = scope["path"].encode("latin-1")
    query = scope.get("query_string", b"")
    if query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        fixed = [(k, v.lower() if v.lower() in {"true", "false"} else v) for k, v in pairs]
        if fixed != pairs:
            scope["query_string"] = urlencode(fixed).encode("latin-1")


def _lenient_body(path: str, body: Any) -> Any:
    """Jira takes an issue link's optional `"comment": null` (pycontribs sends it) as no
    comment, and a transition id as a number (`{"id": 11}`). Elsewhere a null stays
    meaningful (`{"accountId": null}` unassigns)."""
    if not isinstance(body, dict):
        return body
    if path.endswith("/issueLink") and body.get("comment", ...) is None:
        body = {k: v for k, v in body.items() if k != "comment"}
    transition = body.get("transition")
    if path.endswith("/transitions") and isinstance(transition, dict):
        ident = transition.get("id")
        if isinstance(ident, int) and not isinstance(ident, bool):
            body["transition"] = {**transition, "id": str(ident)}
    return body


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _base_url(scope: Scope) -> str:
    host = _header(scope, b"host")
    if host:
        return f"{scope.get('scheme', 'http')}://{host}"
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"{scope.get('scheme', 'http')}://{server[0]}:{server[1]}"


def _error(messages: list[str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"errorMessages": messages, "errors": errors or {}}


def _fault_body(fault: Fault) -> dict[str, Any]:
    reason = {
        429: "Rate limit exceeded.",
        500: "Internal server error.",
        503: "Service unavailable.",
    }.get(fault.status, "The server could not answer.")
    return _error([f"{reason} (sandbox fault)"])


def _fault_headers(fault: Fault) -> dict[str, str]:
    headers = {"X-Sandbox-Fault": fault.kind}
    if fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    if fault.status == 429:
        # The rate-limit headers Atlassian documents alongside 429:
        # https://developer.atlassian.com/cloud/jira/platform/rate-limiting/
        headers.update({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"})
        headers["RateLimit-Reason"] = "jira-burst-based"
    return headers


async def _send_json(
    send: Any, status: int, body: object, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode("utf-8")
    raw_headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})

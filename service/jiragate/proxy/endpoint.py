"""The Jira REST proxy's one endpoint: `/rest/...` as Jira answers it (docs/proxy.md).

A request is checked in the order that keeps refusals cheap and side-effect free: repeated
headers, the path (normalised or refused), the agent key, the body; then it becomes an
action (a mapped catalog action, else a generic one), is submitted through the gateway like
any /v1/actions request — with a key derived from the canonical request, so sending the
same request again is that one action — and answered the way Jira would: Jira's own answer
when it ran, a Jira-shaped error naming the rule, review group and action otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from jiragate.api.deps import BodyError, CredentialRefused, identify, parse_json
from jiragate.catalog import ActionKind, get_spec
from jiragate.catalog.rest import RestPath, RestPathError, parse_rest_path, project_of_path
from jiragate.errors import (
    ActionError,
    IdempotencyConflictError,
    InvalidDetailsError,
    JiraError,
    StoreError,
)
from jiragate.gateway import Gateway
from jiragate.gateway.execution import ForwardRequest
from jiragate.gateway.records import ActionRecord, ActionStatus
from jiragate.proxy.answers import (
    DENIED_STATUS,
    PENDING_STATUS,
    jira_error,
    jsm_shaped,
    raw_answer,
    relinked,
    relocated,
)
from jiragate.proxy.credentials import SINGLE_HEADERS, ProxyCredentialError, presented_key
from jiragate.proxy.mapping import Chosen, Incoming, MappingError, Row, action_of
from jiragate.proxy.table import row_for
from jiragate.redaction import redact_text

log = logging.getLogger("jiragate.proxy")

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
_READ_METHODS = ("GET", "HEAD")
_WAITING = (ActionStatus.PENDING_APPROVAL, ActionStatus.APPROVED, ActionStatus.EXECUTING)
_RAN = (ActionStatus.EXECUTED, ActionStatus.PARTIALLY_EXECUTED)
#: The key space of proxied requests in the actions table's (agent, idempotency_key).
KEY_PREFIX = "proxy:"
#: Sent on every forwarded Jira Service Management call, as the catalog's handlers send it
#: (jira/handlers/service_desk.py): JSM's experimental operations need it, others ignore it.
JSM_PREFIX = "/rest/servicedeskapi/"
JSM_HEADERS = {"X-ExperimentalApi": "opt-in"}


class Refused(Exception):
    """Refused before any decision: answered as Jira would, audited, counted."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason  # the metric label: a small fixed set
        super().__init__(message)


async def proxy_endpoint(request: Request) -> Response:
    response = await _answered(request)
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return jsm_shaped(response) if raw.startswith(JSM_PREFIX.encode()) else response


async def _answered(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        return await _handle(request, gateway)
    except Refused as refused:
        gateway.metrics.proxy_refusals.labels(refused.reason).inc()
        await run_in_threadpool(_audit_refusal, gateway, request, refused)
        headers = {"WWW-Authenticate": 'Basic realm="jiragate"'} if refused.status == 401 else {}
        return jira_error(refused.status, [str(refused)], headers=headers)
    except StoreError as exc:
        return jira_error(503, [f"Jiragate's database is unavailable: {exc}"])


def _audit_refusal(gateway: Gateway, request: Request, refused: Refused) -> None:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    gateway.note_event(
        action_id=None,
        actor="anonymous",
        type="proxy.refused",
        data={
            "method": request.method,
            "path": raw.decode("latin-1")[:300],
            "reason": refused.reason,
            "message": str(refused)[:500],
        },
    )


async def _handle(request: Request, gateway: Gateway) -> Response:
    _single_headers(request)
    rest = _path(request)
    agent = _agent(gateway, request)
    body = await _body(request, gateway)
    query = tuple(
        parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    )
    incoming = Incoming(
        method=request.method,
        rest=rest,
        params=_params(rest),
        query=query,
        body=body,
        base_url=_base_url(request, gateway),
    )
    row = row_for(request.method, rest.template)
    key = KEY_PREFIX + _canonical_key(incoming, request.headers.get("idempotency-key"))
    writes = request.method not in _READ_METHODS if row is None else not _reads(row.action)
    if writes:
        # A write sent again is the action it already is: its outcome, even when Jira has
        # moved on since (a transition's id means nothing from the new status).
        existing = await run_in_threadpool(gateway.find_submitted, agent=agent, idempotency_key=key)
        if existing is not None:
            return await _settled(row, incoming, existing, gateway, request)
    try:
        envelope = await _envelope(row, incoming, gateway)
    except MappingError as exc:
        reason = "not_found" if exc.status == 404 else "unmappable"
        raise Refused(exc.status, reason, str(exc)) from None
    except JiraError as exc:
        return jira_error(502, [f"Jiragate could not read Jira to classify this request: {exc}"])
    action = str(envelope["action"])
    is_read = _reads(action)
    forward = _forward(row, incoming, envelope) if is_read else None
    try:
        submission = await gateway.submit(
            envelope, agent=agent, idempotency_key=key, forward=forward
        )
    except InvalidDetailsError as exc:
        return jira_error(400, [str(exc)], {v.pointer: v.message for v in exc.violations})
    except ActionError as exc:
        return jira_error(400, [str(exc)])
    except IdempotencyConflictError:
        return jira_error(409, ["this request's key is taken by another action of yours"])
    record = submission.record
    answer = submission.answer
    if record.status in _WAITING:
        record = await _wait(gateway, record)
        if is_read and record.status is ActionStatus.EXECUTED and answer is None:
            # Approved while we waited: Jira's own answer, the way a resent request gets it.
            again = await gateway.submit(
                envelope, agent=agent, idempotency_key=key, forward=forward
            )
            answer = again.answer
    if answer is not None:
        body, headers = answer.body, answer.headers
        if _is_json(headers):  # a file's bytes (an attachment) pass untouched
            body = _relinked(body, gateway, incoming.base_url)
        if answer.status >= 400:
            # An error page may echo what it was sent: our service account's credentials.
            body = redact_text(body.decode("utf-8", "replace")).encode("utf-8")
        if 300 <= answer.status < 400:  # e.g. Jira Cloud's download, to its media store
            headers = _redirected(headers, gateway, incoming)
        return raw_answer(answer.status, headers, body)
    return await _answer(row, incoming, record, gateway, request)


def _relinked(body: bytes, gateway: Gateway, base_url: str) -> bytes:
    return relinked(body, gateway.settings.jira.url, base_url)


def _redirected(
    headers: tuple[tuple[str, str], ...], gateway: Gateway, incoming: Incoming
) -> tuple[tuple[str, str], ...]:
    """A redirect's headers with its `Location` as `relocated` says: Jira's own site
    rewritten to Jiragate's, another origin unchanged, anything else dropped."""
    upstream = gateway.settings.jira.url
    passed: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() == "location":
            sent_to = upstream.rstrip("/") + incoming.rest.path
            moved = relocated(value, upstream=upstream, sent_to=sent_to, base_url=incoming.base_url)
            if moved is None:
                log.warning("Jira redirected %s off its site; the Location is dropped", sent_to)
                continue
            value = moved
        passed.append((name, value))
    return tuple(passed)


def _is_json(headers: tuple[tuple[str, str], ...]) -> bool:
    """Whether Jira's answer is JSON (whose links are relinked), not a file's bytes."""
    media = next((v for k, v in headers if k.lower() == "content-type"), "application/json")
    return "json" in media.split(";", 1)[0].strip().lower()


def _reads(action: str) -> bool:
    return get_spec(action).kind is ActionKind.READ  # POST /search is a read


async def _wait(gateway: Gateway, record: ActionRecord) -> ActionRecord:
    wait = min(gateway.settings.proxy_wait_seconds, gateway.settings.max_wait_seconds)
    return await gateway.wait_for_decision(record.id, wait) if wait > 0 else record


async def _settled(
    row: Row | None, incoming: Incoming, record: ActionRecord, gateway: Gateway, request: Request
) -> Response:
    gateway.metrics.proxy_decisions.labels("replayed", record.action).inc()
    if record.status in _WAITING:
        record = await _wait(gateway, record)
    return await _answer(row, incoming, record, gateway, request)


def _single_headers(request: Request) -> None:
    names = [name.decode("latin-1").lower() for name, _ in request.scope.get("headers", [])]
    for header in SINGLE_HEADERS:
        if names.count(header) > 1:
            raise Refused(400, "header", f"the {header} header is sent more than once")


def _path(request: Request) -> RestPath:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    try:
        return parse_rest_path(raw.decode("ascii"))
    except UnicodeDecodeError:
        raise Refused(400, "path", "the path has a non-ASCII byte (encode it)") from None
    except RestPathError as exc:
        raise Refused(400, "path", f"Jiragate refuses this path: {exc}") from None


def _agent(gateway: Gateway, request: Request) -> str:
    try:
        key = presented_key(request.headers)
    except ProxyCredentialError as exc:
        raise Refused(exc.status, "credential", exc.reason) from None
    try:
        principal = identify(gateway, key)
    except CredentialRefused as refused:
        message = refused.reason
        if refused.reason == "unknown API key":
            message = (
                "not a Jiragate agent key. Jira credentials are not accepted here: Jiragate "
                "calls Jira with its own account; give the client its Jiragate agent key"
            )
        raise Refused(refused.status, "credential", message) from None
    if not principal.is_agent:
        raise Refused(403, "credential", f"{principal.name} is a reviewer, not an agent")
    return principal.name


async def _body(request: Request, gateway: Gateway) -> Any:
    raw = await request.body()
    if not raw:
        return None
    if request.method in _READ_METHODS:
        raise Refused(400, "body", f"a {request.method} request carries no body")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Refused(
            415, "body", f"the Jiragate proxy forwards JSON bodies only (got {media or 'none'})"
        )
    try:
        return parse_json(raw, max_bytes=gateway.settings.max_body_bytes)
    except BodyError as exc:
        raise Refused(exc.status, "body", str(exc)) from None
    except ActionError as exc:  # strict JSON: NaN, huge integers, NUL, lone surrogates
        raise Refused(400, "body", str(exc)) from None


def _params(rest: RestPath) -> dict[str, str]:
    names = rest.template.split("/")
    values = rest.path.split("/")
    return {
        name: value
        for name, value in zip(names, values, strict=False)
        if name.startswith("{") and name != "{version}"
    }


def _base_url(request: Request, gateway: Gateway) -> str:
    configured = gateway.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def _envelope(row: Row | None, incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    rest = incoming.rest
    summary = f"{incoming.method} {rest.path}"[:255]
    if row is not None:
        made = await row.details(incoming, gateway)
        if not isinstance(made, Chosen):
            return {"action": action_of(row, incoming), "summary": summary, "details": made}
        if made.action not in (row.action, *row.also):  # a row names every action it makes
            raise RuntimeError(f"{row.template} chose {made.action}, which its row does not list")
        return {"action": made.action, "summary": summary, "details": made.details}
    query: dict[str, list[str]] = {}
    for name, value in incoming.query:
        query.setdefault(name, []).append(value)
    details = {
        "method": incoming.method,
        "path": rest.path,
        "template": rest.template,
        "query": query,
    }
    project = project_of_path(rest)
    if project is not None:
        details["projectKey"] = project
    if incoming.method not in _READ_METHODS and incoming.body is not None:
        details["body"] = incoming.body
    action = "jira_rest_read" if incoming.method in _READ_METHODS else "jira_rest_write"
    return {"action": action, "summary": summary, "details": details}


def _forward(row: Row | None, incoming: Incoming, envelope: dict[str, Any]) -> ForwardRequest:
    query, body = incoming.query, incoming.body
    if row is not None and row.rewrite is not None:
        query, body = row.rewrite(incoming, envelope["details"])
    headers = {}
    if incoming.method == "POST":
        headers["X-Atlassian-Token"] = "no-check"
    if incoming.rest.path.startswith(JSM_PREFIX):
        headers.update(JSM_HEADERS)
    return ForwardRequest(
        method=incoming.method,
        path=incoming.rest.path,
        query=tuple(query),
        headers=headers,
        body=json.dumps(body).encode("utf-8") if body is not None else None,
    )


def _canonical_key(incoming: Incoming, idempotency_key: str | None) -> str:
    """One spelling per request: method, normalised path, query in order, the body's JSON
    with sorted keys, and the client's Idempotency-Key (two keys: two actions)."""
    canonical = json.dumps(
        [
            incoming.method,
            incoming.rest.path,
            list(incoming.query),
            incoming.body,
            idempotency_key,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# --------------------------------------------------------------------------- answers


async def _answer(
    row: Row | None, incoming: Incoming, record: ActionRecord, gateway: Gateway, request: Request
) -> Response:
    status = record.status
    decision = record.decision_json or {}
    # The determining rule's reason comes first; the others matched but did not decide.
    reasons = str((decision.get("reasons") or ["no reason given"])[0]).rstrip(". ")
    rule = record.determining_rule or "the defaults"
    if status is ActionStatus.DENIED:
        return jira_error(
            DENIED_STATUS,
            [f"Jiragate denied this request (rule {rule}): {reasons} [action {record.id}]"],
        )
    if status is ActionStatus.REJECTED:
        note = record.decision_note or "no note"
        return jira_error(
            DENIED_STATUS,
            [f"A Jiragate reviewer rejected this request (action {record.id}): {note}"],
        )
    if status is ActionStatus.EXPIRED:
        return jira_error(
            DENIED_STATUS,
            [
                f"Nobody in {record.review_group} approved this request in time (action "
                f"{record.id}); it will not run. Ask again with a new request if still needed."
            ],
        )
    if status in _WAITING:
        url = f"{_base_url(request, gateway)}/v1/actions/{record.id}"
        held = (
            f"Jiragate is holding this request for review by {record.review_group} "
            f"(rule {rule}): {reasons}. Action {record.id}; status: {url}. Send the same "
            "request again later to get its result; it runs at most once."
        )
        if status is not ActionStatus.PENDING_APPROVAL:
            held = (
                f"Jiragate approved this request and is running it (action {record.id}; "
                f"status: {url}). Send the same request again shortly to get its result."
            )
        return jira_error(PENDING_STATUS, [held], headers={"Retry-After": "5"})
    result = record.result_json or {}
    data = result.get("data") or {}
    if record.action == "jira_rest_write" and "status" in data:
        stored = data.get("body")
        body = json.dumps(stored).encode() if stored is not None else b""
        body = _relinked(body, gateway, incoming.base_url)
        if int(data["status"]) >= 400:
            body = redact_text(body.decode("utf-8", "replace")).encode("utf-8")
        headers = [list(h) for h in data.get("headers", []) if str(h[0]).lower() == "content-type"]
        return raw_answer(int(data["status"]), headers, body)
    if status in _RAN and row is not None:
        answer = await row.answer(incoming, record, gateway)
        if answer.body is None:
            return Response(status_code=answer.status)
        return Response(
            json.dumps(answer.body), status_code=answer.status, media_type="application/json"
        )
    failures = result.get("failures") or []
    first = failures[0] if failures else {}
    code = int(first.get("status") or 0)
    messages = list(first.get("errorMessages") or []) or [
        f"Jira did not carry out this request (action {record.id}): "
        f"{record.error or first.get('reason') or 'no answer'}"
    ]
    return jira_error(code if 400 <= code < 500 else 502, messages, first.get("errors") or {})

"""Request dependencies: the gateway, the caller's identity, and strictly parsed JSON bodies.

`Annotated` aliases keep route signatures short (`gateway: GatewayDep, agent: AgentDep`).
Every refused credential is audited (without the key) before the 401/403 goes out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from jiragate import strictjson
from jiragate.gateway import Gateway
from jiragate.settings import AgentAccount, ReviewerAccount

MAX_JSON_DEPTH = 32


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an agent (submits actions) or a reviewer (decides them)."""

    name: str
    role: Literal["agent", "reviewer"]
    admin: bool = False

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"


class CredentialRefused(Exception):
    """A credential that identifies nobody allowed to make this call (status says how)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


def _audit_refusal(gateway: Gateway, request: Request, refused: CredentialRefused) -> None:
    gateway.note_event(
        action_id=None,
        actor="anonymous",
        type="auth.refused",
        data={"path": request.url.path, "method": request.method, "reason": refused.reason},
    )


def _http_error(refused: CredentialRefused) -> HTTPException:
    return HTTPException(
        status_code=refused.status,
        detail=refused.reason,
        headers={"WWW-Authenticate": 'Bearer realm="jiragate"'} if refused.status == 401 else None,
    )


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def identify(gateway: Gateway, key: str | None) -> Principal:
    """Who a key belongs to; CredentialRefused if nobody (no I/O: safe on the event loop)."""
    settings = gateway.settings
    if key is None:
        raise CredentialRefused(401, "missing API key (send Authorization: Bearer <key>)")
    agent: AgentAccount | None = settings.agent_for_key(key)
    if agent is not None:
        if agent.revoked:
            raise CredentialRefused(401, f"the API key of agent {agent.name} is revoked")
        return Principal(agent.name, "agent")
    reviewer: ReviewerAccount | None = settings.reviewer_for_key(key)
    if reviewer is not None:
        return Principal(reviewer.name, "reviewer", admin=reviewer.admin)
    raise CredentialRefused(401, "unknown API key")


def resolve_key(gateway: Gateway, request: Request, key: str | None) -> Principal:
    """`identify`, auditing a refusal and raising it as an HTTP error (for sync callers)."""
    try:
        return identify(gateway, key)
    except CredentialRefused as refused:
        _audit_refusal(gateway, request, refused)
        raise _http_error(refused) from None


async def _refuse(gateway: Gateway, request: Request, refused: CredentialRefused) -> HTTPException:
    # The audit write is blocking database work: off the event loop.
    await run_in_threadpool(_audit_refusal, gateway, request, refused)
    return _http_error(refused)


# The dependencies below are `async def` on purpose: they do no blocking I/O on the success
# path, and a sync dependency costs every request a round trip through the thread pool.


async def get_principal(request: Request, gateway: GatewayDep) -> Principal:
    try:
        return identify(gateway, bearer_key(request))
    except CredentialRefused as refused:
        raise await _refuse(gateway, request, refused) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_agent(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Principal:
    if not principal.is_agent:
        refused = CredentialRefused(403, f"{principal.name} is a reviewer, not an agent")
        raise await _refuse(gateway, request, refused)
    return principal


async def get_reviewer(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Principal:
    if principal.is_agent:
        refused = CredentialRefused(403, f"{principal.name} is an agent, not a reviewer")
        raise await _refuse(gateway, request, refused)
    return principal


async def get_admin(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Principal:
    if not principal.admin:
        refused = CredentialRefused(403, f"{principal.name} is not an administrator")
        raise await _refuse(gateway, request, refused)
    return principal


AgentDep = Annotated[Principal, Depends(get_agent)]
ReviewerDep = Annotated[Principal, Depends(get_reviewer)]
AdminDep = Annotated[Principal, Depends(get_admin)]


# --------------------------------------------------------------------------- query parameters


class QueryError(Exception):
    """A query parameter has a value the route cannot use (answered 422 `invalid_query`).
    The message names the parameter, the values it takes, and the value given."""

    def __init__(self, name: str, expected: str, got: object) -> None:
        self.name = name
        super().__init__(f"{name}: expected {expected}, got {str(got)[:100]!r}")


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def query_number(request: Request, name: str, *, low: float, high: float) -> float | None:
    """A number query parameter from `low` to `high` (None when absent)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN compares false: refused too
        raise QueryError(name, f"a number from {low:g} to {high:g}", raw)
    return value


def query_bool(request: Request, name: str, *, default: bool) -> bool:
    """A boolean query parameter: true/false (or 1/0), any case."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = _BOOLEANS.get(raw.strip().lower())
    if value is None:
        raise QueryError(name, "true or false", raw)
    return value


# --------------------------------------------------------------------------- bodies


class BodyError(Exception):
    """The request body (or a header, with code "invalid_header") is not acceptable; the
    message says exactly why."""

    def __init__(self, message: str, status: int = 400, *, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_json(raw: bytes, *, max_bytes: int) -> Any:
    """The one strict decoding step for JSON bodies: BodyError for bytes that are not JSON,
    UnsafeJSONError (a 400 naming the pointer) for NaN/Infinity, out-of-range integers, NUL
    characters and lone surrogates (see jiragate.strictjson)."""
    if len(raw) > max_bytes:
        raise BodyError(f"request body is {len(raw)} bytes; the limit is {max_bytes}", 413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"request body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if not text.strip():
        raise BodyError("request body is empty; send a JSON object")
    try:
        value = strictjson.loads(text)
    except RecursionError:
        raise BodyError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BodyError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


async def json_object(request: Request) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    value = parse_json(await request.body(), max_bytes=gateway.settings.max_body_bytes)
    if not isinstance(value, dict):
        raise BodyError(f"expected a JSON object, got {type(value).__name__}")
    return value


JsonBody = Annotated[dict[str, Any], Depends(json_object)]


# --------------------------------------------------------------------------- headers

IDEMPOTENCY_KEY_MAX = 255
#: The longest `?wait=` a request may ask for (the settings may bound it further).
MAX_WAIT_SECONDS = 3600
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX}}}")


#: The header as the OpenAPI document describes it (routes that read it list this).
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": f"^[!-~]{{1,{IDEMPOTENCY_KEY_MAX}}}$"},
    "description": "Same key and body: the same action, never executed twice. "
    f"1-{IDEMPOTENCY_KEY_MAX} visible ASCII characters (no spaces).",
}


def idempotency_key(request: Request) -> str | None:
    """The Idempotency-Key header, refused (400 naming it) unless it is 1-255 visible ASCII
    characters: an empty key would replay nothing yet look like one, and a key that differs
    from the one stored only by whitespace or encoding would run the action twice."""
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise BodyError(
            f"the Idempotency-Key header must be 1-{IDEMPOTENCY_KEY_MAX} visible ASCII "
            f"characters (no spaces or control characters); got {len(value)} characters",
            code="invalid_header",
        )
    return value

"""The built-in inbox, spoken as the Cheqpoint HTTP protocol (same paths, fields, statuses).

So the official `cheqpoint` SDK, and Jiragate's own Cheqpoint backend, work against Jiragate
unchanged. Callers authenticate with `x-api-key: <agent API key>` (the SDK also repeats it
as `apiKey` in the body). A request is a catalog action: the policy decides it on the spot
(allow → APPROVED, deny → REJECTED, both `autoDecided`, as Cheqpoint's Rules would) or routes
it to a review group's inbox. An action name may carry a group's `cheqpoint.action_prefix`
(how a Jiragate Cheqpoint backend makes requests routable); the prefix is stripped, and it
never overrides the policy: a denied action stays denied, a gated one goes to the policy's
group, and only an action the policy would allow outright is sent to the prefix's group. As with
Cheqpoint, whoever asked executes the approved action: Jiragate's workers never run these.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from jiragate.api.deps import BodyError, GatewayDep, Principal, json_object, resolve_key
from jiragate.api.openapi import CHEQPOINT_BODY, documented
from jiragate.errors import ActionError
from jiragate.gateway import Gateway
from jiragate.gateway.records import (
    EXECUTOR_EXTERNAL,
    PROTOCOL_STATUS,
    ActionRecord,
    ActionStatus,
    protocol_status,
)

router = APIRouter(prefix="/api", tags=["cheqpoint-compatible"])
MAX_WAIT_MS = 10_000
_DESCRIPTIONS = {
    400: "The body is malformed, or the action or a field is refused; the message says why",
    401: "No x-api-key (or apiKey), or one that is unknown or revoked",
    403: "The key is a reviewer's: Cheqpoint requests are made with an agent's key",
    404: "No approval request with that id for this agent",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _caller(request: Request, gateway: Gateway, body: dict[str, Any] | None) -> Principal:
    key = request.headers.get("x-api-key") or (body or {}).get("apiKey")
    principal = resolve_key(gateway, request, key if isinstance(key, str) and key else None)
    if not principal.is_agent:
        raise BodyError("Cheqpoint requests are made with an agent's API key", 403)
    return principal


def _create(gateway: Gateway, agent: str, body: dict[str, Any]) -> ActionRecord:
    raw_action = body.get("action")
    if not isinstance(raw_action, str):
        raise BodyError("'action' must be a string")
    action, routed_group = gateway.route_prefixed_action(raw_action)
    envelope = {"action": action, "summary": body.get("summary"), "details": body.get("details")}
    if body.get("justification") is not None:
        envelope["justification"] = body["justification"]
    callback = body.get("webhookUrl") or body.get("callbackUrl")
    return gateway.request_approval(
        envelope,
        agent=agent,
        requested_as=raw_action,
        routed_group=routed_group,
        callback=callback,
        protocol={
            "riskScore": body.get("riskScore"),
            "trace": body.get("trace"),
            "callbackUrl": callback,
        },
    )


async def _open(
    request: Request, gateway: Gateway
) -> tuple[dict[str, Any], ActionRecord] | JSONResponse:
    """Authenticate, check the body, create the approval; or the protocol's error answer.
    Everything is checked before anything is created, so a refused request leaves no trace."""
    body = await json_object(request)
    # Both write to the database (a refused key is audited): off the event loop.
    agent = await run_in_threadpool(_caller, request, gateway, body)
    wait_ms = body.get("maxWaitMs", 0)
    if not isinstance(wait_ms, int | float) or isinstance(wait_ms, bool) or wait_ms < 0:
        return _error(400, "maxWaitMs must be a non-negative number")
    try:
        return body, await run_in_threadpool(_create, gateway, agent.name, body)
    except ActionError as exc:
        return _error(400, str(exc))


@router.post(
    "/approvals/request",
    summary="Create an approval request (Cheqpoint protocol)",
    **documented(
        auth="cheqpoint",
        body=CHEQPOINT_BODY,
        cheqpoint=True,
        errors=(400, 401, 403, 413, 503),
        descriptions=_DESCRIPTIONS,
    ),
)
async def create_request(request: Request, gateway: GatewayDep) -> JSONResponse:
    opened = await _open(request, gateway)
    if isinstance(opened, JSONResponse):
        return opened
    _, record = opened
    return JSONResponse({"id": record.id, "status": PROTOCOL_STATUS[record.status]})


@router.get(
    "/approvals/{approval_id}",
    summary="An approval's status and decision",
    **documented(
        auth="cheqpoint",
        cheqpoint=True,
        errors=(401, 403, 404, 503),
        descriptions=_DESCRIPTIONS,
    ),
)
def get_request(approval_id: str, request: Request, gateway: GatewayDep) -> JSONResponse:
    agent = _caller(request, gateway, None)
    record = gateway.get_action(approval_id)
    # Only approvals requested through this API: an action submitted to /v1/actions has
    # statuses (executing, failed, ...) the Cheqpoint protocol cannot express truthfully.
    if record is None or record.agent != agent.name or record.executor != EXECUTOR_EXTERNAL:
        return _error(404, f"approval request {approval_id!r} not found")
    gateway.expire_overdue()
    record = gateway.get_record(approval_id)
    return JSONResponse(protocol_status(record))


@router.post(
    "/webhooks/inbound",
    summary="Ask and wait (up to 10 s) for a decision",
    **documented(
        auth="cheqpoint",
        body=CHEQPOINT_BODY,
        cheqpoint=True,
        errors=(400, 401, 403, 413, 503),
        descriptions=_DESCRIPTIONS,
    ),
)
async def inbound(request: Request, gateway: GatewayDep) -> JSONResponse:
    opened = await _open(request, gateway)
    if isinstance(opened, JSONResponse):
        return opened
    body, record = opened
    wait_ms = body.get("maxWaitMs", 0)
    if record.status is ActionStatus.PENDING_APPROVAL and wait_ms > 0:
        # Woken by the decision (not polled); an external executor's approval is as far as
        # it goes here, so the wait ends when the approval is decided.
        record = await gateway.wait_for_decision(
            record.id, min(wait_ms, MAX_WAIT_MS) / 1000, decided_only=True
        )
    status = protocol_status(record)
    return JSONResponse(
        {
            "status": status["status"].lower(),
            "approvalId": record.id,
            "id": record.id,
            "modifiedDetails": status["modifiedDetails"],
            "decisionNote": status["decisionNote"],
            "reviewUrl": f"/inbox/actions/{record.id}",
        }
    )

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

import asyncio
import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from jiragate.api.deps import BodyError, GatewayDep, Principal, json_object, resolve_key
from jiragate.api.openapi import CHEQPOINT_BODY, documented
from jiragate.approvals.compat import PROTOCOL_STATUS, protocol_status
from jiragate.catalog import parse_envelope
from jiragate.errors import ActionError
from jiragate.gateway import Gateway
from jiragate.store import EXECUTOR_EXTERNAL, ActionRecord, ActionStatus, AuditNote

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


def _route(gateway: Gateway, action: str) -> tuple[str, str | None]:
    """Strip a group's action prefix: ("pm:jira_create_epic") -> ("jira_create_epic", "pms")."""
    for name, group in gateway.policies.current.groups.items():
        prefix = group.cheqpoint.action_prefix
        if prefix and action.startswith(prefix):
            return action[len(prefix) :], name
    return action, None


def _check_callback(gateway: Gateway, url: object) -> None:
    """Decisions are only pushed to allowed, signed destinations: an open callback would let
    any agent make this service send requests anywhere (SSRF)."""
    settings = gateway.settings.cheqpoint
    if not isinstance(url, str) or not url:
        raise BodyError("webhookUrl / callbackUrl must be a non-empty URL string")
    if not any(url.startswith(prefix) for prefix in settings.callback_url_prefixes):
        allowed = ", ".join(settings.callback_url_prefixes) or "none configured"
        raise BodyError(
            f"callback URL {url!r} is not allowed (cheqpoint.callback_url_prefixes: {allowed}); "
            "omit it and poll GET /api/approvals/{id}"
        )
    if settings.webhook_secret is None:
        raise BodyError("callbacks need cheqpoint.webhook_secret to sign them; poll instead")


def _create(gateway: Gateway, agent: str, body: dict[str, Any]) -> ActionRecord:
    raw_action = body.get("action")
    if not isinstance(raw_action, str):
        raise BodyError("'action' must be a string")
    action, routed_group = _route(gateway, raw_action)
    envelope = {"action": action, "summary": body.get("summary"), "details": body.get("details")}
    if body.get("justification") is not None:
        envelope["justification"] = body["justification"]
    request = parse_envelope(envelope)
    policies = gateway.policies.deciding()
    decision = policies.evaluate(request, agent=agent)
    # The policy decides, not the caller's prefix: a deny stays a deny (fail closed), and a
    # gated action goes to the policy's group. A prefix only asks a human to look at an
    # action the policy would have allowed outright (escalation never loosens anything).
    group_name = decision.review_group if decision.needs_approval else routed_group
    if decision.denied:
        status = ActionStatus.DENIED
    elif decision.needs_approval or routed_group:
        status = ActionStatus.PENDING_APPROVAL
    else:
        status = ActionStatus.APPROVED
    callback = body.get("webhookUrl") or body.get("callbackUrl")
    if callback is not None:
        _check_callback(gateway, callback)
    created = gateway.store.create_action(
        agent=agent,
        action=request.action,
        summary=request.summary,
        justification=request.justification,
        details=request.details,
        effective_details=request.details if status is ActionStatus.APPROVED else None,
        kind=request.kind.value,
        decision=decision.decision.value,
        status=status,
        review_group=group_name if status is ActionStatus.PENDING_APPROVAL else None,
        determining_rule=decision.determining_rule,
        decision_json={
            **decision.as_dict(),
            "cheqpoint": {
                "riskScore": body.get("riskScore"),
                "trace": body.get("trace"),
                "callbackUrl": callback if isinstance(callback, str) else None,
            },
        },
        policy_revision=decision.revision,
        executor=EXECUTOR_EXTERNAL,
        audit_note=AuditNote(
            actor=agent,
            type="approval.requested",
            data={
                "api": "cheqpoint",
                "action": raw_action,
                "decision": decision.decision.value,
                "group": group_name,
            },
        ),
    )
    record = created.action
    if status is ActionStatus.PENDING_APPROVAL:
        group = policies.groups.get(group_name or "")
        timeout = group.approval_timeout_seconds if group else 24 * 3600
        gateway.inbox.open(
            record.id,
            group=group_name or "",
            min_approvals=group.min_approvals if group else 1,
            expires_at=gateway.store.clock() + timedelta(seconds=timeout),
        )
    return gateway.get_record(record.id)


async def _open(
    request: Request, gateway: Gateway
) -> tuple[dict[str, Any], ActionRecord] | JSONResponse:
    """Authenticate, check the body, create the approval; or the protocol's error answer.
    Everything is checked before anything is created, so a refused request leaves no trace."""
    body = await json_object(request)
    agent = _caller(request, gateway, body)
    wait_ms = body.get("maxWaitMs", 0)
    if not isinstance(wait_ms, int | float) or isinstance(wait_ms, bool) or wait_ms < 0:
        return _error(400, "maxWaitMs must be a non-negative number")
    try:
        return body, _create(gateway, agent.name, body)
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
    record = gateway.store.get_action(approval_id)
    # Only approvals requested through this API: an action submitted to /v1/actions has
    # statuses (executing, failed, ...) the Cheqpoint protocol cannot express truthfully.
    if record is None or record.agent != agent.name or record.executor != EXECUTOR_EXTERNAL:
        return _error(404, f"approval request {approval_id!r} not found")
    gateway.store.expire_overdue()
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
    deadline = time.monotonic() + min(wait_ms, MAX_WAIT_MS) / 1000
    while record.status is ActionStatus.PENDING_APPROVAL and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        record = gateway.get_record(record.id)
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

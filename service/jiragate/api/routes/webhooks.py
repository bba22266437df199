"""Decisions pushed by Cheqpoint: verified, then treated only as a hint to fetch the truth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from jiragate import strictjson
from jiragate.api.deps import GatewayDep
from jiragate.api.openapi import WEBHOOK_BODY, documented
from jiragate.errors import UnsafeJSONError
from jiragate.gateway.records import SIGNATURE_HEADER, verify_webhook_signature

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

SIGNATURE_PARAMETER = {
    "name": SIGNATURE_HEADER,
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "sha256=<hex HMAC-SHA256 of the raw body with cheqpoint.webhook_secret>",
}


async def _refuse(
    gateway: GatewayDep, status: int, reason: str, data: dict[str, Any]
) -> JSONResponse:
    # The audit write is blocking database work: off the event loop.
    await run_in_threadpool(
        gateway.note_event,
        action_id=None,
        actor="cheqpoint",
        type="webhook.refused",
        data={"reason": reason, **data},
    )
    return JSONResponse({"error": "webhook_refused", "message": reason}, status_code=status)


@router.post(
    "/cheqpoint",
    summary="Cheqpoint decision webhook (HMAC-SHA256 signed)",
    **documented(
        auth="none",
        body=WEBHOOK_BODY,
        errors=(400, 401, 404, 413, 503),
        descriptions={
            401: f"Webhooks are not configured, or {SIGNATURE_HEADER} is missing or wrong",
            404: "No action waits on that approval",
            503: "The database or Cheqpoint is unavailable",
        },
        extra={"parameters": [SIGNATURE_PARAMETER]},
    ),
)
async def cheqpoint_webhook(request: Request, gateway: GatewayDep) -> JSONResponse:
    secret = gateway.settings.cheqpoint.webhook_secret
    body = await request.body()
    if len(body) > gateway.settings.max_body_bytes:
        return await _refuse(gateway, 413, "webhook body too large", {})
    if secret is None:
        return await _refuse(
            gateway, 401, "webhooks are not configured (no cheqpoint.webhook_secret)", {}
        )
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not verify_webhook_signature(secret.get_secret_value(), body, signature):
        return await _refuse(gateway, 401, f"missing or invalid {SIGNATURE_HEADER}", {})
    try:
        payload = strictjson.loads(body.decode("utf-8"))
    except UnsafeJSONError as exc:
        return await _refuse(gateway, 400, f"the webhook body is not strict JSON: {exc}", {})
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested absurdly deep
        payload = None
    try:
        approval_ref = payload["id"]
        if not isinstance(approval_ref, str) or not approval_ref:
            raise TypeError
    except (KeyError, TypeError):
        return await _refuse(gateway, 400, "the webhook body must be JSON with a string 'id'", {})
    # The pushed status is never trusted: fetch the approval with our own key and act on that.
    record = await gateway.webhook_hint(approval_ref)
    if record is None:
        return await _refuse(
            gateway, 404, f"no action waits on approval {approval_ref!r}", {"ref": approval_ref}
        )
    await run_in_threadpool(
        gateway.note_event,
        action_id=record.id,
        actor="cheqpoint",
        type="webhook.received",
        data={
            "ref": approval_ref,
            "pushed_status": str(payload.get("status")),
            "status_after_fetch": record.status.value,
        },
    )
    return JSONResponse({"id": record.id, "status": record.status.value})

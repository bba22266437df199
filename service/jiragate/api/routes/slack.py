"""Slack interactivity: a reviewer's Approve / Reject click, signed by Slack."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from jiragate.api.deps import GatewayDep
from jiragate.api.openapi import documented

router = APIRouter(prefix="/v1/slack", tags=["slack"])

_HEADERS = [
    {
        "name": "X-Slack-Request-Timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Unix seconds; refused when more than 5 minutes from now",
    },
    {
        "name": "X-Slack-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "v0=<hex HMAC-SHA256 of 'v0:{timestamp}:{body}' with the signing secret>",
    },
]


@router.post(
    "/interactions",
    summary="Slack interactivity (Approve / Reject buttons), signed by Slack",
    **documented(
        auth="none",
        errors=(400, 401, 403, 413, 503),
        descriptions={
            400: "Not a block_actions payload with a Jiragate button",
            401: "Not configured, or the signature is missing, wrong, stale or replayed",
            403: "The Slack user is not mapped to a reviewer (`slack_user_id`)",
            503: "The database is unavailable",
        },
        extra={"parameters": _HEADERS},
    ),
)
async def slack_interactions(request: Request, gateway: GatewayDep) -> JSONResponse:
    body = await request.body()
    status, message = await gateway.slack_interaction(
        body,
        timestamp=request.headers.get("x-slack-request-timestamp", ""),
        signature=request.headers.get("x-slack-signature", ""),
    )
    if status >= 400:
        return JSONResponse({"error": "slack_refused", "message": message}, status_code=status)
    # Slack shows nothing of this body for block_actions; the message is updated through
    # the click's response_url (and chat.update for bot-posted messages).
    return JSONResponse({"text": message})

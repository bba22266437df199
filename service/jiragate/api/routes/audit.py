"""The audit trail over HTTP: events (paged) and a JSON Lines export."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from jiragate.api.deps import AdminDep, GatewayDep
from jiragate.api.openapi import documented
from jiragate.gateway.records import event_as_dict

router = APIRouter(prefix="/v1/audit", tags=["audit"])

#: `seq` is a 64-bit integer column: a larger `after`/`since` is a 422, not a database error.
MAX_SEQ = 2**63 - 1
JSON_LINES = "application/x-ndjson"


class JsonLinesResponse(PlainTextResponse):
    """JSON Lines; the class's media type is also what /openapi.json names for it."""

    media_type = JSON_LINES


@router.get(
    "",
    summary="Audit events, oldest first (admins)",
    **documented(auth="admin", errors=(401, 403, 422, 503)),
)
def events(
    gateway: GatewayDep,
    _admin: AdminDep,
    action_id: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Only events after this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items = gateway.audit_events(action_id=action_id, after=after, limit=limit)
    return {
        "items": [event_as_dict(event) for event in items],
        "next_after": items[-1].seq if len(items) == limit else None,
    }


@router.get(
    "/verify",
    summary="Check the hash chain",
    **documented(auth="admin", errors=(401, 403, 503)),
)
def verify_chain(gateway: GatewayDep, _admin: AdminDep) -> dict[str, Any]:
    report = gateway.verify_audit()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "head": report.head,  # SEQ:HASH, the anchor `jiragate audit verify --expect-head` takes
        "first_bad_seq": report.first_bad_seq,
        "problem": report.problem,
    }


@router.get(
    "/export",
    summary="Every event as JSON Lines",
    response_class=JsonLinesResponse,
    **documented(
        auth="admin",
        errors=(401, 403, 422, 503),
        responses={
            200: {
                "description": "One audit event (a JSON object) per line",
                "content": {JSON_LINES: {"schema": {"type": "string"}}},
            }
        },
    ),
)
def export(
    gateway: GatewayDep,
    _admin: AdminDep,
    since: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Only events after this seq.")
    ] = None,
) -> JsonLinesResponse:
    buffer = io.StringIO()
    gateway.export_audit(buffer, since=since)
    return JsonLinesResponse(buffer.getvalue())

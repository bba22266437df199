"""Reviewers (built-in inbox): pending approvals for my groups, and deciding them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jiragate.api.deps import BodyError, GatewayDep, JsonBody, ReviewerDep
from jiragate.api.openapi import DECISION_BODY, documented
from jiragate.api.views import action_view

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

_DECISION_FIELDS = {"verdict", "note", "modifiedDetails", "snapshot"}


@router.get(
    "",
    summary="Pending approvals in my review groups (and escalated to them), oldest first",
    **documented(auth="reviewer", errors=(401, 403, 422, 503)),
)
def pending(
    gateway: GatewayDep,
    reviewer: ReviewerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    groups = gateway.reviewer_groups(reviewer.name)
    records = gateway.review_queue(reviewer.name, limit=limit)
    return {"groups": groups, "items": [action_view(gateway, r) for r in records]}


@router.post(
    "/{action_id}/decision",
    summary="Approve, reject, or approve with edits",
    **documented(
        auth="reviewer",
        body=DECISION_BODY,
        errors=(400, 401, 403, 404, 409, 413, 422, 503),
        descriptions={
            403: "The key is an agent's, or the reviewer is not in the action's group",
            404: "No such action waits for a decision",
            409: "Already decided, not pending, or an edit that widens the action",
            422: "The edited details break the action's schema",
        },
    ),
)
def decide(
    action_id: str, body: JsonBody, gateway: GatewayDep, reviewer: ReviewerDep
) -> dict[str, Any]:
    unknown = sorted(set(body) - _DECISION_FIELDS)
    if unknown:
        raise BodyError(
            f"unknown field(s) {unknown}; allowed: verdict, note, modifiedDetails, snapshot"
        )
    verdict = body.get("verdict")
    if verdict not in ("approve", "reject"):
        raise BodyError("verdict must be 'approve' or 'reject'")
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        raise BodyError("note must be a string of at most 4000 characters")
    patch = body.get("modifiedDetails")
    if patch is not None and not isinstance(patch, dict):
        raise BodyError("modifiedDetails must be an object (a patch over the details)")
    if patch and verdict == "reject":
        raise BodyError("a rejection cannot carry modifiedDetails")
    snapshot = body.get("snapshot")
    if snapshot is not None and not isinstance(snapshot, str):
        raise BodyError("snapshot must be a string: the approval.snapshot.hash you were shown")
    outcome = gateway.decide(
        action_id,
        reviewer=reviewer.name,
        verdict=verdict,
        modified_details=patch,
        note=note,
        snapshot=snapshot,
    )
    record = gateway.get_action(action_id)
    assert record is not None
    return {
        "status": outcome.status.value,
        "approvals": outcome.approvals,
        "required": outcome.required,
        "action": action_view(gateway, record),
    }

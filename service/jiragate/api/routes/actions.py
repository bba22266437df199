"""Agents: dry-run evaluation, evaluate-and-execute, and reading their actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from jiragate.api.deps import (
    IDEMPOTENCY_KEY_PARAMETER,
    MAX_WAIT_SECONDS,
    GatewayDep,
    Principal,
    PrincipalDep,
    QueryError,
    get_agent,
    get_principal,
    idempotency_key,
    json_object,
    query_bool,
    query_number,
)
from jiragate.api.openapi import (
    ENVELOPE_BODY,
    action_answer,
    action_or_error,
    documented,
)
from jiragate.api.views import STATUS_CODES, action_view
from jiragate.catalog import ACTION_NAMES
from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord, ActionStatus

router = APIRouter(prefix="/v1", tags=["actions"])

#: The hot routes, which take the bare request and parse it themselves: the app serves them
#: without FastAPI's per-request dependency machinery (api/app.py `_dispatch_directly`).
DIRECT_ROUTES = (("POST", "/v1/evaluate"), ("POST", "/v1/actions"))


@router.post(
    "/evaluate",
    summary="Dry run: the decision only",
    **documented(
        auth="agent",
        body=ENVELOPE_BODY,
        errors=(400, 401, 403, 413, 422, 503),
        descriptions={422: "The details break the action's schema, or ?explain is invalid"},
        extra={
            "parameters": [
                {
                    "name": "explain",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "boolean", "default": True},
                    "description": "Say why every rule did or did not match.",
                }
            ]
        },
    ),
)
async def evaluate(request: Request) -> JSONResponse:
    """Evaluate an action against the running policies; nothing is recorded or executed.

    The hottest route, so it takes the request as is: dependency injection cost a third of
    its CPU (measured with py-spy), and a decision is microseconds of CPU with no I/O, so it
    runs on the event loop (`async def`) instead of a thread-pool round trip."""
    gateway: Gateway = request.app.state.gateway
    agent = await get_agent(request, gateway, await get_principal(request, gateway))
    body = await json_object(request)
    explain = query_bool(request, "explain", default=True)
    decision = gateway.evaluate(body, agent=agent.name, explain=explain)
    return JSONResponse(decision.as_dict())


@router.post(
    "/actions",
    summary="Evaluate and execute (or send for approval)",
    **documented(
        auth="agent",
        body=ENVELOPE_BODY,
        errors=(400, 401, 403, 409, 413, 422, 502, 503),
        descriptions={
            400: "The body, the Idempotency-Key header or the envelope is malformed",
            409: "Idempotency-Key reused with another body",
            422: "The details break the action's schema, or a parameter is invalid",
        },
        extra={
            "parameters": [
                {
                    "name": "wait",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
                    "description": "Seconds to wait for a decision (bounded by config).",
                },
                IDEMPOTENCY_KEY_PARAMETER,
            ]
        },
        responses={
            200: action_answer("Executed, or decided (rejected/expired) while waiting"),
            202: action_answer("Sent for approval (or approved and queued)"),
            403: action_or_error("Denied by policy (the action), or the key is not an agent's"),
            502: action_or_error("Jira refused or failed the action (the action, status failed)"),
        },
    ),
)
async def submit(request: Request) -> JSONResponse:
    """Takes the request as is, like `evaluate` (the second-hottest route: dependency
    injection was a fifth of its CPU); the parameters are documented in `extra` above."""
    gateway: Gateway = request.app.state.gateway
    # In the order the dependencies ran before: the body is parsed (and a poison refused)
    # even without credentials; then who asks, the key, the query.
    body = await json_object(request)
    agent = await get_agent(request, gateway, await get_principal(request, gateway))
    key = idempotency_key(request)
    wait = query_number(request, "wait", low=0, high=MAX_WAIT_SECONDS)
    submission = await gateway.submit(body, agent=agent.name, idempotency_key=key)
    record = submission.record
    if wait and record.status in (
        ActionStatus.PENDING_APPROVAL,
        ActionStatus.APPROVED,
        ActionStatus.EXECUTING,
    ):
        record = await gateway.wait_for_decision(record.id, wait)
    headers = {"Location": f"/v1/actions/{record.id}"}
    if not submission.created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        action_view(gateway, record), status_code=STATUS_CODES[record.status], headers=headers
    )


def _visible(record: ActionRecord | None, who: Principal, gateway: GatewayDep) -> bool:
    if record is None:
        return False
    if who.is_agent:
        return record.agent == who.name
    return who.admin or gateway.may_review(who.name, record)


@router.get(
    "/actions/{action_id}",
    summary="One action: decision, approval, result, timeline",
    **documented(auth="any", errors=(401, 404, 503)),
)
def get_action(
    action_id: str, request: Request, gateway: GatewayDep, who: PrincipalDep
) -> dict[str, Any]:
    record = gateway.get_action(action_id)
    if not _visible(record, who, gateway):
        if record is not None:  # someone else's: audited, and answered as if absent
            gateway.note_event(
                action_id=action_id,
                actor=who.name,
                type="access.refused",
                data={"path": request.url.path},
            )
        raise HTTPException(404, f"no action {action_id!r}")
    assert record is not None
    return action_view(gateway, record, timeline=True)


@router.get(
    "/actions",
    summary="List actions (agents see their own; reviewers their groups')",
    **documented(
        auth="any",
        errors=(401, 403, 422, 503),
        descriptions={403: "Another agent's actions, or a group the reviewer does not review"},
    ),
)
def list_actions(
    gateway: GatewayDep,
    who: PrincipalDep,
    status: Annotated[ActionStatus | None, Query()] = None,
    action: Annotated[str | None, Query(description="An action name from the catalog.")] = None,
    group: Annotated[str | None, Query(max_length=200)] = None,
    agent: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    if action is not None and action not in ACTION_NAMES:
        raise QueryError(
            "action", f"an action name from the catalog ({', '.join(ACTION_NAMES)})", action
        )
    groups_filter: str | list[str] | None = group
    if who.is_agent:
        if agent not in (None, who.name):
            raise HTTPException(403, "agents may only list their own actions")
        agent = who.name
    elif not who.admin:
        groups = gateway.reviewer_groups(who.name)
        if group is not None and group not in groups:
            raise HTTPException(403, f"{who.name} does not review {group!r}")
        if not groups:
            return {"items": [], "next_cursor": None}
        groups_filter = group or groups  # a reviewer sees the groups they review
    try:
        page = gateway.list_actions(
            status=status,
            agent=agent,
            action=action,
            group=groups_filter,
            limit=limit,
            cursor=cursor,
        )
    except ValueError:
        raise QueryError("cursor", "a next_cursor from an earlier page", cursor) from None
    return {
        "items": [action_view(gateway, record) for record in page.items],
        "next_cursor": page.next_cursor,
    }

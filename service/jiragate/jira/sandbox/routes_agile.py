"""Agile (Jira Software) endpoints: boards (with their project location), board sprints, one
sprint, moving issues to a sprint, and the sprint lifecycle (create, partial update with the
`future -> active -> closed` state machine, delete), the backlog and ranking.

Strict where Jira is: a sprint starts only from `future` with a start and an end date, and not
while its board has another active sprint unless parallel sprints are on; only an active
sprint closes (its incomplete issues go to the backlog); a closed sprint is not updated; an
active sprint is not deleted; at most 50 issues move to the backlog or are ranked per call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import as_int, body_of, state_of
from jiragate.jira.sandbox.render import board_json, jira_error, page_json, sprint_json
from jiragate.jira.sandbox.state import (
    RANK_FIELD,
    Issue,
    SandboxState,
    Sprint,
    issue_type,
    now_iso,
    status,
)

# Atlassian: "The maximum number of issues that can be moved in one operation is 50." The
# backlog and rank endpoints take at most 50 issues too.
MAX_SPRINT_MOVE = 50
MAX_RANK = 50
SPRINT_STATES = ("future", "active", "closed")


def _page(request: Request) -> tuple[int, int] | None:
    start = as_int(request.query_params.get("startAt"), 0)
    limit = as_int(request.query_params.get("maxResults"), 50)
    if start is None or limit is None or start < 0 or limit < 0:
        return None
    return start, limit


async def list_boards(request: Request) -> Response:
    """`GET /board`: boards filtered by `projectKeyOrId`, `type` and `name` (a substring), as
    Jira Software pages them. An unknown project is a 400 naming it, as in Jira."""
    state = state_of(request)
    page = _page(request)
    if page is None:
        return jira_error(400, ["startAt and maxResults must be non-negative integers."])
    start, limit = page
    wanted_project = request.query_params.get("projectKeyOrId")
    wanted_types = {
        t.strip() for item in request.query_params.getlist("type") for t in item.split(",")
    } - {""}
    name = (request.query_params.get("name") or "").lower()
    with state.lock:
        boards = sorted(state.boards.values(), key=lambda b: b.id)
        if wanted_project:
            project = state.find_project(wanted_project)
            if project is None:
                return jira_error(
                    400, [f"No project could be found with key or id '{wanted_project}'."]
                )
            boards = [b for b in boards if b.project_key == project.key]
        if wanted_types:
            boards = [b for b in boards if b.type in wanted_types]
        if name:
            boards = [b for b in boards if name in b.name.lower()]
        return JSONResponse(page_json(boards, start, limit, lambda b: board_json(state, b)))


async def get_board(request: Request) -> Response:
    state = state_of(request)
    board_id = as_int(request.path_params["board_id"], 0)
    with state.lock:
        board = state.boards.get(board_id or -1)
        if board is None:
            return jira_error(404, [f"Board {request.path_params['board_id']} does not exist."])
        return JSONResponse(board_json(state, board))


async def board_sprints(request: Request) -> Response:
    state = state_of(request)
    board_id = as_int(request.path_params["board_id"], 0)
    start = as_int(request.query_params.get("startAt"), 0)
    limit = as_int(request.query_params.get("maxResults"), 50)
    if start is None or limit is None or start < 0 or limit < 0:
        return jira_error(400, ["startAt and maxResults must be non-negative integers."])
    wanted = {
        s.strip().lower()
        for item in request.query_params.getlist("state")
        for s in item.split(",")
        if s.strip()
    }
    unknown = wanted - set(SPRINT_STATES)
    if unknown:
        return jira_error(
            400,
            [f"Unknown sprint state(s) {', '.join(sorted(unknown))}; use future, active, closed."],
        )
    with state.lock:
        if board_id not in state.boards:
            return jira_error(404, [f"Board {request.path_params['board_id']} does not exist."])
        order = {"closed": 0, "active": 1, "future": 2}  # Jira lists closed, active, future
        sprints = sorted(
            (s for s in state.sprints.values() if s.board_id == board_id),
            key=lambda s: (order[s.state], s.id),
        )
        if wanted:
            sprints = [s for s in sprints if s.state in wanted]
        return JSONResponse(page_json(sprints, start, limit, lambda s: sprint_json(state, s)))


async def get_sprint(request: Request) -> Response:
    state = state_of(request)
    sprint_id = as_int(request.path_params["sprint_id"], 0)
    with state.lock:
        sprint = state.sprints.get(sprint_id or -1)
        if sprint is None:
            return jira_error(
                404, [f"Sprint with id {request.path_params['sprint_id']} not found."]
            )
        return JSONResponse(sprint_json(state, sprint))


async def move_to_sprint(request: Request) -> Response:
    state = state_of(request)
    body = body_of(request)
    keys = body.get("issues") if isinstance(body, Mapping) else None
    if not isinstance(keys, list) or not keys:
        return jira_error(400, ["'issues' must list at least one issue key or id."])
    if len(keys) > MAX_SPRINT_MOVE:
        return jira_error(
            400,
            [
                "The maximum number of issues that can be moved in one operation is "
                f"{MAX_SPRINT_MOVE}."
            ],
        )
    sprint_id = as_int(request.path_params["sprint_id"], 0)
    with state.lock:
        sprint = state.sprints.get(sprint_id or -1)
        if sprint is None:
            return jira_error(
                404, [f"Sprint with id {request.path_params['sprint_id']} not found."]
            )
        if sprint.state not in {"active", "future"}:
            return jira_error(
                400,
                [f"Issues can only be moved to open or active sprints; {sprint.name} is closed."],
            )
        issues = []
        for key in keys:
            issue = state.find_issue(str(key))
            if issue is None:
                return jira_error(
                    400, [f"Issue '{key}' does not exist or you do not have permission to see it."]
                )
            issues.append(issue)
        stamp = now_iso()
        for issue in issues:
            # Sub-tasks travel with their parent, as on a Jira board.
            for moved in [issue, *state.subtasks_of(issue.key)]:
                if not issue_type(issue.issue_type).subtask or moved is issue:
                    moved.sprint_id = sprint.id
                    moved.updated = stamp
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- sprint lifecycle


def _sprint_not_found(request: Request) -> Response:
    return jira_error(404, [f"Sprint with id {request.path_params['sprint_id']} not found."])


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _date_errors(body: Mapping[str, Any], start: object, end: object) -> dict[str, str]:
    errors = {
        name: f"'{body[name]}' is not a date-time with an offset (ISO 8601)."
        for name in ("startDate", "endDate")
        if name in body and body[name] is not None and _moment(body[name]) is None
    }
    begin, finish = _moment(start), _moment(end)
    if not errors and begin is not None and finish is not None and finish <= begin:
        errors["endDate"] = "The sprint end date must be after its start date."
    return errors


async def create_sprint(request: Request) -> Response:
    """`POST /sprint`: a future sprint on `originBoardId` (name and board required)."""
    state = state_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a sprint object."])
    name = body.get("name")
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The sprint name is required."
    elif len(name.strip()) > 255:
        errors["name"] = "The sprint name must be 255 characters or fewer."
    errors.update(_date_errors(body, body.get("startDate"), body.get("endDate")))
    board_id = body.get("originBoardId")
    with state.lock:
        if not isinstance(board_id, int) or board_id not in state.boards:
            errors["originBoardId"] = f"Board {board_id} does not exist."
        if errors or not isinstance(board_id, int):
            return jira_error(400, [], errors)
        sprint = Sprint(state.next_sprint_id, str(name).strip(), "future", board_id)
        state.next_sprint_id += 1
        sprint.goal = str(body.get("goal") or "")
        sprint.start_date = body.get("startDate")
        sprint.end_date = body.get("endDate")
        state.sprints[sprint.id] = sprint
        state.save()
        return JSONResponse(sprint_json(state, sprint), status_code=201)


def _incomplete(state: SandboxState, sprint: Sprint) -> list[Issue]:
    return [
        i
        for i in state.issues.values()
        if i.sprint_id == sprint.id and status(i.status).category_key != "done"
    ]


def _state_change(state: SandboxState, sprint: Sprint, wanted: str, body: Any) -> str | None:
    """Why Jira refuses moving `sprint` to state `wanted` (None: allowed)."""
    if wanted not in SPRINT_STATES:
        return f"Unknown sprint state '{wanted}'; use future, active or closed."
    if wanted == sprint.state:
        return None
    if wanted == "active":
        if sprint.state != "future":
            return f"Sprint {sprint.name} cannot be started: it is {sprint.state}."
        if not body.get("startDate", sprint.start_date) or not body.get("endDate", sprint.end_date):
            return "A sprint needs a start date and an end date to be started."
        others = [
            s
            for s in state.sprints.values()
            if s.board_id == sprint.board_id and s.state == "active" and s.id != sprint.id
        ]
        if others and not state.parallel_sprints:
            return (
                f"Sprint {sprint.name} cannot be started: sprint {others[0].name} is already "
                "active on this board and parallel sprints are disabled."
            )
        return None
    if wanted == "closed":
        if sprint.state != "active":
            return f"Sprint {sprint.name} cannot be completed: only an active sprint can be."
        return None
    return f"Sprint {sprint.name} cannot go back to future."


async def update_sprint(request: Request) -> Response:
    """`POST /sprint/{id}`: a partial update. `state: active` starts a future sprint,
    `state: closed` completes an active one (its incomplete issues move to the backlog and
    `completeDate` is set); a closed sprint is not updated at all."""
    state = state_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a sprint object."])
    sprint_id = as_int(request.path_params["sprint_id"], 0)
    with state.lock:
        sprint = state.sprints.get(sprint_id or -1)
        if sprint is None:
            return _sprint_not_found(request)
        if sprint.state == "closed":
            return jira_error(400, [f"Sprint {sprint.name} is closed and cannot be updated."])
        if "completeDate" in body:
            return jira_error(400, [], {"completeDate": "The complete date cannot be set."})
        if "originBoardId" in body and body["originBoardId"] != sprint.board_id:
            return jira_error(400, [], {"originBoardId": "A sprint cannot change its board."})
        name = body.get("name", sprint.name)
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
            return jira_error(400, [], {"name": "The sprint name must be 1-255 characters."})
        errors = _date_errors(
            body, body.get("startDate", sprint.start_date), body.get("endDate", sprint.end_date)
        )
        if errors:
            return jira_error(400, [], errors)
        wanted = body.get("state", sprint.state)
        refused = _state_change(state, sprint, str(wanted), body)
        if refused is not None:
            return jira_error(400, [refused])
        sprint.name = name.strip()
        if "goal" in body:
            sprint.goal = str(body["goal"] or "")
        for attribute, key in (("start_date", "startDate"), ("end_date", "endDate")):
            if key in body:
                setattr(sprint, attribute, body[key])
        if wanted == "closed" and sprint.state == "active":
            stamp = now_iso()
            for issue in _incomplete(state, sprint):
                issue.sprint_id = None
                issue.updated = stamp
            sprint.complete_date = stamp
        sprint.state = str(wanted)
        state.save()
        return JSONResponse(sprint_json(state, sprint))


async def delete_sprint(request: Request) -> Response:
    """`DELETE /sprint/{id}`: a future or closed sprint; its open issues go to the backlog.
    An active sprint is refused with a 403 (complete it first)."""
    state = state_of(request)
    sprint_id = as_int(request.path_params["sprint_id"], 0)
    with state.lock:
        sprint = state.sprints.get(sprint_id or -1)
        if sprint is None:
            return _sprint_not_found(request)
        if sprint.state == "active":
            # The spec declares no 400 here: Jira's refusal of this delete is a 403.
            return jira_error(
                403, [f"Sprint {sprint.name} is active; complete it before deleting it."]
            )
        stamp = now_iso()
        for issue in state.issues.values():
            if issue.sprint_id == sprint.id:
                issue.sprint_id = None
                issue.updated = stamp
        del state.sprints[sprint.id]
        state.save()
    return Response(status_code=204)


def _issue_list(body: object, limit: int) -> list[str] | Response:
    keys = body.get("issues") if isinstance(body, Mapping) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        return jira_error(400, ["'issues' must list at least one issue key or id."])
    if len(keys) > limit:
        return jira_error(400, [f"At most {limit} issues can be moved or ranked in one operation."])
    return keys


async def move_to_backlog(request: Request) -> Response:
    """`POST /backlog/issue`: the issues leave every sprint (sub-tasks with their parent)."""
    state = state_of(request)
    keys = _issue_list(body_of(request), MAX_SPRINT_MOVE)
    if isinstance(keys, Response):
        return keys
    with state.lock:
        issues = [state.find_issue(key) for key in keys]
        missing = [key for key, issue in zip(keys, issues, strict=True) if issue is None]
        if missing:
            return jira_error(
                400,
                [f"Issue '{missing[0]}' does not exist or you do not have permission to see it."],
            )
        stamp = now_iso()
        for issue in issues:
            assert issue is not None
            for moved in [issue, *state.subtasks_of(issue.key)]:
                moved.sprint_id = None
                moved.updated = stamp
        state.save()
    return Response(status_code=204)


async def rank_issues(request: Request) -> Response:
    """`PUT /issue/rank`: the issues, in the order given, just before `rankBeforeIssue` or
    just after `rankAfterIssue`. 204 when all were ranked, 207 with one entry per issue
    when some were not (an unknown issue)."""
    state = state_of(request)
    body = body_of(request)
    keys = _issue_list(body, MAX_RANK)
    if isinstance(keys, Response):
        return keys
    assert isinstance(body, Mapping)
    before, after = body.get("rankBeforeIssue"), body.get("rankAfterIssue")
    if (before is None) == (after is None):
        return jira_error(400, ["Give exactly one of rankBeforeIssue and rankAfterIssue."])
    # Jira ranks by the field given (its numeric customId), by default the "Rank" field; the
    # sandbox keeps one order, so it takes only that field.
    field = body.get("rankCustomFieldId")
    if field is not None and field != int(RANK_FIELD.removeprefix("customfield_")):
        return jira_error(400, [f"The custom field {field} is not a rank field."])
    with state.lock:
        anchor = state.find_issue(str(before if before is not None else after))
        if anchor is None:
            return jira_error(
                400, [f"Issue '{before or after}' does not exist or you do not have permission."]
            )
        if anchor.key in {i.key for k in keys if (i := state.find_issue(k)) is not None}:
            return jira_error(400, ["An issue cannot be ranked relative to itself."])
        found = [(key, state.find_issue(key)) for key in keys]
        ranked = [issue.key for _, issue in found if issue is not None]
        order = [k for k in state.ranking if k in state.issues and k not in ranked]
        at = order.index(anchor.key) + (0 if before is not None else 1)
        state.ranking = [*order[:at], *ranked, *order[at:]]
        stamp = now_iso()
        for _, issue in found:
            if issue is not None:
                issue.updated = stamp
        state.save()
        if all(issue is not None for _, issue in found):
            return Response(status_code=204)
        entries = [
            {
                "issueId": issue.id if issue is not None else 0,
                "issueKey": issue.key if issue is not None else key,
                "status": 200 if issue is not None else 404,
                "errors": [] if issue is not None else [f"Issue '{key}' does not exist."],
            }
            for key, issue in found
        ]
        return JSONResponse({"entries": entries}, status_code=207)


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/rest/agile/1.0/board", list_boards, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/board/{board_id}", get_board, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/board/{board_id}/sprint", board_sprints, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/sprint", create_sprint, methods=["POST"])
    router.add_api_route("/rest/agile/1.0/sprint/{sprint_id}", get_sprint, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/sprint/{sprint_id}", update_sprint, methods=["POST"])
    router.add_api_route("/rest/agile/1.0/sprint/{sprint_id}", delete_sprint, methods=["DELETE"])
    router.add_api_route("/rest/agile/1.0/backlog/issue", move_to_backlog, methods=["POST"])
    router.add_api_route("/rest/agile/1.0/issue/rank", rank_issues, methods=["PUT"])
    router.add_api_route(
        "/rest/agile/1.0/sprint/{sprint_id}/issue", move_to_sprint, methods=["POST"]
    )
    return router

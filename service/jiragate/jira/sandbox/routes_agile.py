"""Agile (Jira Software) endpoints: boards (with their project location), board sprints, one
sprint, and moving issues to a sprint."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import as_int, body_of, state_of
from jiragate.jira.sandbox.render import board_json, jira_error, page_json, sprint_json
from jiragate.jira.sandbox.state import issue_type, now_iso

# Atlassian: "The maximum number of issues that can be moved in one operation is 50."
MAX_SPRINT_MOVE = 50
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


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/rest/agile/1.0/board", list_boards, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/board/{board_id}", get_board, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/board/{board_id}/sprint", board_sprints, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/sprint/{sprint_id}", get_sprint, methods=["GET"])
    router.add_api_route(
        "/rest/agile/1.0/sprint/{sprint_id}/issue", move_to_sprint, methods=["POST"]
    )
    return router

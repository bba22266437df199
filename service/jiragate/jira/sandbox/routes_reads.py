"""The reads the catalog's read actions need that no other route module serves: a project's
components, edit metadata, assignable users, an issue's changelog (createmeta and resolutions
are routes_site's), and the Agile issue lists of a board, its backlog and a sprint. Both
flavours; strict where Jira is strict (unknown project or issue type: 400/404 as Jira answers,
bad paging: 400)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import as_int, body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.history import history_json
from jiragate.jira.sandbox.jql import JQLError, compile_jql
from jiragate.jira.sandbox.render import (
    ALL_FIELDS,
    api_base,
    issue_json,
    jira_error,
    priority_json,
    select_fields,
    user_json,
    version_json,
)
from jiragate.jira.sandbox.state import (
    EPIC_NAME_FIELD,
    STORY_POINTS_FIELD,
    Component,
    Issue,
    Project,
    SandboxState,
    status,
)

# Jira Software: "maxResults ... default 50"; larger pages are cut to 50 (the agile cap).
AGILE_PAGE = 50


def _page(request: Request, default: int = 50) -> tuple[int, int] | None:
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), default)
    if start is None or size is None or start < 0 or size < 0:
        return None
    return start, size


def _bad_page() -> JSONResponse:
    return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])


def _no_project(key: str) -> JSONResponse:
    return jira_error(404, [f"No project could be found with key '{key}'."])


def _no_issue() -> JSONResponse:
    return jira_error(404, ["Issue does not exist or you do not have permission to see it."])


# --------------------------------------------------------------------------- components


def component_json(state: SandboxState, component: Component, flavour: str) -> dict[str, Any]:
    project = state.projects[component.project_key]
    body: dict[str, Any] = {
        "self": f"{api_base(state, flavour)}/component/{component.id}",
        "id": str(component.id),
        "name": component.name,
        "description": component.description,
        "assigneeType": "PROJECT_DEFAULT",
        "isAssigneeTypeValid": False,
        "project": project.key,
        "projectId": project.id,
    }
    lead = state.users.get(component.lead or "")
    if lead is not None:
        body["lead"] = user_json(state, lead, flavour)
        body["leadAccountId"] = lead.account_id
    return body


async def project_components(request: Request) -> Response:
    """`GET /project/{key}/components`: every component of the project, as a plain list."""
    state, flavour = state_of(request), flavour_of(request)
    key = request.path_params["key"]
    with state.lock:
        project = state.find_project(key)
        if project is None:
            return _no_project(key)
        return JSONResponse(
            [
                component_json(state, c, flavour)
                for c in sorted(state.components.values(), key=lambda c: c.name.lower())
                if c.project_key == project.key
            ]
        )


#: `GET /project/{key}/component`'s `orderBy` fields the sandbox sorts by (Jira's spec also
#: has issueCount and lead).
_COMPONENT_ORDER = ("description", "name")


async def project_components_page(request: Request) -> Response:
    """`GET /project/{key}/component` (Cloud only): a page of the project's components
    (`PageBeanComponentWithIssueCount`), `query` matching the name or description, sorted
    by `orderBy` (default name). Data Center has only the plain list (`/components`)."""
    state, flavour = state_of(request), flavour_of(request)
    if state.profile != "cloud":
        return jira_error(404, [f"Null or unsupported resource: GET {request.url.path}"])
    page = _page(request)
    if page is None:
        return _bad_page()
    start, size = page
    order = request.query_params.get("orderBy") or "name"
    if order.lstrip("+-") not in _COMPONENT_ORDER:
        return jira_error(400, [f"orderBy must be one of {', '.join(_COMPONENT_ORDER)}."])
    source = request.query_params.get("componentSource") or "jira"
    if source not in ("jira", "compass", "auto"):
        return jira_error(400, ["componentSource must be jira, compass or auto."])
    text = (request.query_params.get("query") or "").lower()
    key = request.path_params["key"]
    with state.lock:
        project = state.find_project(key)
        if project is None:
            return _no_project(key)
        found = [
            c
            for c in state.components.values()
            if c.project_key == project.key
            and source != "compass"  # the sandbox has no Compass components
            and (text in c.name.lower() or text in c.description.lower())
        ]
        field = order.lstrip("+-")
        found.sort(key=lambda c: str(getattr(c, field)).lower(), reverse=order.startswith("-"))
        # `ComponentWithIssueCount`: the component as listed, with its issue count and
        # without `leadAccountId` (that schema has only `lead`).
        values = [
            {
                **{
                    k: v
                    for k, v in component_json(state, c, flavour).items()
                    if k != "leadAccountId"
                },
                "issueCount": _issue_count(state, c),
            }
            for c in found[start : start + size]
        ]
        base = api_base(state, flavour)
        return JSONResponse(
            {
                "self": f"{base}/project/{project.key}/component?maxResults={size}&startAt={start}",
                "maxResults": size,
                "startAt": start,
                "total": len(found),
                "isLast": start + size >= len(found),
                "values": values,
            }
        )


def _issue_count(state: SandboxState, component: Component) -> int:
    return sum(1 for issue in state.issues.values() if component.id in issue.components)


# --------------------------------------------------------------------------- resolutions


# --------------------------------------------------------------------------- create/edit meta


def _meta_field(
    field_id: str,
    name: str,
    schema: dict[str, Any],
    *,
    required: bool = False,
    allowed: list[Any] | None = None,
    operations: Iterable[str] = ("set",),
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "fieldId": field_id,
        "key": field_id,
        "name": name,
        "required": required,
        "schema": schema,
        "operations": list(operations),
        "hasDefaultValue": False,
    }
    if allowed is not None:
        field["allowedValues"] = allowed
    return field


def _issue_fields(
    state: SandboxState, project: Project, type_name: str, flavour: str
) -> list[dict[str, Any]]:
    """The fields of the project's screen for `type_name`, with the values each allows."""
    versions = [version_json(state, v, flavour) for v in state.versions_of(project.id)]
    components = [
        component_json(state, c, flavour)
        for c in state.components.values()
        if c.project_key == project.key
    ]
    fields = [
        _meta_field("summary", "Summary", {"type": "string", "system": "summary"}, required=True),
        _meta_field(
            "priority",
            "Priority",
            {"type": "priority", "system": "priority"},
            allowed=[priority_json(state, p.name, flavour) for p in state.site.priorities],
        ),
        _meta_field(
            "labels",
            "Labels",
            {"type": "array", "items": "string", "system": "labels"},
            operations=("add", "set", "remove"),
        ),
        _meta_field("assignee", "Assignee", {"type": "user", "system": "assignee"}),
        _meta_field("description", "Description", {"type": "string", "system": "description"}),
        _meta_field("duedate", "Due date", {"type": "date", "system": "duedate"}),
        _meta_field(
            "components",
            "Components",
            {"type": "array", "items": "component", "system": "components"},
            allowed=components,
            operations=("add", "set", "remove"),
        ),
        _meta_field(
            "fixVersions",
            "Fix versions",
            {"type": "array", "items": "version", "system": "fixVersions"},
            allowed=versions,
            operations=("add", "set", "remove"),
        ),
        _meta_field(
            STORY_POINTS_FIELD,
            "Story Points",
            {
                "type": "number",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                "customId": int(STORY_POINTS_FIELD.removeprefix("customfield_")),
            },
        ),
    ]
    if type_name == "Epic" and state.site.epic_name_required:
        fields.append(
            _meta_field(
                EPIC_NAME_FIELD,
                "Epic Name",
                {
                    "type": "string",
                    "custom": "com.pyxis.greenhopper.jira:gh-epic-label",
                    "customId": int(EPIC_NAME_FIELD.removeprefix("customfield_")),
                },
                required=False,
            )
        )
    return fields


async def edit_meta(request: Request) -> Response:
    """`GET .../issue/{key}/editmeta`: the fields of the issue's edit screen, by id."""
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _no_issue()
        project = state.projects[issue.project_key]
        fields = _issue_fields(state, project, issue.issue_type, flavour)
        shown = {f["fieldId"]: {k: v for k, v in f.items() if k != "fieldId"} for f in fields}
        return JSONResponse({"fields": shown})


# --------------------------------------------------------------------------- users


async def assignable_users(request: Request) -> Response:
    """`GET .../user/assignable/search?project=KEY` (or `issueKey=`): who may be assigned
    there, matching `query` (Cloud) or `username` (DC). One of project or issueKey is
    required, as in Jira."""
    state, flavour = state_of(request), flavour_of(request)
    params = request.query_params
    page = _page(request)
    if page is None:
        return _bad_page()
    start, size = page
    with state.lock:
        project_ref, issue_key = params.get("project"), params.get("issueKey")
        if issue_key:
            issue = state.find_issue(issue_key)
            if issue is None:
                return _no_issue()
        elif project_ref:
            if state.find_project(project_ref) is None:
                return _no_project(project_ref)
        else:
            return jira_error(400, ["The 'project' or 'issueKey' query parameter is required."])
        text = (params.get("query") or params.get("username") or "").lower()
        found = [
            u
            for u in state.users.values()
            if u.active
            and (not text or any(text in v.lower() for v in (u.name, u.display_name, u.email)))
        ]
        return JSONResponse([user_json(state, u, flavour) for u in found[start : start + size]])


# --------------------------------------------------------------------------- changelog


async def issue_changelog(request: Request) -> Response:
    """`GET /rest/api/{2,3}/issue/{key}/changelog` (Cloud only; Data Center reads history with
    `expand=changelog`): a page of the issue's changes, oldest first."""
    state, flavour = state_of(request), flavour_of(request)
    if state.profile != "cloud":
        return jira_error(404, [f"Null or unsupported resource: GET {request.url.path}"])
    page = _page(request, 100)
    if page is None:
        return _bad_page()
    start, size = page
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _no_issue()
        entries = issue.history
        values = [history_json(state, h, flavour) for h in entries[start : start + size]]
        return JSONResponse(
            {
                "self": f"{api_base(state, flavour)}/issue/{issue.key}/changelog",
                "startAt": start,
                "maxResults": size,
                "total": len(entries),
                "isLast": start + size >= len(entries),
                "values": values,
            }
        )


async def bulk_changelogs(request: Request) -> Response:
    """`POST /rest/api/3/changelog/bulkfetch` (Cloud only): the changes of up to 1,000 issues,
    `maxResults` entries a page (default 1,000), paged by an opaque `nextPageToken`; unknown
    issues are left out, as Jira leaves out what the account cannot see."""
    state, flavour = state_of(request), flavour_of(request)
    if state.profile != "cloud":
        return jira_error(404, [f"Null or unsupported resource: POST {request.url.path}"])
    body = body_of(request)
    keys = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not 1 <= len(keys) <= 1000:
        return jira_error(400, ["issueIdsOrKeys must list between 1 and 1000 issues."])
    unknown = sorted(set(body) - {"issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken"})
    if unknown:
        return jira_error(400, [f"Unrecognized field {unknown[0]!r}."])
    size = body.get("maxResults", 1000)
    token = body.get("nextPageToken") or "0"
    if not isinstance(size, int) or not 1 <= size <= 10000 or not str(token).isdigit():
        return jira_error(400, ["maxResults or nextPageToken is not valid."])
    fields = set(body.get("fieldIds") or [])
    with state.lock:
        entries: list[tuple[Any, Any]] = []
        for ref in keys:
            issue = state.find_issue(str(ref))
            if issue is not None:
                entries.extend((issue, h) for h in issue.history)
        start = int(token)
        page = entries[start : start + size]
        logs: dict[int, dict[str, Any]] = {}
        for issue, change in page:
            shown = history_json(state, change, flavour)
            if fields:
                shown["items"] = [
                    i for i in shown["items"] if i.get("fieldId", i.get("field")) in fields
                ]
                if not shown["items"]:
                    continue
            logs.setdefault(issue.id, {"issueId": str(issue.id), "changeHistories": []})
            logs[issue.id]["changeHistories"].append(shown)
        more = start + size < len(entries)
        answer: dict[str, Any] = {"issueChangeLogs": list(logs.values())}
        if more:
            answer["nextPageToken"] = str(start + size)
        return JSONResponse(answer)


# --------------------------------------------------------------------------- agile issue lists


def _agile_flavour(state: SandboxState) -> str:
    return "cloud" if state.profile == "cloud" else "dc"


def _issue_page(request: Request, state: SandboxState, issues: list[Issue]) -> Response:
    """A page of `issues` narrowed by `jql` (Jira Software ANDs it with the board's filter),
    as Jira Software's SearchResults."""
    page = _page(request)
    if page is None:
        return _bad_page()
    start, size = page
    size = min(size, AGILE_PAGE)
    jql = request.query_params.get("jql")
    if jql:
        try:
            issues = compile_jql(jql, state, current_user(request)).run(issues)
        except JQLError as exc:
            return jira_error(400, [str(exc)])
    fields = select_fields(request.query_params.getlist("fields"), ALL_FIELDS)
    flavour = _agile_flavour(state)
    return JSONResponse(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(issues),
            "issues": [issue_json(state, i, flavour, fields) for i in issues[start : start + size]],
        }
    )


def _board_issues(state: SandboxState, board_id: int) -> list[Issue] | None:
    board = state.boards.get(board_id)
    if board is None:
        return None
    return [
        i for i in state.issues.values() if i.project_key == board.project_key and not i.archived
    ]


def _board_missing(request: Request) -> JSONResponse:
    return jira_error(404, [f"Board {request.path_params['board_id']} does not exist."])


async def board_issues(request: Request) -> Response:
    """`GET /rest/agile/1.0/board/{id}/issue`: every issue on the board (its project's)."""
    state = state_of(request)
    with state.lock:
        issues = _board_issues(state, as_int(request.path_params["board_id"], 0) or -1)
        if issues is None:
            return _board_missing(request)
        return _issue_page(request, state, issues)


async def board_backlog(request: Request) -> Response:
    """`GET /rest/agile/1.0/board/{id}/backlog`: the board's issues in no open (active or
    future) sprint and not done, as a scrum board's backlog shows them."""
    state = state_of(request)
    with state.lock:
        issues = _board_issues(state, as_int(request.path_params["board_id"], 0) or -1)
        if issues is None:
            return _board_missing(request)
        open_sprints = {s.id for s in state.sprints.values() if s.state in {"active", "future"}}
        backlog = [
            i
            for i in issues
            if i.sprint_id not in open_sprints and status(i.status).category_key != "done"
        ]
        return _issue_page(request, state, backlog)


async def sprint_issues(request: Request) -> Response:
    """`GET /rest/agile/1.0/sprint/{id}/issue`: the issues in the sprint."""
    state = state_of(request)
    sprint_id = as_int(request.path_params["sprint_id"], 0) or -1
    with state.lock:
        if sprint_id not in state.sprints:
            return jira_error(
                404, [f"Sprint with id {request.path_params['sprint_id']} not found."]
            )
        issues = [i for i in state.issues.values() if i.sprint_id == sprint_id and not i.archived]
        return _issue_page(request, state, issues)


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("2", "3"):
        base = f"/rest/api/{version}"
        router.add_api_route(
            f"{base}/project/{{key}}/components", project_components, methods=["GET"]
        )
        router.add_api_route(
            f"{base}/project/{{key}}/component", project_components_page, methods=["GET"]
        )
        router.add_api_route(f"{base}/issue/{{key}}/editmeta", edit_meta, methods=["GET"])
        router.add_api_route(f"{base}/issue/{{key}}/changelog", issue_changelog, methods=["GET"])
        router.add_api_route(f"{base}/changelog/bulkfetch", bulk_changelogs, methods=["POST"])
        router.add_api_route(f"{base}/user/assignable/search", assignable_users, methods=["GET"])
    agile = "/rest/agile/1.0"
    router.add_api_route(f"{agile}/board/{{board_id}}/issue", board_issues, methods=["GET"])
    router.add_api_route(f"{agile}/board/{{board_id}}/backlog", board_backlog, methods=["GET"])
    router.add_api_route(f"{agile}/sprint/{{sprint_id}}/issue", sprint_issues, methods=["GET"])
    return router

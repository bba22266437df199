"""Fields, projects and versions (releases), for both flavours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import as_int, body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.render import (
    api_base,
    field_catalog,
    issue_type_json,
    jira_error,
    page_json,
    user_json,
    version_json,
)
from jiragate.jira.sandbox.state import Version

_VERSION_KEYS = ("description", "startDate", "releaseDate", "released", "archived", "name")


async def list_fields(request: Request) -> Response:
    return JSONResponse(field_catalog(flavour_of(request)))


def _no_project(request: Request) -> Response:
    return jira_error(404, [f"No project could be found with key '{request.path_params['key']}'."])


async def get_project(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        project = state.find_project(request.path_params["key"])
        if project is None:
            return _no_project(request)
        versions = state.versions_of(project.id)
        return JSONResponse(
            {
                "self": f"{api_base(state, flavour)}/project/{project.id}",
                "id": str(project.id),
                "key": project.key,
                "name": project.name,
                "description": "",
                "lead": user_json(state, state.users.get(project.lead), flavour),
                "assigneeType": "PROJECT_LEAD",
                "projectTypeKey": "software",
                "simplified": False,
                "style": "classic",
                "isPrivate": False,
                "components": [],
                "issueTypes": [
                    issue_type_json(state, t.name, flavour) for t in state.site.issue_types
                ],
                "versions": [version_json(state, v, flavour) for v in versions],
            }
        )


def _apply_version(version: Version, body: Mapping[str, Any]) -> None:
    if "name" in body:
        version.name = str(body["name"])
    if "description" in body:
        version.description = str(body["description"])
    if "startDate" in body:
        version.start_date = body["startDate"]
    if "releaseDate" in body:
        version.release_date = body["releaseDate"]
    if "released" in body:
        version.released = bool(body["released"])
    if "archived" in body:
        version.archived = bool(body["archived"])


def _name_taken(state: Any, project_id: int, name: str, other_than: int | None = None) -> bool:
    return any(
        v.project_id == project_id and v.name == name and v.id != other_than
        for v in state.versions.values()
    )


async def create_version(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a version object."])
    name = body.get("name")
    with state.lock:
        ident = body.get("projectId", body.get("project"))
        project = state.find_project(ident) if ident is not None else None
        errors: dict[str, str] = {}
        if project is None:
            errors["project"] = "Project must be specified (projectId or project key)."
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "You must specify a valid version name"
        elif project is not None and _name_taken(state, project.id, name):
            errors["name"] = "A version with this name already exists in this project."
        if errors or project is None:
            return jira_error(400, [], errors)
        version = Version(state.next_version_id, project.id, str(name))
        state.next_version_id += 1
        _apply_version(version, body)
        state.versions[version.id] = version
        state.save()
        return JSONResponse(version_json(state, version, flavour), status_code=201)


async def get_version(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        raw_id = request.path_params["version_id"]
        version = state.versions.get(int(raw_id)) if raw_id.isdigit() else None
        if version is None:
            return jira_error(404, [f"Could not find version for id '{raw_id}'"])
        return JSONResponse(version_json(state, version, flavour))


async def project_versions(request: Request) -> Response:
    """`GET /project/{key}/versions`: every version of the project, as a plain list."""
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        project = state.find_project(request.path_params["key"])
        if project is None:
            return _no_project(request)
        return JSONResponse(
            [version_json(state, v, flavour) for v in state.versions_of(project.id)]
        )


#: `GET /project/{key}/version`'s `orderBy` fields (Jira's spec; its `status` values are
#: released, unreleased and archived).
_VERSION_ORDER = ("description", "name", "releaseDate", "sequence", "startDate")


def _version_status(version: Version) -> str:
    if version.archived:
        return "archived"
    return "released" if version.released else "unreleased"


async def project_versions_page(request: Request) -> Response:
    """`GET /project/{key}/version`: a page of the project's versions (`PageBeanVersion`),
    filtered by `status` (comma-separated released, unreleased, archived) and `query` (in the
    name or description, case-insensitive), sorted by `orderBy` (`-name`: descending)."""
    state, flavour = state_of(request), flavour_of(request)
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), 50)
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    # The spec declares no 400 here: a status no version has matches nothing.
    statuses = [s for s in (request.query_params.get("status") or "").split(",") if s]
    order = request.query_params.get("orderBy") or "sequence"
    field = order.lstrip("+-")
    if field not in _VERSION_ORDER:
        return jira_error(400, [f"orderBy must be one of {', '.join(_VERSION_ORDER)}."])
    text = (request.query_params.get("query") or "").lower()
    with state.lock:
        project = state.find_project(request.path_params["key"])
        if project is None:
            return _no_project(request)
        found = [
            v
            for v in state.versions_of(project.id)
            if (not statuses or _version_status(v) in statuses)
            and (text in v.name.lower() or text in v.description.lower())
        ]
        keys = {
            "description": lambda v: v.description.lower(),
            "name": lambda v: v.name.lower(),
            "releaseDate": lambda v: v.release_date or "",
            "sequence": lambda v: v.id,
            "startDate": lambda v: v.start_date or "",
        }
        found.sort(key=keys[field], reverse=order.startswith("-"))
        base = api_base(state, flavour)
        answer = page_json(found, start, size, lambda v: version_json(state, v, flavour))
        own = f"{base}/project/{project.key}/version?maxResults={size}&startAt={start}"
        return JSONResponse({"self": own, **answer})


async def update_version(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a version object."])
    with state.lock:
        raw_id = request.path_params["version_id"]
        version = state.versions.get(int(raw_id)) if raw_id.isdigit() else None
        if version is None:
            return jira_error(404, [f"Could not find version for id '{raw_id}'"])
        name = body.get("name")
        if isinstance(name, str) and _name_taken(state, version.project_id, name, version.id):
            return jira_error(
                400, [], {"name": "A version with this name already exists in this project."}
            )
        _apply_version(version, body)
        state.save()
        return JSONResponse(version_json(state, version, flavour))


async def get_user(request: Request) -> Response:
    """`GET /user?accountId=` (Cloud) or `?username=` (Data Center)."""
    state, flavour = state_of(request), flavour_of(request)
    account_id = request.query_params.get("accountId")
    username = request.query_params.get("username")
    if account_id is None and username is None:
        return jira_error(400, ["Specify accountId (or username on Data Center)."])
    with state.lock:
        user = state.find_user(account_id=account_id, name=username)
        if user is None:
            who = account_id if account_id is not None else username
            return jira_error(404, [f"The user with account ID '{who}' does not exist"])
        return JSONResponse(user_json(state, user, flavour))


async def myself(request: Request) -> Response:
    """`GET /myself`: the account the credential belongs to."""
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        user = current_user(request)
        if user is None:  # pragma: no cover - every authenticated call acts as someone
            return jira_error(401, ["You are not authenticated."])
        return JSONResponse(user_json(state, user, flavour))


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("2", "3"):
        base = f"/rest/api/{version}"
        router.add_api_route(f"{base}/field", list_fields, methods=["GET"])
        router.add_api_route(f"{base}/user", get_user, methods=["GET"])
        router.add_api_route(f"{base}/myself", myself, methods=["GET"])
        router.add_api_route(f"{base}/project/{{key}}", get_project, methods=["GET"])
        router.add_api_route(f"{base}/version", create_version, methods=["POST"])
        router.add_api_route(f"{base}/project/{{key}}/versions", project_versions, methods=["GET"])
        router.add_api_route(
            f"{base}/project/{{key}}/version", project_versions_page, methods=["GET"]
        )
        router.add_api_route(f"{base}/version/{{version_id}}", get_version, methods=["GET"])
        router.add_api_route(f"{base}/version/{{version_id}}", update_version, methods=["PUT"])
    return router

"""Site-wide reads real clients make first (serverInfo, projects, priorities, issue types,
statuses, user search, link types), the per-issue extras they use (watchers, worklogs,
issue links), and project administration (deleting and merging versions, components), in
both flavours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox import fields as field_setters
from jiragate.jira.sandbox.context import as_int, body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.render import (
    api_base,
    component_json,
    field_catalog,
    issue_type_json,
    jira_error,
    link_type_json,
    page_json,
    priority_json,
    project_ref,
    status_json,
    user_json,
    version_json,
)
from jiragate.jira.sandbox.state import (
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    LINK_TYPES,
    RESOLUTIONS,
    SPRINT_FIELD,
    STATUSES,
    Component,
    Issue,
    SandboxState,
    User,
    Version,
    adf_to_text,
    now_iso,
)

ASSIGNEE_TYPES = ("PROJECT_DEFAULT", "COMPONENT_LEAD", "PROJECT_LEAD", "UNASSIGNED")

SERVER_VERSION = {
    "cloud": ("1001.0.0-SNAPSHOT", [1001, 0, 0]),
    "datacenter": ("9.12.2", [9, 12, 2]),
}


def _not_found(key: str) -> JSONResponse:
    return jira_error(404, ["Issue does not exist or you do not have permission to see it."])


async def server_info(request: Request) -> Response:
    """`GET /serverInfo`: clients read `deploymentType` to pick Cloud or Server behaviour."""
    state = state_of(request)
    version, numbers = SERVER_VERSION[state.profile]
    return JSONResponse(
        {
            "baseUrl": state.base_url,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": "Cloud" if state.profile == "cloud" else "Server",
            "buildNumber": 100260 if state.profile == "cloud" else 9120002,
            "buildDate": "2024-05-01T00:00:00.000+0000",
            "serverTime": now_iso(),
            "scmInfo": "sandbox",
            "serverTitle": "Jiragate sandbox",
        }
    )


async def list_projects(request: Request) -> Response:
    """`GET /project`: every project, as a plain list (deprecated on Cloud, still served)."""
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        return JSONResponse([project_ref(state, p, flavour) for p in state.projects.values()])


async def search_projects(request: Request) -> Response:
    """`GET /project/search`: a page of projects, `query` matching key or name."""
    state, flavour = state_of(request), flavour_of(request)
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), 50)
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    query = (request.query_params.get("query") or "").lower()
    with state.lock:
        found = [
            p for p in state.projects.values() if query in p.key.lower() or query in p.name.lower()
        ]
        answer = page_json(found, start, size, lambda p: project_ref(state, p, flavour))
        return JSONResponse({"self": f"{api_base(state, flavour)}/project/search", **answer})


async def projects_picker(request: Request) -> Response:
    """`GET /rest/api/2/projects/picker?query=`: the project picker Data Center clients use
    (mcp-atlassian's project search), matching key or name."""
    state, flavour = state_of(request), flavour_of(request)
    query = (request.query_params.get("query") or "").lower()
    with state.lock:
        found = [
            p for p in state.projects.values() if query in p.key.lower() or query in p.name.lower()
        ]
        return JSONResponse(
            {
                "header": f"Showing {len(found)} of {len(found)} matching projects",
                "total": len(found),
                "projects": [
                    {**project_ref(state, p, flavour), "html": f"{p.name} ({p.key})"} for p in found
                ],
            }
        )


async def create_meta_issue_types(request: Request) -> Response:
    """`GET .../issue/createmeta/{project}/issuetypes`: the types one can create in the
    project, paged; Cloud names the list `issueTypes`, Data Center `values`. An unknown
    project is a 400 (the spec declares no 404 here)."""
    state, flavour = state_of(request), flavour_of(request)
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), 50)
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    with state.lock:
        project = state.find_project(request.path_params["project"])
        if project is None:
            return jira_error(
                400, [f"No project could be found with key '{request.path_params['project']}'."]
            )
        types = [issue_type_json(state, t.name, flavour) for t in state.site.issue_types]
        page = types[start : start + size]
        listed = "issueTypes" if state.profile == "cloud" else "values"
        return JSONResponse(
            {"startAt": start, "maxResults": size, "total": len(types), listed: page}
        )


def _screen_field_ids(state: SandboxState, project: str, type_name: str) -> list[str]:
    """The fields on a project's create screen for one issue type (createmeta)."""
    ids = ["summary", "issuetype", "project", "reporter", "priority", "labels", "description"]
    ids += ["assignee", "fixVersions", "duedate", SPRINT_FIELD]
    ids += list(state.site.story_fields.get(project, ()))
    if type_name == "Epic" and state.site.epic_name_required:
        ids.append(EPIC_NAME_FIELD)
    if state.profile == "datacenter" and type_name != "Epic":
        ids.append(EPIC_LINK_FIELD)
    subtask = type_name in {t.name for t in state.site.issue_types if t.subtask}
    if state.profile == "cloud" or subtask:
        ids.append("parent")
    return ids


def _create_fields(
    state: SandboxState, project: Any, kind: Any, flavour: str
) -> list[dict[str, Any]]:
    """The fields one can set creating `kind` in `project`, as createmeta lists them (hold
    the lock)."""
    catalog = {f["id"]: f for f in field_catalog(flavour)}
    required = {"summary", "issuetype", "project", "reporter", EPIC_NAME_FIELD}
    # The values a field takes, where Jira lists them (jira_get_field_options reads them).
    allowed: dict[str, list[dict[str, Any]]] = {
        "priority": [priority_json(state, p.name, flavour) for p in state.site.priorities],
        "fixVersions": [version_json(state, v, flavour) for v in state.versions_of(project.id)],
    }
    return [
        {
            "fieldId": field_id,
            "key": field_id,
            "name": catalog[field_id]["name"],
            "required": field_id in required or (field_id == "parent" and kind.subtask),
            "schema": catalog[field_id]["schema"],
            "hasDefaultValue": field_id == "priority",
            "operations": ["set"],
            **({"allowedValues": allowed[field_id]} if field_id in allowed else {}),
        }
        for field_id in _screen_field_ids(state, project.key, kind.name)
    ]


async def create_meta_fields(request: Request) -> Response:
    """`GET .../issue/createmeta/{project}/issuetypes/{issueTypeId}`: the fields one can set
    when creating that type in that project (Cloud lists them as `fields`, DC `values`)."""
    state, flavour = state_of(request), flavour_of(request)
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), 50)
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    with state.lock:
        project = state.find_project(request.path_params["project"])
        wanted = request.path_params["type_id"]
        kind = next((t for t in state.site.issue_types if t.id == wanted), None)
        if project is None or kind is None:
            return jira_error(400, ["The project or issue type could not be found."])
        listed = _create_fields(state, project, kind, flavour)
        page = listed[start : start + size]
        name = "fields" if state.profile == "cloud" else "values"
        return JSONResponse(
            {"startAt": start, "maxResults": size, "total": len(listed), name: page}
        )


def _listed(request: Request, name: str) -> list[str]:
    """A list parameter as Jira reads it: repeated (`projectKeys=A&projectKeys=B`) or
    comma-separated (`projectKeys=A,B`, what pycontribs sends)."""
    values = request.query_params.getlist(name)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


async def create_meta(request: Request) -> Response:
    """`GET .../issue/createmeta?projectKeys=&issuetypeNames=&expand=projects.issuetypes.fields`
    (deprecated in Jira 9 and on Cloud, still what older clients send): per project the issue
    types one can create, with their fields when `expand` asks. Projects and types by key or
    id, by name or id; none named: every one. What names nothing Jira has is left out, as
    Jira leaves out what the account cannot see (an empty `projects`, never a 404)."""
    state, flavour = state_of(request), flavour_of(request)
    keys = {k.upper() for k in _listed(request, "projectKeys")}
    project_ids = set(_listed(request, "projectIds"))
    type_names = set(_listed(request, "issuetypeNames"))
    type_ids = set(_listed(request, "issuetypeIds"))
    expand = {e.strip() for e in (request.query_params.get("expand") or "").split(",")}
    with_fields = "projects.issuetypes.fields" in expand
    base = api_base(state, flavour)
    with state.lock:
        projects = [
            p
            for p in state.projects.values()
            if (not keys and not project_ids) or p.key in keys or str(p.id) in project_ids
        ]
        listed = []
        for project in projects:
            kinds = [
                t
                for t in state.site.issue_types
                if (not type_names and not type_ids) or t.name in type_names or t.id in type_ids
            ]
            types = []
            for kind in kinds:
                shown = issue_type_json(state, kind.name, flavour)
                if with_fields:
                    fields = _create_fields(state, project, kind, flavour)
                    # FieldMetadata, keyed by the field's id (no `fieldId` in this form).
                    shown["fields"] = {
                        f["key"]: {k: v for k, v in f.items() if k != "fieldId"} for f in fields
                    }
                types.append(shown)
            listed.append(
                {
                    "self": f"{base}/project/{project.id}",
                    "id": str(project.id),
                    "key": project.key,
                    "name": project.name,
                    "issuetypes": types,
                }
            )
        return JSONResponse({"projects": listed})


async def list_resolutions(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    base = api_base(state, flavour)
    return JSONResponse(
        [
            {"self": f"{base}/resolution/{r.id}", "id": r.id, "name": r.name, "description": ""}
            for r in RESOLUTIONS
        ]
    )


async def list_priorities(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    return JSONResponse([priority_json(state, p.name, flavour) for p in state.site.priorities])


async def list_issue_types(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    return JSONResponse([issue_type_json(state, t.name, flavour) for t in state.site.issue_types])


async def list_statuses(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    return JSONResponse([status_json(state, s.name, flavour) for s in STATUSES])


def _matches(user: User, text: str) -> bool:
    lowered = text.lower()
    return any(lowered in value.lower() for value in (user.name, user.display_name, user.email))


async def search_users(request: Request) -> Response:
    """`GET /user/search?query=` (Cloud) or `?username=` (Data Center); one of them is
    required, as in Jira."""
    state, flavour = state_of(request), flavour_of(request)
    params = request.query_params
    text = params.get("query") or params.get("username") or params.get("accountId")
    if not text:
        return jira_error(400, ["The query parameter 'query' (or 'username') is required."])
    start = as_int(params.get("startAt"), 0)
    size = as_int(params.get("maxResults"), 50)
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    with state.lock:
        found = [u for u in state.users.values() if u.account_id == text or _matches(u, text)]
        return JSONResponse([user_json(state, u, flavour) for u in found[start : start + size]])


async def list_link_types(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    return JSONResponse(
        {"issueLinkTypes": [link_type_json(state, t[0], flavour) for t in LINK_TYPES]}
    )


def _find_link_type(ref: object) -> str | None:
    if not isinstance(ref, Mapping):
        return None
    for ident, name, _, _ in LINK_TYPES:
        if str(ref.get("id")) == ident or str(ref.get("name", "")).lower() == name.lower():
            return ident
    return None


def _issue_ref(state: SandboxState, ref: object) -> Issue | None:
    if not isinstance(ref, Mapping):
        return None
    ident = ref.get("key", ref.get("id"))
    return state.find_issue(str(ident)) if ident is not None else None


async def create_link(request: Request) -> Response:
    """`POST /issueLink`: `{type: {name|id}, inwardIssue: {key}, outwardIssue: {key}}`."""
    state = state_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be an issue link object."])
    with state.lock:
        link_type = _find_link_type(body.get("type"))
        if link_type is None:
            return jira_error(404, ["No issue link type with name or id given was found."])
        inward = _issue_ref(state, body.get("inwardIssue"))
        outward = _issue_ref(state, body.get("outwardIssue"))
        if inward is None or outward is None:
            return jira_error(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        duplicate = any(
            link.get("outwardIssue") == outward.key and link["type"] == link_type
            for link in inward.links
        )
        if duplicate:  # Jira keeps one link per type and ordered pair
            return Response(status_code=201)
        ident = state.next_misc()
        inward.links.append({"id": ident, "type": link_type, "outwardIssue": outward.key})
        outward.links.append({"id": ident, "type": link_type, "inwardIssue": inward.key})
        inward.updated = outward.updated = now_iso()
        state.save()
    return Response(status_code=201)


async def get_watchers(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        watchers = [state.users[a] for a in issue.watchers if a in state.users]
        return JSONResponse(
            {
                "self": f"{api_base(state, flavour)}/issue/{issue.key}/watchers",
                "isWatching": any(w is current_user(request) for w in watchers),
                "watchCount": len(watchers),
                "watchers": [user_json(state, w, flavour) for w in watchers],
            }
        )


async def add_watcher(request: Request) -> Response:
    """`POST .../watchers` with a JSON string body: an accountId (Cloud) or a username (DC);
    no body watches as the caller."""
    state = state_of(request)
    body = body_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        if body is None:
            user = current_user(request)
        elif isinstance(body, str):
            user = state.find_user(account_id=body) or state.find_user(name=body)
        else:
            return jira_error(400, ["The body must be a JSON string: the user to add."])
        if user is None:
            return jira_error(404, [f"The user {body!r} does not exist."])
        if user.account_id not in issue.watchers:
            issue.watchers.append(user.account_id)
        state.save()
    return Response(status_code=204)


def _worklog_json(
    state: SandboxState,
    issue: Issue,
    log: Mapping[str, Any],
    flavour: str,
    *,
    properties: bool = False,
) -> Any:
    author = user_json(state, state.users.get(str(log["author"])), flavour)
    seconds = int(log["timeSpentSeconds"])
    extra: dict[str, Any] = {}
    if log.get("comment") is not None:
        comment = log["comment"]
        extra["comment"] = adf_to_text(comment) if flavour == "dc" else comment
    if properties:  # `expand=properties`
        extra["properties"] = [{"key": k, "value": v} for k, v in log.get("properties", {}).items()]
    return extra | {
        "self": f"{api_base(state, flavour)}/issue/{issue.id}/worklog/{log['id']}",
        "id": str(log["id"]),
        "issueId": str(issue.id),
        "author": author,
        "updateAuthor": author,
        "created": log["created"],
        "updated": log.get("updated", log["created"]),
        "started": log["started"],
        "timeSpent": _duration(seconds),
        "timeSpentSeconds": seconds,
    }


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds // 60, 60)
    return (
        " ".join(
            part for part in (f"{hours}h" if hours else "", f"{rest}m" if rest else "") if part
        )
        or "0m"
    )


_UNITS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}


def _seconds(body: Mapping[str, Any]) -> int | None:
    """`timeSpentSeconds`, else `timeSpent` in Jira's duration syntax ("1h 30m", "2d")."""
    raw = body.get("timeSpentSeconds")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw > 0 else None
    text = body.get("timeSpent")
    if not isinstance(text, str) or not text.split():
        return None
    total = 0
    for part in text.split():
        unit, number = part[-1:].lower(), part[:-1]
        if unit not in _UNITS or not number.isdigit():
            return None
        total += int(number) * _UNITS[unit]
    return total or None


async def list_worklogs(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        start = as_int(request.query_params.get("startAt"), 0)
        size = as_int(request.query_params.get("maxResults"), 5000)
        if start is None or size is None or start < 0 or size < 0:
            return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
        expand = {
            piece.strip()
            for item in request.query_params.getlist("expand")
            for piece in item.split(",")
        }
        logs = [
            _worklog_json(state, issue, log, flavour, properties="properties" in expand)
            for log in issue.worklogs[start : start + size]
        ]
        return JSONResponse(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.worklogs),
                "worklogs": logs,
            }
        )


async def add_worklog(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a worklog object."])
    seconds = _seconds(body)
    if seconds is None:
        return jira_error(400, [], {"timeLogged": "You must indicate the time spent working."})
    document, problem = field_setters.rich_text_value(body.get("comment"), flavour_of(request))
    if problem:
        return jira_error(400, [], {"comment": problem})
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        author = current_user(request)
        stamp = now_iso()
        log: dict[str, Any] = {
            "id": state.next_misc(),
            "author": author.account_id if author else "",
            "timeSpentSeconds": seconds,
            "started": str(body.get("started") or stamp),
            "created": stamp,
        }
        if document is not None:
            log["comment"] = document
        properties = {
            str(p["key"]): p.get("value")
            for p in body.get("properties") or []
            if isinstance(p, Mapping) and isinstance(p.get("key"), str)
        }
        if properties:
            log["properties"] = properties
        issue.worklogs.append(log)
        issue.updated = stamp
        state.save()
        return JSONResponse(_worklog_json(state, issue, log, flavour), status_code=201)


# --------------------------------------------------------------------------- versions


def _version(state: SandboxState, raw: str) -> Version | None:
    return state.versions.get(int(raw)) if raw.isdigit() else None


def _no_version(raw: object) -> JSONResponse:
    return jira_error(404, [f"Could not find version for id '{raw}'"])


def _swap_versions(
    state: SandboxState, gone: Version, fix: int | None, affected: int | None
) -> None:
    """Every issue's fix (and affects) versions lose `gone`, gaining the replacement if any."""
    stamp = now_iso()
    for issue in state.issues.values():
        for listed, replacement in ((issue.fix_versions, fix), (issue.affects_versions, affected)):
            if gone.id in listed:
                listed.remove(gone.id)
                if replacement is not None and replacement not in listed:
                    listed.append(replacement)
                issue.updated = stamp


def _replacement(
    state: SandboxState, version: Version, raw: str | None, name: str
) -> int | JSONResponse | None:
    """The version issues move to (`moveFixIssuesTo` and the like): another version of the
    same project, as Jira insists."""
    if raw is None or raw == "":
        return None
    target = _version(state, raw)
    if target is None:
        return jira_error(400, [], {name: f"Could not find version for id '{raw}'"})
    if target.id == version.id or target.project_id != version.project_id:
        return jira_error(
            400, [], {name: "Issues can only move to another version of the same project."}
        )
    return target.id


async def delete_version(request: Request) -> Response:
    """`DELETE /version/{id}?moveFixIssuesTo=&moveAffectedIssuesTo=`: issues lose the version,
    or move to the named version of the same project."""
    state = state_of(request)
    params = request.query_params
    with state.lock:
        version = _version(state, request.path_params["version_id"])
        if version is None:
            return _no_version(request.path_params["version_id"])
        fix = _replacement(state, version, params.get("moveFixIssuesTo"), "moveFixIssuesTo")
        if isinstance(fix, JSONResponse):
            return fix
        affected = _replacement(
            state, version, params.get("moveAffectedIssuesTo"), "moveAffectedIssuesTo"
        )
        if isinstance(affected, JSONResponse):
            return affected
        _swap_versions(state, version, fix, affected)
        del state.versions[version.id]
        state.save()
    return Response(status_code=204)


async def merge_version(request: Request) -> Response:
    """`PUT /version/{id}/mergeto/{moveIssuesTo}`: the version's issues (fix and affects)
    move to the other version of the same project, and the version is deleted."""
    state = state_of(request)
    with state.lock:
        version = _version(state, request.path_params["version_id"])
        if version is None:
            return _no_version(request.path_params["version_id"])
        target = _replacement(state, version, request.path_params["target"], "moveIssuesTo")
        if isinstance(target, JSONResponse):
            return target
        _swap_versions(state, version, target, target)
        del state.versions[version.id]
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- components


def _component(state: SandboxState, raw: str) -> Component | None:
    return state.components.get(int(raw)) if raw.isdigit() else None


def _no_component(raw: object) -> JSONResponse:
    return jira_error(404, [f"The component with id {raw} does not exist."])


def _component_errors(
    request: Request, body: Mapping[str, Any], project_key: str, other_than: int | None
) -> tuple[dict[str, str], User | None]:
    """Field errors of a component create/update body, and its lead (if it names one)."""
    state = state_of(request)
    errors: dict[str, str] = {}
    name = body.get("name")
    if "name" in body or other_than is None:
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "The component name must not be empty."
        elif len(name) > 255:
            errors["name"] = "The component name must be 255 characters or fewer."
        elif any(
            c.name.lower() == name.strip().lower() and c.id != other_than
            for c in state.components_of(project_key)
        ):
            errors["name"] = f"A component with the name {name} already exists in this project."
    kind = body.get("assigneeType")
    if kind is not None and kind not in ASSIGNEE_TYPES:
        errors["assigneeType"] = f"Use one of {', '.join(ASSIGNEE_TYPES)}."
    lead = None
    if body.get("leadAccountId") is not None:
        lead = state.find_user(account_id=str(body["leadAccountId"]))
        if lead is None:
            errors["leadAccountId"] = f"The user {body['leadAccountId']} does not exist."
    elif body.get("leadUserName") is not None:
        if state.profile != "datacenter":
            errors["leadUserName"] = "Jira Cloud names the lead by leadAccountId."
        else:
            lead = state.find_user(name=str(body["leadUserName"]))
            if lead is None:
                errors["leadUserName"] = f"The user {body['leadUserName']} does not exist."
    return errors, lead


def _apply_component(component: Component, body: Mapping[str, Any], lead: User | None) -> None:
    if "name" in body:
        component.name = str(body["name"]).strip()
    if "description" in body:
        component.description = str(body["description"] or "")
    if "assigneeType" in body and body["assigneeType"] is not None:
        component.assignee_type = str(body["assigneeType"])
    if lead is not None:
        component.lead = lead.account_id
    elif "leadAccountId" in body or "leadUserName" in body:
        component.lead = None  # an explicit null clears the lead; no key keeps it


async def create_component(request: Request) -> Response:
    """`POST /component`: `{project (key), name, description?, leadAccountId? (DC:
    leadUserName), assigneeType?}`; the name is unique in its project (case-insensitive)."""
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a component object."])
    with state.lock:
        project = state.find_project(body.get("project")) if body.get("project") else None
        if project is None:
            return jira_error(404, [f"No project could be found with key '{body.get('project')}'."])
        errors, lead = _component_errors(request, body, project.key, None)
        if errors:
            return jira_error(400, [], errors)
        component = Component(state.next_component_id, project.key, "")
        state.next_component_id += 1
        _apply_component(component, body, lead)
        state.components[component.id] = component
        state.save()
        return JSONResponse(component_json(state, component, flavour), status_code=201)


async def get_component(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        component = _component(state, request.path_params["component_id"])
        if component is None:
            return _no_component(request.path_params["component_id"])
        return JSONResponse(component_json(state, component, flavour))


async def project_components(request: Request) -> Response:
    """`GET /project/{key}/components`: every component of the project, as a plain list."""
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        project = state.find_project(request.path_params["key"])
        if project is None:
            return jira_error(
                404, [f"No project could be found with key '{request.path_params['key']}'."]
            )
        return JSONResponse(
            [component_json(state, c, flavour) for c in state.components_of(project.key)]
        )


async def update_component(request: Request) -> Response:
    """`PUT /component/{id}`: the fields given change; a component never changes project."""
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a component object."])
    with state.lock:
        component = _component(state, request.path_params["component_id"])
        if component is None:
            return _no_component(request.path_params["component_id"])
        if "project" in body and str(body["project"]).upper() != component.project_key:
            return jira_error(400, [], {"project": "A component cannot move to another project."})
        errors, lead = _component_errors(request, body, component.project_key, component.id)
        if errors:
            return jira_error(400, [], errors)
        _apply_component(component, body, lead)
        state.save()
        return JSONResponse(component_json(state, component, flavour))


async def delete_component(request: Request) -> Response:
    """`DELETE /component/{id}?moveIssuesTo=`: issues lose the component, or get the named
    component of the same project instead."""
    state = state_of(request)
    with state.lock:
        component = _component(state, request.path_params["component_id"])
        if component is None:
            return _no_component(request.path_params["component_id"])
        raw = request.query_params.get("moveIssuesTo")
        target = _component(state, raw) if raw else None
        if raw and (
            target is None
            or target.id == component.id
            or target.project_key != component.project_key
        ):
            return jira_error(
                404, [f"moveIssuesTo: no other component {raw} in project {component.project_key}."]
            )
        stamp = now_iso()
        for issue in state.issues.values():
            if component.id in issue.components:
                issue.components.remove(component.id)
                if target is not None and target.id not in issue.components:
                    issue.components.append(target.id)
                issue.updated = stamp
        del state.components[component.id]
        state.save()
    return Response(status_code=204)


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("2", "3"):
        base = f"/rest/api/{version}"
        router.add_api_route(f"{base}/serverInfo", server_info, methods=["GET"])
        router.add_api_route(f"{base}/project", list_projects, methods=["GET"])
        router.add_api_route(f"{base}/project/search", search_projects, methods=["GET"])
        router.add_api_route(f"{base}/priority", list_priorities, methods=["GET"])
        router.add_api_route(f"{base}/issue/createmeta", create_meta, methods=["GET"])
        router.add_api_route(
            f"{base}/issue/createmeta/{{project}}/issuetypes",
            create_meta_issue_types,
            methods=["GET"],
        )
        router.add_api_route(
            f"{base}/issue/createmeta/{{project}}/issuetypes/{{type_id}}",
            create_meta_fields,
            methods=["GET"],
        )
        router.add_api_route(f"{base}/resolution", list_resolutions, methods=["GET"])
        router.add_api_route(f"{base}/issuetype", list_issue_types, methods=["GET"])
        router.add_api_route(f"{base}/status", list_statuses, methods=["GET"])
        router.add_api_route(f"{base}/user/search", search_users, methods=["GET"])
        router.add_api_route(f"{base}/issueLinkType", list_link_types, methods=["GET"])
        router.add_api_route(f"{base}/issueLink", create_link, methods=["POST"])
        issue = f"{base}/issue/{{key}}"
        router.add_api_route(f"{issue}/watchers", get_watchers, methods=["GET"])
        router.add_api_route(f"{issue}/watchers", add_watcher, methods=["POST"])
        router.add_api_route(f"{issue}/worklog", list_worklogs, methods=["GET"])
        router.add_api_route(f"{issue}/worklog", add_worklog, methods=["POST"])
        version = f"{base}/version/{{version_id}}"
        router.add_api_route(version, delete_version, methods=["DELETE"])
        router.add_api_route(f"{version}/mergeto/{{target}}", merge_version, methods=["PUT"])
        router.add_api_route(f"{base}/component", create_component, methods=["POST"])
        component = f"{base}/component/{{component_id}}"
        router.add_api_route(component, get_component, methods=["GET"])
        router.add_api_route(component, update_component, methods=["PUT"])
        router.add_api_route(component, delete_component, methods=["DELETE"])
        router.add_api_route(
            f"{base}/project/{{key}}/components", project_components, methods=["GET"]
        )
    router.add_api_route("/rest/api/2/projects/picker", projects_picker, methods=["GET"])
    return router

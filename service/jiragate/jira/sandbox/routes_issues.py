"""Issue endpoints, for both flavours: create, bulk create, read, edit, delete, transitions,
assignee, comments, archive and entity properties."""

from __future__ import annotations

import copy
import dataclasses
import html
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox import fields as field_setters
from jiragate.jira.sandbox.context import as_int, body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.history import history_json, record_change
from jiragate.jira.sandbox.render import (
    ALL_FIELDS,
    api_base,
    bulk_error,
    field_catalog,
    issue_json,
    jira_error,
    property_names,
    select_fields,
    status_json,
    user_json,
)
from jiragate.jira.sandbox.state import (
    RESOLUTIONS,
    Comment,
    Issue,
    SandboxState,
    adf_to_text,
    issue_type,
    now_iso,
    status,
)

MAX_BULK = 50  # Atlassian: "The maximum number of issues that can be created in each request is 50"
MAX_ARCHIVE = 1000
MAX_PROPERTY_CHARS = 32768
MAX_COMMENT_PAGE = 100


def _not_found(key: str) -> JSONResponse:
    return jira_error(404, ["Issue does not exist or you do not have permission to see it."])


def _commit(target: Issue, draft: Issue) -> None:
    for item in dataclasses.fields(Issue):
        setattr(target, item.name, getattr(draft, item.name))


# --------------------------------------------------------------------------- create


def _create_one(
    state: SandboxState, request: Request, update: Any, *, flavour: str
) -> tuple[Issue | None, int, list[str], dict[str, str]]:
    """Create one issue from an `IssueUpdateDetails`; (issue, status, messages, errors)."""
    if not isinstance(update, Mapping):
        return None, 400, ["Each issue must be an object with 'fields'."], {}
    fields = update.get("fields")
    basics, errors = field_setters.create_errors(state, fields, flavour)
    if basics is None:
        return None, 400, [], errors
    assert isinstance(fields, Mapping)
    reporter = current_user(request)
    draft = Issue(
        id=0,
        key="",
        project_key=basics["project"],
        summary="",
        issue_type=basics["issuetype"],
        status="To Do",
        priority="Medium",
        reporter=reporter.account_id if reporter else state.projects[basics["project"]].lead,
        created="",
        updated="",
    )
    errors = field_setters.apply_fields(state, draft, fields, flavour)
    if not errors and isinstance(update.get("update"), Mapping):
        errors = field_setters.apply_updates(state, draft, update["update"], flavour)
    if errors:
        return None, 400, [], errors
    issue = state.new_issue(
        draft.project_key,
        draft.summary,
        draft.issue_type,
        draft.priority,
        reporter=draft.reporter,
        creator=reporter.account_id if reporter else draft.reporter,
    )
    keep = {"id", "key", "created", "updated", "creator"}
    for item in dataclasses.fields(Issue):
        if item.name not in keep:
            setattr(issue, item.name, getattr(draft, item.name))
    for entity_property in update.get("properties") or []:
        if isinstance(entity_property, Mapping) and "key" in entity_property:
            issue.properties[str(entity_property["key"])] = entity_property.get("value")
    return issue, 201, [], {}


def _created(state: SandboxState, issue: Issue, flavour: str) -> dict[str, str]:
    return {
        "id": str(issue.id),
        "key": issue.key,
        "self": f"{api_base(state, flavour)}/issue/{issue.id}",
    }


async def create_issue(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue, status, messages, errors = _create_one(
            state, request, body_of(request), flavour=flavour
        )
        if issue is None:
            return jira_error(status, messages, errors)
        state.save()
        return JSONResponse(_created(state, issue, flavour), status_code=201)


async def bulk_create(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    updates = body.get("issueUpdates") if isinstance(body, Mapping) else None
    if not isinstance(updates, list) or not updates:
        message = "Nothing to create: 'issueUpdates' must list at least one issue."
        return JSONResponse(bulk_error([message]), status_code=400)
    if len(updates) > MAX_BULK:
        message = f"The maximum number of issues that can be created in one request is {MAX_BULK}."
        return JSONResponse(bulk_error([message]), status_code=400)
    failing = state.take_fault(request.method, request.url.path, kinds={"partial_bulk"})
    forced = set(failing.indexes) if failing else set()
    created: list[dict[str, str]] = []
    failures: list[dict[str, Any]] = []
    with state.lock:
        for index, update in enumerate(updates):
            if index in forced:
                failures.append(
                    _element_error(index, 400, [], {"summary": "Injected failure (sandbox fault)."})
                )
                continue
            issue, status, messages, errors = _create_one(state, request, update, flavour=flavour)
            if issue is None:
                failures.append(_element_error(index, status, messages, errors))
            else:
                created.append(_created(state, issue, flavour))
        state.save()
    # Atlassian: 201 when at least one issue was created, the failures listed in `errors`;
    # 400 only when every element failed.
    answer = {"issues": created, "errors": failures}
    return JSONResponse(answer, status_code=201 if created else 400)


def _element_error(
    index: int, status: int, messages: list[str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "status": status,
        "elementErrors": {"errorMessages": messages, "errors": errors},
        "failedElementNumber": index,
    }


# --------------------------------------------------------------------------- read / edit / delete


async def get_issue(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    key = request.path_params["key"]
    with state.lock:
        issue = state.find_issue(key)
        if issue is None:
            return _not_found(key)
        fields = select_fields(request.query_params.getlist("fields"), ALL_FIELDS)
        wanted = property_names(request.query_params.getlist("properties"))
        body = issue_json(state, issue, flavour, fields, wanted)
        expand = {
            piece.strip()
            for item in request.query_params.getlist("expand")
            for piece in item.split(",")
        }
        catalog = {f["id"]: f for f in field_catalog(flavour)}
        # `names` and `schema` describe the fields returned, `renderedFields` shows the rich
        # text fields as HTML, `changelog` the status changes the sandbox records; other
        # expansions Jira knows (operations, editmeta, ...) are accepted without a section.
        if "names" in expand:
            body["names"] = {f: catalog[f]["name"] for f in fields if f in catalog}
        if "schema" in expand:
            body["schema"] = {f: catalog[f]["schema"] for f in fields if f in catalog}
        if "renderedFields" in expand:
            body["renderedFields"] = {
                name: _as_html(getattr(issue, name))
                for name in ("description", "environment")
                if name in fields
            }
        if "changelog" in expand:
            histories = [history_json(state, h, flavour) for h in issue.history]
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        return JSONResponse(body)


def _as_html(document: dict[str, Any] | None) -> str | None:
    """Rich text as Jira renders it: one escaped paragraph per line."""
    if document is None:
        return None
    lines = adf_to_text(document).split("\n")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


async def edit_issue(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The request body must be an object with 'fields' or 'update'."])
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    both = set(fields) & set(update)
    if both:
        name = sorted(both)[0]
        return jira_error(
            400, [], {name: f"Field '{name}' cannot be set in both fields and update."}
        )
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        draft = copy.deepcopy(issue)
        errors = {
            name: field_setters.NOT_SETTABLE.format(name=name)
            for name in fields
            if name in field_setters.CREATE_ONLY
        }
        errors.update(field_setters.apply_fields(state, draft, fields, flavour))
        if not errors:
            errors = field_setters.apply_updates(state, draft, update, flavour)
        if errors:
            return jira_error(400, [], errors)
        draft.updated = now_iso()
        _commit(issue, draft)
        state.save()
    return Response(status_code=204)


async def delete_issue(request: Request) -> Response:
    state = state_of(request)
    key = request.path_params["key"]
    with state.lock:
        issue = state.find_issue(key)
        if issue is None:
            return _not_found(key)
        subtasks = state.subtasks_of(issue.key)
        if subtasks and request.query_params.get("deleteSubtasks", "false").lower() != "true":
            return jira_error(
                400,
                [
                    f"The issue {issue.key} has {len(subtasks)} subtask(s). You must specify the "
                    "'deleteSubtasks' parameter to delete this issue with subtasks."
                ],
            )
        for sub in subtasks:
            del state.issues[sub.key]
        for child in state.children_of(issue.key):
            child.parent_key = None
        del state.issues[issue.key]
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- transitions


def _available(state: SandboxState, issue: Issue) -> list[Any]:
    return [t for t in state.site.transitions if t.from_status == issue.status]


def _screen_fields(state: SandboxState, transition_id: str, flavour: str) -> dict[str, Any]:
    """The transition screen's fields (`expand=transitions.fields`): a required Resolution
    where the profile has a resolution screen."""
    if transition_id not in state.site.resolution_screens:
        return {}
    return {
        "resolution": {
            "required": True,
            "schema": {"type": "resolution", "system": "resolution"},
            "name": "Resolution",
            "key": "resolution",
            "operations": ["set"],
            "allowedValues": [
                {
                    "self": f"{api_base(state, flavour)}/resolution/{r.id}",
                    "id": r.id,
                    "name": r.name,
                }
                for r in RESOLUTIONS
            ],
        }
    }


async def list_transitions(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        only = request.query_params.get("transitionId")
        expand = {
            piece.strip()
            for item in request.query_params.getlist("expand")
            for piece in item.split(",")
        }
        transitions = [
            {
                "id": t.id,
                "name": t.name,
                "to": status_json(state, t.to_status, flavour),
                "hasScreen": t.id in state.site.resolution_screens,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for t in _available(state, issue)
            if only is None or t.id == only
        ]
        if "transitions.fields" in expand:
            for listed in transitions:
                listed["fields"] = _screen_fields(state, str(listed["id"]), flavour)
        return JSONResponse({"expand": "transitions", "transitions": transitions})


async def do_transition(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    transition = body.get("transition") if isinstance(body, Mapping) else None
    ident = transition.get("id") if isinstance(transition, Mapping) else None
    if ident is None:
        return jira_error(400, ["Missing 'transition' identifier"])
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        chosen = next((t for t in _available(state, issue) if t.id == str(ident)), None)
        if chosen is None:
            return jira_error(400, [f"Transition id '{ident}' is not valid for this issue."])
        draft = copy.deepcopy(issue)
        assert isinstance(body, Mapping)
        update = dict(body.get("update") or {})
        comments = update.pop("comment", [])
        errors = field_setters.apply_fields(state, draft, body.get("fields") or {}, flavour)
        if not errors:
            errors = field_setters.apply_updates(state, draft, update, flavour)
        new_comments = []
        for operation in comments if isinstance(comments, list) else []:
            added = operation.get("add") if isinstance(operation, Mapping) else None
            document, error = field_setters.rich_text_value(
                added.get("body") if isinstance(added, Mapping) else None, flavour
            )
            if error or document is None:
                errors["comment"] = error or "Comment body can not be empty!"
                break
            new_comments.append(document)
        if chosen.id in state.site.resolution_screens and draft.resolution is None:
            errors["resolution"] = "Resolution is required."
        if errors:
            return jira_error(400, [], errors)
        if chosen.to_status != draft.status:
            record_change(
                state, draft, current_user(request), "status", draft.status, chosen.to_status
            )
        draft.status = chosen.to_status
        # Entering a done status resolves the issue (Cloud's workflows set "Done" as a post
        # function); leaving one clears the resolution.
        if status(chosen.to_status).category_key == "done":
            draft.resolution = draft.resolution or "Done"
        else:
            draft.resolution = None
        draft.updated = now_iso()
        author = current_user(request)
        for document in new_comments:
            draft.comments.append(
                Comment(
                    state.next_comment(), author.account_id if author else "", document, now_iso()
                )
            )
        _commit(issue, draft)
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- assignee, comments


async def assign(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        if not isinstance(body, Mapping):
            return jira_error(400, ["The body must be a user object."])
        account: str | None = None
        error: str | None
        if flavour == "cloud" and "accountId" not in body:
            error = (
                "'accountId' must be the only user identifying query parameter in GDPR strict mode."
            )
        elif flavour == "dc" and "name" not in body and state.profile != "cloud":
            error = "The user must be identified by 'name' in Data Center."
        else:
            account, error = field_setters.resolve_user(state, issue, body, flavour)
        if error:
            return jira_error(400, [], {"assignee": error})
        issue.assignee = account
        issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


def comment_json(
    state: SandboxState, issue: Issue, comment: Comment, flavour: str
) -> dict[str, Any]:
    author = user_json(state, state.users.get(comment.author), flavour)
    body: object = adf_to_text(comment.body) if flavour == "dc" else comment.body
    answer: dict[str, Any] = {
        "self": f"{api_base(state, flavour)}/issue/{issue.id}/comment/{comment.id}",
        "id": str(comment.id),
        "body": body,
        "created": comment.created,
        "updated": comment.created,
        "jsdPublic": True,
    }
    if author is not None:
        # Comment authors are `UserDetails`: no email, no DC username/key.
        public = {k: v for k, v in author.items() if k not in {"emailAddress", "key", "name"}}
        answer["author"] = answer["updateAuthor"] = public
    return answer


def _entity_properties(raw: object) -> tuple[dict[str, Any], str | None]:
    """`properties: [{key, value}]` of a create body as a dict, or the reason it is refused."""
    if raw is None:
        return {}, None
    if not isinstance(raw, list):
        return {}, "'properties' must be a list of {key, value} objects."
    found: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            return {}, "Each property must be an object with a string 'key' and a 'value'."
        if len(str(item.get("value"))) > MAX_PROPERTY_CHARS:
            return {}, f"The property value exceeds {MAX_PROPERTY_CHARS} characters."
        found[item["key"]] = item.get("value")
    return found, None


async def add_comment(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    raw = body.get("body") if isinstance(body, Mapping) else None
    document, error = field_setters.rich_text_value(raw, flavour)
    if error or document is None:
        return jira_error(400, [], {"comment": error or "Comment body can not be empty!"})
    assert isinstance(body, Mapping)
    properties, problem = _entity_properties(body.get("properties"))
    if problem:
        return jira_error(400, [problem])
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        author = current_user(request)
        comment = Comment(
            state.next_comment(),
            author.account_id if author else "",
            document,
            now_iso(),
            properties,
        )
        issue.comments.append(comment)
        issue.updated = comment.created
        state.save()
        return JSONResponse(comment_json(state, issue, comment, flavour), status_code=201)


async def list_comments(request: Request) -> Response:
    """`GET .../issue/{key}/comment`: a `PageOfComments`, `orderBy=created` or `-created`."""
    state, flavour = state_of(request), flavour_of(request)
    start = as_int(request.query_params.get("startAt"), 0)
    size = as_int(request.query_params.get("maxResults"), MAX_COMMENT_PAGE)
    order = request.query_params.get("orderBy", "created").strip()
    if start is None or size is None or start < 0 or size < 0:
        return jira_error(400, ["'startAt' and 'maxResults' must be non-negative integers."])
    if order.lstrip("+-") != "created":
        return jira_error(400, [f"Comments can only be ordered by 'created', not {order!r}."])
    size = min(size, MAX_COMMENT_PAGE)
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        ordered = sorted(issue.comments, key=lambda c: (c.created, c.id))
        if order.startswith("-"):
            ordered.reverse()
        page = ordered[start : start + size]
        return JSONResponse(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(ordered),
                "comments": [comment_json(state, issue, c, flavour) for c in page],
            }
        )


def _find_comment(state: SandboxState, comment_id: str) -> Comment | None:
    for issue in state.issues.values():
        for comment in issue.comments:
            if str(comment.id) == comment_id:
                return comment
    return None


async def get_comment_property(request: Request) -> Response:
    state = state_of(request)
    name = request.path_params["property"]
    with state.lock:
        comment = _find_comment(state, request.path_params["comment_id"])
        if comment is None:
            return jira_error(404, ["Can not find a comment for the id."])
        if name not in comment.properties:
            return jira_error(404, [f"The property with key '{name}' does not exist."])
        return JSONResponse({"key": name, "value": comment.properties[name]})


# --------------------------------------------------------------------------- archive, properties


async def archive(request: Request) -> Response:
    state = state_of(request)
    body = body_of(request)
    wanted = body.get("issueIdsOrKeys") if isinstance(body, Mapping) else None
    if not isinstance(wanted, list) or not wanted:
        return jira_error(400, ["'issueIdsOrKeys' must list at least one issue."])
    if len(wanted) > MAX_ARCHIVE:
        return jira_error(
            400, [f"The number of issues to archive cannot exceed {MAX_ARCHIVE} per request."]
        )
    missing: list[str] = []
    subtasks: list[str] = []
    updated = 0
    with state.lock:
        for ident in wanted:
            issue = state.find_issue(str(ident))
            if issue is None:
                missing.append(str(ident))
            elif issue_type(issue.issue_type).subtask:
                subtasks.append(str(ident))
            elif not issue.archived:
                issue.archived = True
                updated += 1
        state.save()
    errors: dict[str, Any] = {}
    if missing:
        errors["issuesNotFound"] = {
            "count": len(missing),
            "issueIdsOrKeys": missing,
            "message": "One or more issues were not found.",
        }
    if subtasks:
        errors["issueIsSubtask"] = {
            "count": len(subtasks),
            "issueIdsOrKeys": subtasks,
            "message": "Subtasks can't be archived on their own; archive the parent.",
        }
    return JSONResponse({"numberOfIssuesUpdated": updated, "errors": errors})


async def put_property(request: Request) -> Response:
    state = state_of(request)
    body = body_of(request)
    name = request.path_params["property"]
    if body is None:
        return jira_error(400, ["The property value must be valid JSON."])
    if len(str(body)) > MAX_PROPERTY_CHARS:
        return jira_error(400, [f"The property value exceeds {MAX_PROPERTY_CHARS} characters."])
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        existed = name in issue.properties
        issue.properties[name] = body
        state.save()
    return Response(status_code=200 if existed else 201)


async def get_property(request: Request) -> Response:
    state = state_of(request)
    name = request.path_params["property"]
    with state.lock:
        issue = state.find_issue(request.path_params["key"])
        if issue is None:
            return _not_found(request.path_params["key"])
        if name not in issue.properties:
            return jira_error(404, [f"The property with key '{name}' does not exist."])
        return JSONResponse({"key": name, "value": issue.properties[name]})


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("2", "3"):
        base = f"/rest/api/{version}/issue"
        router.add_api_route(base, create_issue, methods=["POST"])
        router.add_api_route(f"{base}/bulk", bulk_create, methods=["POST"])
        if version == "3":
            router.add_api_route(f"{base}/archive", archive, methods=["PUT"])
        router.add_api_route(f"{base}/{{key}}", get_issue, methods=["GET"])
        router.add_api_route(f"{base}/{{key}}", edit_issue, methods=["PUT"])
        router.add_api_route(f"{base}/{{key}}", delete_issue, methods=["DELETE"])
        router.add_api_route(f"{base}/{{key}}/transitions", list_transitions, methods=["GET"])
        router.add_api_route(f"{base}/{{key}}/transitions", do_transition, methods=["POST"])
        router.add_api_route(f"{base}/{{key}}/assignee", assign, methods=["PUT"])
        router.add_api_route(f"{base}/{{key}}/comment", add_comment, methods=["POST"])
        router.add_api_route(f"{base}/{{key}}/comment", list_comments, methods=["GET"])
        router.add_api_route(
            f"/rest/api/{version}/comment/{{comment_id}}/properties/{{property}}",
            get_comment_property,
            methods=["GET"],
        )
        prop = f"{base}/{{key}}/properties/{{property}}"
        router.add_api_route(prop, put_property, methods=["PUT"])
        router.add_api_route(prop, get_property, methods=["GET"])
    return router

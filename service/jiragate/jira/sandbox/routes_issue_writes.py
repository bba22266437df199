"""Issue-level write endpoints, both flavours: one comment (read, edit, delete), one worklog
(read, edit, delete), removing a watcher, one issue link (read, delete), remote links,
attachments (multipart upload with Jira's XSRF header, read, delete) and the Agile API's
epic membership (`POST /rest/agile/1.0/epic/{epic|none}/issue`).

Strict where Jira is: an id is looked up *under the issue in the path* (a comment of another
issue is 404, as Jira answers), an upload without `X-Atlassian-Token: no-check` is refused
(403, Jira's XSRF check), a file above the site's limit is 413.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from jiragate.jira.sandbox import fields as field_setters
from jiragate.jira.sandbox.context import body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.media import find_attachment, media_location
from jiragate.jira.sandbox.render import _short_issue, api_base, attachment_json, jira_error
from jiragate.jira.sandbox.routes_issues import comment_json
from jiragate.jira.sandbox.routes_site import _seconds, _worklog_json
from jiragate.jira.sandbox.state import (
    LINK_TYPES,
    Comment,
    Issue,
    SandboxState,
    issue_type,
    now_iso,
)

#: Jira Cloud's default attachment size limit (Admin > System > Attachments), in bytes.
SITE_ATTACHMENT_LIMIT = 10 * 1024 * 1024
_NO_ISSUE = "Issue does not exist or you do not have permission to see it."
_T = TypeVar("_T")


def _issue(state: SandboxState, request: Request) -> Issue | None:
    return state.find_issue(request.path_params["key"])


# --------------------------------------------------------------------------- one comment


def _owned(
    state: SandboxState, issue: Issue, find: Callable[[Issue], _T | None]
) -> tuple[Issue, _T] | None:
    """The object `find` picks under `issue` — or, with `state.site_wide_ids`, under any
    issue — with the issue that really holds it."""
    candidates = state.issues.values() if state.site_wide_ids else [issue]
    for owner in candidates:
        found = find(owner)
        if found is not None:
            return owner, found
    return None


def _comment(state: SandboxState, issue: Issue, ident: str) -> tuple[Issue, Comment] | None:
    return _owned(state, issue, lambda i: next((c for c in i.comments if str(c.id) == ident), None))


async def get_comment(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _comment(state, issue, request.path_params["comment_id"])
        if found is None:
            return jira_error(404, ["Can not find a comment for the id."])
        return JSONResponse(comment_json(state, *found, flavour))


async def edit_comment(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    raw = body.get("body") if isinstance(body, Mapping) else None
    document, error = field_setters.rich_text_value(raw, flavour)
    if error or document is None:
        return jira_error(400, [], {"comment": error or "Comment body can not be empty!"})
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _comment(state, issue, request.path_params["comment_id"])
        if found is None:
            return jira_error(404, ["Can not find a comment for the id."])
        owner, comment = found
        comment.body = document
        owner.updated = now_iso()
        state.save()
        return JSONResponse(comment_json(state, owner, comment, flavour))


async def delete_comment(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _comment(state, issue, request.path_params["comment_id"])
        if found is None:
            return jira_error(404, ["Can not find a comment for the id."])
        owner, comment = found
        owner.comments.remove(comment)
        owner.updated = now_iso()
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- one worklog


def _worklog(state: SandboxState, issue: Issue, ident: str) -> tuple[Issue, dict[str, Any]] | None:
    return _owned(
        state, issue, lambda i: next((w for w in i.worklogs if str(w["id"]) == ident), None)
    )


async def get_worklog(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _worklog(state, issue, request.path_params["worklog_id"])
        if found is None:
            return jira_error(404, ["Cannot find worklog with id."])
        return JSONResponse(_worklog_json(state, *found, flavour))


async def edit_worklog(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    if not isinstance(body, Mapping):
        return jira_error(400, ["The body must be a worklog object."])
    seconds = _seconds(body) if ("timeSpent" in body or "timeSpentSeconds" in body) else 0
    if seconds is None:
        return jira_error(400, [], {"timeLogged": "Invalid time duration entered."})
    document, error = field_setters.rich_text_value(body.get("comment"), flavour)
    if error:
        return jira_error(400, [], {"comment": error})
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _worklog(state, issue, request.path_params["worklog_id"])
        if found is None:
            return jira_error(404, ["Cannot find worklog with id."])
        issue, log = found
        if seconds:
            log["timeSpentSeconds"] = seconds
        if "started" in body:
            log["started"] = str(body["started"])
        if document is not None:
            log["comment"] = document
        log["updated"] = issue.updated = now_iso()
        state.save()
        return JSONResponse(_worklog_json(state, issue, log, flavour))


async def delete_worklog(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _worklog(state, issue, request.path_params["worklog_id"])
        if found is None:
            return jira_error(404, ["Cannot find worklog with id."])
        issue, log = found
        issue.worklogs.remove(log)
        issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- watchers


async def remove_watcher(request: Request) -> Response:
    """`DELETE .../watchers?accountId=` (Cloud) or `?username=` (Data Center)."""
    state, flavour = state_of(request), flavour_of(request)
    account = request.query_params.get("accountId")
    name = request.query_params.get("username")
    if flavour == "cloud" and name is not None:
        return jira_error(400, ["The username query parameter was deprecated; use accountId."])
    if not account and not name:
        return jira_error(400, ["Specify the user to remove: accountId (or username on DC)."])
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        user = state.find_user(account_id=account) if account else state.find_user(name=name)
        if user is None:
            return jira_error(404, [f"The user {account or name!r} does not exist."])
        if user.account_id in issue.watchers:
            issue.watchers.remove(user.account_id)
            state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- issue links


def _link_ends(state: SandboxState, ident: str) -> tuple[Issue, Issue, str] | None:
    """(inward issue, outward issue, type id) of link `ident`, from the inward side's record."""
    for issue in state.issues.values():
        for link in issue.links:
            if str(link["id"]) == ident and "outwardIssue" in link:
                other = state.issues.get(str(link["outwardIssue"]))
                if other is not None:
                    return issue, other, str(link["type"])
    return None


async def get_issue_link(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    ident = request.path_params["link_id"]
    with state.lock:
        found = _link_ends(state, ident)
        if found is None:
            return jira_error(404, ["No issue link with id '" + ident + "' exists."])
        inward, outward, type_id = found
        type_row = next(row for row in LINK_TYPES if row[0] == type_id)
        return JSONResponse(
            {
                "id": ident,
                "self": f"{api_base(state, flavour)}/issueLink/{ident}",
                "type": {
                    "id": type_row[0],
                    "name": type_row[1],
                    "inward": type_row[2],
                    "outward": type_row[3],
                },
                "inwardIssue": _short_issue(state, inward, flavour),
                "outwardIssue": _short_issue(state, outward, flavour),
            }
        )


async def delete_issue_link(request: Request) -> Response:
    state = state_of(request)
    ident = request.path_params["link_id"]
    with state.lock:
        if _link_ends(state, ident) is None:
            return jira_error(404, ["No issue link with id '" + ident + "' exists."])
        for issue in state.issues.values():
            kept = [link for link in issue.links if str(link["id"]) != ident]
            if len(kept) != len(issue.links):
                issue.links = kept
                issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- remote links


def _remote_json(state: SandboxState, issue: Issue, link: Mapping[str, Any], flavour: str) -> Any:
    return {
        "id": link["id"],
        "self": f"{api_base(state, flavour)}/issue/{issue.id}/remotelink/{link['id']}",
        "globalId": link["globalId"],
        "object": link["object"],
    }


async def create_remote_link(request: Request) -> Response:
    """`POST .../remotelink`: a link with the `globalId` of an existing one updates it (200),
    else a new one is created (201)."""
    state, flavour = state_of(request), flavour_of(request)
    body = body_of(request)
    target = body.get("object") if isinstance(body, Mapping) else None
    if not isinstance(target, Mapping) or not target.get("url") or not target.get("title"):
        return jira_error(400, [], {"object": "The remote link needs object.url and object.title."})
    assert isinstance(body, Mapping)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        global_id = body.get("globalId")
        existing = next(
            (r for r in issue.remote_links if global_id and r["globalId"] == global_id), None
        )
        if existing is not None:
            existing["object"] = dict(target)
            link, status = existing, 200
        else:
            link = {"id": state.next_misc(), "globalId": global_id or "", "object": dict(target)}
            issue.remote_links.append(link)
            status = 201
        issue.updated = now_iso()
        state.save()
        answer = _remote_json(state, issue, link, flavour)
        return JSONResponse({"id": answer["id"], "self": answer["self"]}, status_code=status)


def _remote(state: SandboxState, issue: Issue, ident: str) -> tuple[Issue, dict[str, Any]] | None:
    return _owned(
        state, issue, lambda i: next((r for r in i.remote_links if str(r["id"]) == ident), None)
    )


async def list_remote_links(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        return JSONResponse([_remote_json(state, issue, r, flavour) for r in issue.remote_links])


async def get_remote_link(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _remote(state, issue, request.path_params["link_id"])
        if found is None:
            return jira_error(404, ["No remote link with that id on this issue."])
        return JSONResponse(_remote_json(state, *found, flavour))


async def delete_remote_link(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        found = _remote(state, issue, request.path_params["link_id"])
        if found is None:
            return jira_error(404, ["No remote link with that id on this issue."])
        issue, link = found
        issue.remote_links.remove(link)
        issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- attachments


async def upload_attachment(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    if request.headers.get("X-Atlassian-Token", "").lower() != "no-check":
        return jira_error(403, ["XSRF check failed"])
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return jira_error(415, ["The body must be multipart/form-data with a 'file' part."])
    async with request.form() as form:
        files = [part for name, part in form.multi_items() if name == "file"]
        uploads = [part for part in files if isinstance(part, UploadFile)]
        contents = [(part.filename, part.content_type, await part.read()) for part in uploads]
    if not contents:
        return jira_error(400, ["The request contains no 'file' part."])
    if any(len(data) > SITE_ATTACHMENT_LIMIT for _, _, data in contents):
        return jira_error(413, [f"The file exceeds the limit of {SITE_ATTACHMENT_LIMIT} bytes."])
    with state.lock:
        issue = _issue(state, request)
        if issue is None:
            return jira_error(404, [_NO_ISSUE])
        author = current_user(request)
        answer = []
        for filename, media_type, data in contents:
            item = {
                "id": str(state.next_misc()),
                "filename": filename or "file",
                "size": len(data),
                "mimeType": media_type or "application/octet-stream",
                "author": author.account_id if author else "",
                "created": now_iso(),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content": base64.b64encode(data).decode("ascii"),
            }
            issue.attachments.append(item)
            answer.append(attachment_json(state, item, flavour))
        issue.updated = now_iso()
        state.save()
    return JSONResponse(answer)


async def get_attachment(request: Request) -> Response:
    state, flavour = state_of(request), flavour_of(request)
    with state.lock:
        found = find_attachment(state, request.path_params["attachment_id"])
        if found is None:
            return jira_error(404, ["The attachment does not exist."])
        body = attachment_json(state, found[1], flavour)
        body["id"] = int(body["id"])  # AttachmentMetadata's id is a number
        return JSONResponse(body)


async def attachment_content(request: Request) -> Response:
    """`GET /attachment/content/{id}` (and `/attachment/thumbnail/{id}` for an image), as
    Jira serves them. The cloud profile answers `303 See Other` with a `Location` on the
    media store (another origin, a short-lived signed URL: sandbox/media.py), unless
    `?redirect=false`, as Atlassian's Cloud spec says ("Get attachment content": 303 "See
    the `Location` header for the download URL", 200 "when `redirect` is set to `false`").
    The datacenter profile serves the bytes: Data Center's REST API has no `redirect`."""
    state = state_of(request)
    with state.lock:
        found = find_attachment(state, request.path_params["attachment_id"])
        if found is None:
            return jira_error(404, ["The attachment does not exist."])
        item = dict(found[1])
    thumbnail = "/thumbnail/" in request.url.path
    if thumbnail and not str(item["mimeType"]).startswith("image/"):
        return jira_error(404, ["The attachment has no thumbnail."])
    redirect = request.query_params.get("redirect", "true").lower() != "false"
    if state.profile == "cloud" and redirect:
        location = media_location(state, item, thumbnail)
        return Response(status_code=303, headers={"Location": location})
    data = base64.b64decode(item["content"])
    return Response(data, media_type=str(item["mimeType"]))


async def delete_attachment(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        found = find_attachment(state, request.path_params["attachment_id"])
        if found is None:
            return jira_error(404, ["The attachment does not exist."])
        issue, item = found
        issue.attachments.remove(item)
        issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


# --------------------------------------------------------------------------- agile epics


async def epic_issues(request: Request) -> Response:
    """`POST /rest/agile/1.0/epic/{epic}/issue` (or `/epic/none/issue`): at most 50 issues,
    none of them an epic or a sub-task."""
    state = state_of(request)
    body = body_of(request)
    keys = body.get("issues") if isinstance(body, Mapping) else None
    if not isinstance(keys, list) or not keys or len(keys) > 50:
        return jira_error(400, ["'issues' must list 1 to 50 issue keys or ids."])
    ident = request.path_params["epic"]
    with state.lock:
        epic = None if ident == "none" else state.find_issue(ident)
        if ident != "none" and (epic is None or epic.issue_type != "Epic"):
            return jira_error(404, [f"Epic '{ident}' does not exist or is not an epic."])
        found = [state.find_issue(str(key)) for key in keys]
        if any(issue is None for issue in found):
            return jira_error(400, ["One or more issues do not exist."])
        issues = [issue for issue in found if issue is not None]
        for issue in issues:
            kind = issue_type(issue.issue_type)
            if kind.subtask or kind.name == "Epic":
                return jira_error(400, [f"{issue.key} is a {kind.name}; it cannot be in an epic."])
        for issue in issues:
            issue.parent_key = epic.key if epic is not None else None
            issue.updated = now_iso()
        state.save()
    return Response(status_code=204)


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("2", "3"):
        base = f"/rest/api/{version}"
        issue = f"{base}/issue/{{key}}"
        comment = f"{issue}/comment/{{comment_id}}"
        router.add_api_route(comment, get_comment, methods=["GET"])
        router.add_api_route(comment, edit_comment, methods=["PUT"])
        router.add_api_route(comment, delete_comment, methods=["DELETE"])
        worklog = f"{issue}/worklog/{{worklog_id}}"
        router.add_api_route(worklog, get_worklog, methods=["GET"])
        router.add_api_route(worklog, edit_worklog, methods=["PUT"])
        router.add_api_route(worklog, delete_worklog, methods=["DELETE"])
        router.add_api_route(f"{issue}/watchers", remove_watcher, methods=["DELETE"])
        link = f"{base}/issueLink/{{link_id}}"
        router.add_api_route(link, get_issue_link, methods=["GET"])
        router.add_api_route(link, delete_issue_link, methods=["DELETE"])
        router.add_api_route(f"{issue}/remotelink", create_remote_link, methods=["POST"])
        router.add_api_route(f"{issue}/remotelink", list_remote_links, methods=["GET"])
        remote = f"{issue}/remotelink/{{link_id}}"
        router.add_api_route(remote, get_remote_link, methods=["GET"])
        router.add_api_route(remote, delete_remote_link, methods=["DELETE"])
        router.add_api_route(f"{issue}/attachments", upload_attachment, methods=["POST"])
        attachment = f"{base}/attachment/{{attachment_id}}"
        router.add_api_route(attachment, get_attachment, methods=["GET"])
        router.add_api_route(attachment, delete_attachment, methods=["DELETE"])
        for file in ("content", "thumbnail"):
            route = f"{base}/attachment/{file}/{{attachment_id}}"
            router.add_api_route(route, attachment_content, methods=["GET"])
    router.add_api_route("/rest/agile/1.0/epic/{epic}/issue", epic_issues, methods=["POST"])
    return router

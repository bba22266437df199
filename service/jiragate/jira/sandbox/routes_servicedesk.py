"""Jira Service Management's REST API (`/rest/servicedeskapi/...`), on both profiles.

The same paths on Cloud and Data Center (JSM has no version in its path); the answers differ
in their users (accountIds on Cloud, usernames on Data Center) and in what is experimental.
Only the operations Jiragate's actions call (jira/openapi/jira-servicedesk.subset.json):

- `GET servicedesk` (paged) and `GET servicedesk/{id}`;
- `GET servicedesk/{id}/queue`, `.../queue/{queueId}` and `.../queue/{queueId}/issue`;
- `GET servicedesk/{id}/requesttype`, `.../requesttype/{id}` and `.../requesttype/{id}/field`;
- `POST request` (raise a customer request), `GET request/{issueIdOrKey}`,
  `GET request/{issueIdOrKey}/sla`;
- `GET organization` (paged): the site's customer organizations, which belong to no
  project (JSM's "Get organizations" lists every organization of the site; a desk is
  associated with some, `servicedesk/{id}/organization`, which the sandbox does not serve).

Strict where JSM is strict: errors are JSM's own shape (`{"errorMessage", "i18nErrorMessage"}`),
an unknown desk, queue, request type or request answers 404, and raising a request with an
unknown request type, one of another desk, a field the request type does not have, a missing
required field or an unknown customer answers 400. JSM pages with `start`/`limit` (at most
50) and answers `{size, start, limit, isLastPage, values, _links}`.

Experimental operations need `X-ExperimentalApi: opt-in` (Atlassian's JSM REST reference,
"Experimental methods": https://docs.atlassian.com/jira-servicedesk/REST/3.4.0 and
.../REST/5.12.0, which spell the value `true`, also accepted here). Which operations are
experimental changed over the versions: JSD 3.x's Java API marks `Queue` `@ExperimentalApi`
(https://docs.atlassian.com/jira-servicedesk/3.7.1/com/atlassian/servicedesk/api/queue/Queue.html),
while mcp-atlassian 0.23.1 reads queues on Data Center without the header
(`mcp_atlassian/jira/queues.py`). So the set is `state.jsm_experimental`: the SLA resource on
the datacenter profile by default, "queue" added to emulate an older JSD. A call without the
header answers 412 with an errorMessage naming it; that status is the sandbox's assumption
(Atlassian documents the header, not the refusal).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import body_of, current_user, state_of
from jiragate.jira.sandbox.jql import JQLError, compile_jql
from jiragate.jira.sandbox.render import issue_json, select_fields
from jiragate.jira.sandbox.service_desk import (
    QUEUES,
    REQUEST_TYPES,
    SERVICE_DESKS,
    SLA_GOALS,
    Queue,
    RequestField,
    RequestType,
    ServiceDesk,
    SlaGoal,
    desk,
    desk_of_project,
    queue,
    request_type,
)
from jiragate.jira.sandbox.state import Issue, SandboxState, User, adf_text, adf_to_text

BASE = "/rest/servicedeskapi"
PAGE_LIMIT = 50
EXPERIMENTAL_HEADER = "X-ExperimentalApi"
_OPTED_IN = {"opt-in", "true"}


def jsm_error(status: int, message: str, key: str = "sd.error") -> JSONResponse:
    """JSM's error body: one message and its i18n key (not Jira's errorMessages/errors)."""
    body = {"errorMessage": message, "i18nErrorMessage": {"i18nKey": key, "parameters": []}}
    return JSONResponse(body, status_code=status)


def _flavour(state: SandboxState) -> str:
    return "dc" if state.profile == "datacenter" else "cloud"


def _needs_opt_in(request: Request, operation: str) -> Response | None:
    if operation not in state_of(request).jsm_experimental:
        return None
    if request.headers.get(EXPERIMENTAL_HEADER, "").strip().lower() in _OPTED_IN:
        return None
    return jsm_error(
        412,
        f"This is an experimental API. To use it, set the header "
        f"'{EXPERIMENTAL_HEADER}: opt-in' on the request.",
        "sd.api.experimental.required",
    )


def _paging(request: Request) -> tuple[int, int] | Response:
    try:
        start = int(request.query_params.get("start", "0"))
        limit = int(request.query_params.get("limit", str(PAGE_LIMIT)))
    except ValueError:
        return jsm_error(400, "start and limit must be integers.")
    if start < 0 or limit < 1:
        return jsm_error(400, "start must be >= 0 and limit >= 1.")
    return start, min(limit, PAGE_LIMIT)


def _page(request: Request, state: SandboxState, items: list[Any], render: Any) -> Response:
    paging = _paging(request)
    if isinstance(paging, Response):
        return paging
    start, limit = paging
    shown = items[start : start + limit]
    return JSONResponse(
        {
            "_expands": [],
            "size": len(shown),
            "start": start,
            "limit": limit,
            "isLastPage": start + limit >= len(items),
            "_links": {
                "base": state.base_url,
                "context": "",
                "self": f"{state.base_url}{request.url.path}",
            },
            "values": [render(item) for item in shown],
        }
    )


def _date(stamp: str) -> dict[str, Any]:
    when = _parse(stamp)
    return {
        "iso8601": when.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jira": when.strftime("%Y-%m-%dT%H:%M:%S.000%z"),
        "friendly": when.strftime("%d/%b/%y %I:%M %p"),
        "epochMillis": int(when.timestamp() * 1000),
    }


def _parse(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _desk_json(state: SandboxState, found: ServiceDesk) -> dict[str, Any]:
    project = state.projects[found.project_key]
    return {
        "id": str(found.id),
        "projectId": str(project.id),
        "projectName": project.name,
        "projectKey": project.key,
        "_links": {"self": f"{state.base_url}{BASE}/servicedesk/{found.id}"},
    }


def _user_json(state: SandboxState, user: User) -> dict[str, Any]:
    body: dict[str, Any] = {
        "emailAddress": user.email,
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": "Etc/UTC",
        "_links": {"self": f"{state.base_url}/rest/api/2/user?accountId={user.account_id}"},
    }
    if state.profile == "datacenter":
        body.update(key=user.name, name=user.name)
    else:
        body["accountId"] = user.account_id
    return body


def _find_customer(state: SandboxState, who: object) -> User | None:
    """A customer as the profile names users: accountId on Cloud, username on Data Center."""
    if not isinstance(who, str):
        return None
    if state.profile == "datacenter":
        return state.find_user(name=who)
    return state.find_user(account_id=who)


def _the_desk(state: SandboxState, ident: str) -> ServiceDesk | Response:
    found = desk(ident)
    if found is None:
        return jsm_error(404, f"The service desk {ident} does not exist.", "sd.desk.not.found")
    return found


# --------------------------------------------------------------------------- service desks


async def list_desks(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        return _page(request, state, list(SERVICE_DESKS), lambda d: _desk_json(state, d))


async def get_desk(request: Request, desk_id: str) -> Response:
    state = state_of(request)
    with state.lock:
        found = _the_desk(state, desk_id)
        if isinstance(found, Response):
            return found
        return JSONResponse(_desk_json(state, found))


#: The site's customer organizations (id, name): site-wide, as JSM's are.
ORGANIZATIONS = ((1, "Acme Corp"), (2, "Globex"))


async def list_organizations(request: Request) -> Response:
    state = state_of(request)

    def render(item: tuple[int, str]) -> dict[str, Any]:
        ident, name = item
        link = f"{state.base_url}{BASE}/organization/{ident}"
        return {"id": str(ident), "name": name, "_links": {"self": link}}

    with state.lock:
        return _page(request, state, list(ORGANIZATIONS), render)


# --------------------------------------------------------------------------- queues


def _scoped_jql(found: ServiceDesk, item: Queue) -> str:
    """The queue's JQL as JSM runs it: inside the desk's project, its ORDER BY kept."""
    condition, _, order = item.jql.partition(" ORDER BY ")
    text = f'project = "{found.project_key}" AND ({condition})'
    return f"{text} ORDER BY {order}" if order else text


def _queue_issues(state: SandboxState, found: ServiceDesk, item: Queue) -> list[Issue]:
    # JSM restricts a queue's JQL to its desk's project; site-wide ids turn that off.
    text = item.jql if state.site_wide_ids else _scoped_jql(found, item)
    query = compile_jql(text, state)
    return query.run(state.issues.values())


def _queue_json(
    state: SandboxState, found: ServiceDesk, item: Queue, count: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(item.id),
        "name": item.name,
        "jql": _scoped_jql(found, item),
        "fields": list(item.fields),
        "_links": {
            "self": f"{state.base_url}{BASE}/servicedesk/{found.id}/queue/{item.id}",
        },
    }
    if count:
        body["issueCount"] = len(_queue_issues(state, found, item))
    return body


async def list_queues(request: Request, desk_id: str) -> Response:
    state = state_of(request)
    refused = _needs_opt_in(request, "queue")
    if refused is not None:
        return refused
    count = request.query_params.get("includeCount", "false").lower() == "true"
    with state.lock:
        found = _the_desk(state, desk_id)
        if isinstance(found, Response):
            return found
        queues = [q for q in QUEUES if q.desk_id == found.id]
        return _page(request, state, queues, lambda q: _queue_json(state, found, q, count))


def _the_queue(
    state: SandboxState, desk_id: str, queue_id: str
) -> tuple[ServiceDesk, Queue] | Response:
    found = _the_desk(state, desk_id)
    if isinstance(found, Response):
        return found
    item = queue(state, found, queue_id)
    if item is None:
        return jsm_error(
            404,
            f"The queue {queue_id} does not exist on service desk {desk_id}.",
            "sd.queue.not.found",
        )
    return found, item


async def get_queue(request: Request, desk_id: str, queue_id: str) -> Response:
    state = state_of(request)
    refused = _needs_opt_in(request, "queue")
    if refused is not None:
        return refused
    count = request.query_params.get("includeCount", "false").lower() == "true"
    with state.lock:
        pair = _the_queue(state, desk_id, queue_id)
        if isinstance(pair, Response):
            return pair
        return JSONResponse(_queue_json(state, pair[0], pair[1], count))


async def queue_issues(request: Request, desk_id: str, queue_id: str) -> Response:
    state = state_of(request)
    refused = _needs_opt_in(request, "queue")
    if refused is not None:
        return refused
    flavour = _flavour(state)
    with state.lock:
        pair = _the_queue(state, desk_id, queue_id)
        if isinstance(pair, Response):
            return pair
        found, item = pair
        try:
            issues = _queue_issues(state, found, item)
        except JQLError as exc:
            return jsm_error(400, f"The queue's JQL is invalid: {exc}")
        fields = select_fields(list(item.fields), item.fields)
        return _page(request, state, issues, lambda i: issue_json(state, i, flavour, fields))


# --------------------------------------------------------------------------- request types


def _field_json(state: SandboxState, item: RequestField) -> dict[str, Any]:
    values = list(item.valid_values)
    if item.field_id == "priority":
        values = [(p.id, p.name) for p in state.site.priorities]
    return {
        "fieldId": item.field_id,
        "name": item.name,
        "description": item.description,
        "required": item.required,
        "defaultValues": [],
        "validValues": [{"value": v, "label": label, "children": []} for v, label in values],
        "jiraSchema": item.schema,
        "visible": True,
    }


def _type_json(state: SandboxState, item: RequestType) -> dict[str, Any]:
    issue_type = next((t for t in state.site.issue_types if t.name == item.issue_type), None)
    return {
        "id": str(item.id),
        "name": item.name,
        "description": item.description,
        "helpText": "",
        "issueTypeId": issue_type.id if issue_type else "",
        "serviceDeskId": str(item.desk_id),
        "groupIds": [],
        "_links": {
            "self": f"{state.base_url}{BASE}/servicedesk/{item.desk_id}/requesttype/{item.id}"
        },
    }


async def list_request_types(request: Request, desk_id: str) -> Response:
    state = state_of(request)
    wanted = (request.query_params.get("searchQuery") or "").strip().lower()
    with state.lock:
        found = _the_desk(state, desk_id)
        if isinstance(found, Response):
            return found
        types = [t for t in REQUEST_TYPES if t.desk_id == found.id and wanted in t.name.lower()]
        return _page(request, state, types, lambda t: _type_json(state, t))


def _the_type(state: SandboxState, desk_id: str, type_id: str) -> RequestType | Response:
    found = _the_desk(state, desk_id)
    if isinstance(found, Response):
        return found
    item = request_type(state, found.id, type_id)
    if item is None:
        return jsm_error(
            404,
            f"The request type {type_id} does not exist on service desk {desk_id}.",
            "sd.request.type.not.found",
        )
    return item


async def get_request_type(request: Request, desk_id: str, type_id: str) -> Response:
    state = state_of(request)
    with state.lock:
        item = _the_type(state, desk_id, type_id)
        if isinstance(item, Response):
            return item
        return JSONResponse(_type_json(state, item))


async def request_type_fields(request: Request, desk_id: str, type_id: str) -> Response:
    state = state_of(request)
    with state.lock:
        item = _the_type(state, desk_id, type_id)
        if isinstance(item, Response):
            return item
        return JSONResponse(
            {
                "requestTypeFields": [_field_json(state, f) for f in item.fields],
                "canRaiseOnBehalfOf": True,
                "canAddRequestParticipants": True,
            }
        )


# --------------------------------------------------------------------------- requests


def _request_json(state: SandboxState, issue: Issue) -> dict[str, Any]:
    item = request_type(state, None, str(issue.request_type_id))
    assert item is not None  # only requests are rendered
    reporter = state.users.get(issue.reporter)
    values = [
        {"fieldId": f.field_id, "label": f.name, "value": _value_of(state, issue, f.field_id)}
        for f in item.fields
    ]
    return {
        "_expands": ["participant", "status", "sla", "requestType", "serviceDesk"],
        "issueId": str(issue.id),
        "issueKey": issue.key,
        "requestTypeId": str(item.id),
        "serviceDeskId": str(item.desk_id),
        "createdDate": _date(issue.created),
        "reporter": _user_json(state, reporter) if reporter else None,
        "requestFieldValues": values,
        "currentStatus": {
            "status": issue.status,
            "statusCategory": "DONE" if issue.status == "Done" else "NEW",
            "statusDate": _date(issue.updated),
        },
        "_links": {
            "self": f"{state.base_url}{BASE}/request/{issue.id}",
            "jiraRest": f"{state.base_url}/rest/api/2/issue/{issue.id}",
            "web": f"{state.base_url}/servicedesk/customer/portal/{item.desk_id}/{issue.key}",
            "agent": f"{state.base_url}/browse/{issue.key}",
        },
    }


def _value_of(state: SandboxState, issue: Issue, field_id: str) -> Any:
    if field_id == "summary":
        return issue.summary
    if field_id == "description":
        return adf_to_text(issue.description) if issue.description else None
    if field_id == "priority":
        return {"name": issue.priority}
    return issue.custom_fields.get(field_id)


def _refuse(message: str) -> JSONResponse:
    return jsm_error(400, message, "sd.request.create.invalid")


def _checked_values(
    state: SandboxState, item: RequestType, values: object
) -> dict[str, Any] | Response:
    if not isinstance(values, dict):
        return _refuse("requestFieldValues must be an object of field id -> value.")
    known = {f.field_id: f for f in item.fields}
    for name in values:
        if name not in known:
            return _refuse(
                f"The field '{name}' is not on the request type '{item.name}' "
                f"(its fields: {', '.join(known)})."
            )
    for f in item.fields:
        if f.required and values.get(f.field_id) in (None, ""):
            return _refuse(f"The field '{f.name}' ({f.field_id}) is required.")
    priority = values.get("priority")
    if priority is not None:
        names = {p.name for p in state.site.priorities} | {p.id for p in state.site.priorities}
        chosen = priority.get("name") or priority.get("id") if isinstance(priority, dict) else None
        if chosen not in names:
            return _refuse(f"The priority {priority!r} does not exist on this site.")
    for text_field in ("summary", "description"):
        if text_field in values and not isinstance(values[text_field], str):
            return _refuse(f"The field '{text_field}' takes plain text.")
    if "customfield_10043" in values and not isinstance(values["customfield_10043"], int | float):
        return _refuse("The field 'Customer impact' takes a number.")
    return dict(values)


async def create_request(request: Request) -> Response:
    state = state_of(request)
    body = body_of(request)
    if not isinstance(body, dict):
        return _refuse("The request body must be a JSON object.")
    caller = current_user(request)
    with state.lock:
        found = desk(str(body.get("serviceDeskId")))
        if found is None:
            return jsm_error(
                404,
                f"The service desk {body.get('serviceDeskId')} does not exist.",
                "sd.desk.not.found",
            )
        item = request_type(state, found.id, str(body.get("requestTypeId")))
        if item is None:
            return _refuse(
                f"The request type {body.get('requestTypeId')} does not exist on service "
                f"desk {found.id}."
            )
        values = _checked_values(state, item, body.get("requestFieldValues"))
        if isinstance(values, Response):
            return values
        reporter = caller
        if body.get("raiseOnBehalfOf") is not None:
            reporter = _find_customer(state, body["raiseOnBehalfOf"])
            if reporter is None:
                return _refuse(f"The customer {body['raiseOnBehalfOf']!r} does not exist.")
        participants: list[str] = []
        for who in body.get("requestParticipants") or []:
            participant = _find_customer(state, who)
            if participant is None:
                return _refuse(f"The participant {who!r} does not exist.")
            participants.append(participant.account_id)
        assert caller is not None and reporter is not None
        priority = values.get("priority") or {}
        default_priority = state.site.priorities[len(state.site.priorities) // 2].name
        chosen = next(
            (
                p.name
                for p in state.site.priorities
                if priority.get("name") in (p.name,) or priority.get("id") == p.id
            ),
            default_priority,
        )
        issue = state.new_issue(
            found.project_key,
            values["summary"],
            item.issue_type,
            chosen,
            reporter=reporter.account_id,
            creator=caller.account_id,
        )
        issue.request_type_id = item.id
        issue.participants = participants
        if values.get("description"):
            issue.description = adf_text(values["description"])
        for name, value in values.items():
            if name.startswith("customfield_"):
                issue.custom_fields[name] = value
        state.save()
        return JSONResponse(_request_json(state, issue), status_code=201)


def _the_request(state: SandboxState, ident: str) -> Issue | Response:
    issue = state.find_issue(ident)
    if issue is None or issue.request_type_id is None:
        return jsm_error(
            404,
            f"The request {ident} does not exist or is not a customer request.",
            "sd.request.not.found",
        )
    return issue


async def get_request(request: Request, ident: str) -> Response:
    state = state_of(request)
    with state.lock:
        issue = _the_request(state, ident)
        if isinstance(issue, Response):
            return issue
        return JSONResponse(_request_json(state, issue))


def _duration(millis: int) -> dict[str, Any]:
    sign = "-" if millis < 0 else ""
    minutes = abs(millis) // 60000
    return {"millis": millis, "friendly": f"{sign}{minutes // 60}h {minutes % 60}m"}


def _sla_json(state: SandboxState, issue: Issue, goal: SlaGoal) -> dict[str, Any]:
    start = _parse(issue.created)
    stop: datetime | None = None
    if goal.stops_at == "comment" and issue.comments:
        stop = _parse(issue.comments[0].created)
    elif goal.stops_at == "done" and issue.status == "Done":
        stop = _parse(issue.updated)
    goal_ms = goal.goal_hours * 3600 * 1000
    end = stop or datetime.fromtimestamp(time.time(), tz=UTC)
    elapsed = int((end - start).total_seconds() * 1000)
    breach_at = datetime.fromtimestamp(start.timestamp() + goal.goal_hours * 3600, tz=UTC)
    cycle = {
        "startTime": _date(issue.created),
        "breachTime": _date(breach_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")),
        "breached": elapsed > goal_ms,
        "goalDuration": _duration(goal_ms),
        "elapsedTime": _duration(elapsed),
        "remainingTime": _duration(goal_ms - elapsed),
    }
    body: dict[str, Any] = {
        "id": str(goal.id),
        "name": goal.name,
        "_links": {"self": f"{state.base_url}{BASE}/request/{issue.id}/sla/{goal.id}"},
        "completedCycles": [],
    }
    if stop is None:
        body["ongoingCycle"] = {**cycle, "paused": False, "withinCalendarHours": True}
    else:
        stopped = _date(stop.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
        body["completedCycles"] = [{**cycle, "stopTime": stopped}]
    return body


async def request_sla(request: Request, ident: str) -> Response:
    state = state_of(request)
    if state.profile == "datacenter" and not state.jsm_sla:
        return jsm_error(404, f"Null or unsupported resource: {request.url.path}")
    refused = _needs_opt_in(request, "sla")
    if refused is not None:
        return refused
    with state.lock:
        issue = _the_request(state, ident)
        if isinstance(issue, Response):
            return issue
        goals = list(SLA_GOALS)
        return _page(request, state, goals, lambda g: _sla_json(state, issue, g))


def build_router() -> APIRouter:
    router = APIRouter(prefix=BASE)
    router.add_api_route("/servicedesk", list_desks, methods=["GET"])
    router.add_api_route("/servicedesk/{desk_id}", get_desk, methods=["GET"])
    router.add_api_route("/servicedesk/{desk_id}/queue", list_queues, methods=["GET"])
    router.add_api_route("/servicedesk/{desk_id}/queue/{queue_id}", get_queue, methods=["GET"])
    router.add_api_route(
        "/servicedesk/{desk_id}/queue/{queue_id}/issue", queue_issues, methods=["GET"]
    )
    router.add_api_route("/servicedesk/{desk_id}/requesttype", list_request_types, methods=["GET"])
    router.add_api_route(
        "/servicedesk/{desk_id}/requesttype/{type_id}", get_request_type, methods=["GET"]
    )
    router.add_api_route(
        "/servicedesk/{desk_id}/requesttype/{type_id}/field", request_type_fields, methods=["GET"]
    )
    router.add_api_route("/organization", list_organizations, methods=["GET"])
    router.add_api_route("/request", create_request, methods=["POST"])
    router.add_api_route("/request/{ident}", get_request, methods=["GET"])
    router.add_api_route("/request/{ident}/sla", request_sla, methods=["GET"])
    return router


__all__ = ["build_router", "desk_of_project", "jsm_error"]

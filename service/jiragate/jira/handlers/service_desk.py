"""Jira Service Management: a project's service desk, queues, request types, SLAs, and raising
a customer request exactly once (catalog/jsm_actions.py).

JSM's REST API lives at `/rest/servicedeskapi/...` on Cloud and Data Center alike (no
version in the path; jira/openapi/jira-servicedesk.subset.json). Every call carries
`X-ExperimentalApi: opt-in`: Atlassian's JSM reference asks for it on experimental operations
(which ones has changed between versions: queues and SLAs were experimental on Server/DC),
mcp-atlassian 0.23.1 sends it on its servicedeskapi writes
(`mcp_atlassian/jira/customer_requests.py`, `_get_servicedesk_headers`), and an operation
that is no longer experimental ignores it. Errors come in JSM's shape
(`{"errorMessage", "i18nErrorMessage"}`), which the client turns into `JiraHTTPError`.

**Scope.** Policies see `projectKey` (or the SLA read's `issueKey`). The desk is looked up
in Jira as *the desk of that project* (`GET servicedesk`, paged, matched by `projectKey`:
what mcp-atlassian's `get_service_desk_for_project` does); an agent's `serviceDeskId` must
be that desk (`GET servicedesk/{id}` names its project) or the action fails with nothing read
or raised. Queue and request-type ids are read under the desk's path, where JSM finds only
that desk's; a queue's issues must all be in the project (JSM appends the project to a queue's
JQL, so this only fails on a server that does not: refused whole, never trimmed). An SLA read
checks its issue is (still) in the project (scope.issue_in_project) and is a request.

**Exactly once.** `POST /request` takes no labels or properties (only the request type's
fields), so the marker is written *after* Jira answers: the issue property
`jiragate.marker` (which proves it) and the marker labels (which find it; a request type
whose edit screen refuses labels leaves the property alone, and recovery below still finds
it). Before raising, the adapter looks for this action's marked issue (`find_created`). A
POST whose answer is lost after it was sent is not resent (the client raises an unknown
outcome; the gateway retries the action later, `resumed`); the retry then looks, beside the
markers, for the request the lost POST may have raised: the project's newest issues created
by the service account since the action was recorded, with the same summary, no marker and
the same request type. One is adopted (and marked); several fail the action naming them, so
a human decides and nothing is raised twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError, JiraLookupError
from jiragate.jira.handlers.base import NOT_BEFORE, ActionCall, handles
from jiragate.jira.handlers.scope import issue_in_project
from jiragate.jira.markers import MARKER_PROPERTY, created_in_time, issue_marker, issue_marker_index

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

SD = "/rest/servicedeskapi"
JSM_HEADERS = {"X-ExperimentalApi": "opt-in"}
#: JSM's page size (`limit`); lists of desks, queues and request types are read to the end,
#: at most this many pages (a site with more than 1000 desks is refused, not half-read).
PAGE = 50
MAX_PAGES = 20
#: How many of the project's newest issues the recovery of a lost POST looks through.
RECOVERY_SCAN = 50


async def _get(jira: JiraAdapter, suffix: str, query: Mapping[str, Any] | None = None) -> Any:
    return await jira.client.get(f"{SD}{suffix}", query=query, headers=JSM_HEADERS) or {}


async def _all_pages(
    jira: JiraAdapter, suffix: str, query: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await _get(jira, suffix, {**(query or {}), "start": len(items), "limit": PAGE})
        values = [v for v in page.get("values") or [] if isinstance(v, Mapping)]
        items.extend(dict(v) for v in values)
        if page.get("isLastPage", True) or not values:
            return items
    raise JiraLookupError(f"GET {SD}{suffix} has more than {MAX_PAGES * PAGE} items")


def _desk_shown(desk: Mapping[str, Any]) -> dict[str, Any]:
    return {k: desk.get(k) for k in ("id", "projectId", "projectKey", "projectName")}


async def project_desk(jira: JiraAdapter, details: Mapping[str, Any]) -> dict[str, Any]:
    """The service desk of the action's project; an agent's `serviceDeskId` must be it."""
    project = str(details["projectKey"])
    if "serviceDeskId" in details:
        ident = details["serviceDeskId"]
        try:
            desk = await _get(jira, f"/servicedesk/{ident}")
        except JiraHTTPError as exc:
            if exc.status == 404:
                raise JiraLookupError(f"service desk {ident} does not exist") from exc
            raise
        if str(desk.get("projectKey")) != project:
            raise JiraLookupError(
                f"service desk {ident} is the desk of project {desk.get('projectKey')}, not "
                f"{project}; an action reads and raises only in its own project's desk"
            )
        return dict(desk)
    for desk in await _all_pages(jira, "/servicedesk"):
        if str(desk.get("projectKey")) == project:
            return desk
    raise JiraLookupError(
        f"project {project} is not a Jira Service Management service desk "
        f"(GET {SD}/servicedesk lists no desk for it)"
    )


@handles("jira_get_service_desk")
async def get_service_desk(jira: JiraAdapter, call: ActionCall) -> None:
    call.result.data = {"serviceDesk": _desk_shown(await project_desk(jira, call.details))}


def _queue_shown(queue: Mapping[str, Any]) -> dict[str, Any]:
    shown = {k: queue.get(k) for k in ("id", "name", "jql", "fields")}
    if "issueCount" in queue:
        shown["issueCount"] = queue["issueCount"]
    return shown


@handles("jira_list_queues")
async def list_queues(jira: JiraAdapter, call: ActionCall) -> None:
    desk = await project_desk(jira, call.details)
    count = bool(call.details.get("includeCount", True))
    queues = await _all_pages(jira, f"/servicedesk/{desk['id']}/queue", {"includeCount": count})
    call.result.data = {
        "serviceDesk": _desk_shown(desk),
        "queues": [_queue_shown(q) for q in queues],
    }


async def _under_desk(jira: JiraAdapter, suffix: str, what: str, desk: Mapping[str, Any]) -> Any:
    """An object read under the desk's path; JSM's 404 means "not on this desk"."""
    try:
        return await _get(jira, f"/servicedesk/{desk['id']}{suffix}")
    except JiraHTTPError as exc:
        if exc.status == 404:
            raise JiraLookupError(
                f"{what} is not on the service desk of {desk.get('projectKey')} "
                f"(desk {desk['id']}); an action uses only its own project's desk"
            ) from exc
        raise


@handles("jira_get_queue_issues")
async def get_queue_issues(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    desk = await project_desk(jira, details)
    queue_id = details["queueId"]
    queue = await _under_desk(jira, f"/queue/{queue_id}", f"queue {queue_id}", desk)
    limit = int(details.get("maxResults", PAGE))
    page = await _get(
        jira,
        f"/servicedesk/{desk['id']}/queue/{queue_id}/issue",
        {"start": int(details.get("startAt", 0)), "limit": limit},
    )
    issues = [i for i in page.get("values") or [] if isinstance(i, Mapping)][:limit]
    project = str(details["projectKey"])
    outside = [
        str(i.get("key")) for i in issues if str(i.get("key", "")).rsplit("-", 1)[0] != project
    ]
    if outside:
        raise JiraLookupError(
            f"queue {queue_id} lists issues outside {project} ({', '.join(outside)}); "
            "nothing of it is returned (a queue read stays inside its project)"
        )
    wanted = details.get("fields")
    shown = []
    for issue in issues:
        fields = dict(issue.get("fields") or {})
        if wanted is not None:
            fields = {name: value for name, value in fields.items() if name in wanted}
        shown.append({"id": issue.get("id"), "key": issue.get("key"), "fields": fields})
    call.result.data = {
        "queue": _queue_shown(queue),
        "startAt": page.get("start", 0),
        "isLast": bool(page.get("isLastPage", True)),
        "issues": shown,
    }


def _type_shown(request_type: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "description", "issueTypeId", "serviceDeskId")
    return {k: request_type.get(k) for k in keys}


@handles("jira_list_request_types")
async def list_request_types(jira: JiraAdapter, call: ActionCall) -> None:
    desk = await project_desk(jira, call.details)
    query = {"searchQuery": call.details.get("searchQuery")}
    types = await _all_pages(jira, f"/servicedesk/{desk['id']}/requesttype", query)
    call.result.data = {
        "serviceDesk": _desk_shown(desk),
        "requestTypes": [_type_shown(t) for t in types],
    }


@handles("jira_get_request_type_fields")
async def get_request_type_fields(jira: JiraAdapter, call: ActionCall) -> None:
    desk = await project_desk(jira, call.details)
    type_id = call.details["requestTypeId"]
    answer = await _under_desk(
        jira, f"/requesttype/{type_id}/field", f"request type {type_id}", desk
    )
    fields = [f for f in answer.get("requestTypeFields") or [] if isinstance(f, Mapping)]
    call.result.data = {
        "requestTypeId": str(type_id),
        "canRaiseOnBehalfOf": answer.get("canRaiseOnBehalfOf"),
        "canAddRequestParticipants": answer.get("canAddRequestParticipants"),
        "fields": [
            {
                "fieldId": f.get("fieldId"),
                "name": f.get("name"),
                "required": bool(f.get("required")),
                "description": f.get("description"),
                "validValues": [
                    {"value": v.get("value"), "label": v.get("label")}
                    for v in f.get("validValues") or []
                    if isinstance(v, Mapping)
                ],
                "jiraSchema": f.get("jiraSchema"),
            }
            for f in fields
        ],
    }


async def _request(jira: JiraAdapter, key: str) -> dict[str, Any]:
    try:
        return dict(await _get(jira, f"/request/{key}"))
    except JiraHTTPError as exc:
        if exc.status == 404:
            raise JiraLookupError(
                f"{key} is not a customer request (JSM answers 404 for it: it was not raised "
                "through a service desk, or Jira Service Management is not installed)"
            ) from exc
        raise


def _cycle(cycle: Mapping[str, Any]) -> dict[str, Any]:
    def when(name: str) -> Any:
        value = cycle.get(name)
        return value.get("iso8601") if isinstance(value, Mapping) else None

    def length(name: str) -> Any:
        value = cycle.get(name)
        return value.get("millis") if isinstance(value, Mapping) else None

    shown = {
        "startTime": when("startTime"),
        "stopTime": when("stopTime"),
        "breachTime": when("breachTime"),
        "breached": cycle.get("breached"),
        "goalMillis": length("goalDuration"),
        "elapsedMillis": length("elapsedTime"),
        "remainingMillis": length("remainingTime"),
    }
    if "paused" in cycle:
        shown["paused"] = cycle.get("paused")
    return {k: v for k, v in shown.items() if v is not None}


@handles("jira_get_issue_sla")
async def get_issue_sla(jira: JiraAdapter, call: ActionCall) -> None:
    key = call.details["issueKey"]
    issue = await issue_in_project(jira, key, key.rsplit("-", 1)[0])
    await _request(jira, issue.key)
    try:
        slas = await _all_pages(jira, f"/request/{issue.key}/sla")
    except JiraHTTPError as exc:
        if exc.status == 404:
            # The request exists (read just above): the SLA resource itself is missing.
            raise JiraLookupError(
                f"this Jira has no SLA endpoint ({SD}/request/{{key}}/sla answers 404): an "
                "older Jira Service Management on Data Center, where the SLA API is "
                "experimental, or SLAs switched off"
            ) from exc
        raise
    call.result.data = {  # a read touches nothing: `updated` stays empty
        "issueKey": issue.key,
        "slas": [
            {
                "id": sla.get("id"),
                "name": sla.get("name"),
                **(
                    {"ongoingCycle": _cycle(sla["ongoingCycle"])}
                    if isinstance(sla.get("ongoingCycle"), Mapping)
                    else {}
                ),
                "completedCycles": [
                    _cycle(c) for c in sla.get("completedCycles") or [] if isinstance(c, Mapping)
                ],
            }
            for sla in slas
        ],
    }


# --------------------------------------------------------------------------- raising a request


def _request_body(details: Mapping[str, Any], desk_id: str) -> dict[str, Any]:
    values: dict[str, Any] = {**(details.get("fields") or {}), "summary": details["summary"]}
    if details.get("description"):
        values["description"] = details["description"]  # plain text on both flavours
    body: dict[str, Any] = {
        "serviceDeskId": desk_id,
        "requestTypeId": str(details["requestTypeId"]),
        "requestFieldValues": values,
    }
    if details.get("raiseOnBehalfOf"):
        body["raiseOnBehalfOf"] = details["raiseOnBehalfOf"]
    if details.get("requestParticipants"):
        body["requestParticipants"] = list(details["requestParticipants"])
    return body


async def _mark(jira: JiraAdapter, key: str, action_id: str) -> str | None:
    """Write the marker property, then the labels; a refusal of the labels is reported (the
    property alone still proves the request is this action's), not raised."""
    value = issue_marker(jira.config.marker_key, action_id, 0)
    await jira.client.put(jira.api(f"/issue/{key}/properties/{MARKER_PROPERTY}"), value)
    labels = [jira.marker_label(action_id), jira.ticket_label(action_id, 0)]
    try:
        await jira.client.put(
            jira.api(f"/issue/{key}"), {"update": {"labels": [{"add": label} for label in labels]}}
        )
    except JiraHTTPError as exc:
        return f"marker labels not set on {key}: {exc}"
    return None


async def _lost_request(
    jira: JiraAdapter, details: Mapping[str, Any], action_id: str
) -> str | None:
    """The request a lost POST of this action raised, if one is found (see the docstring)."""
    project = str(details["projectKey"])
    issues, _ = await jira.search_issues(
        f'project = "{project}" ORDER BY created DESC',
        fields=["summary", "created", "creator"],
        limit=RECOVERY_SCAN,
        properties=[MARKER_PROPERTY],
    )
    ours: list[str] = []
    unmarked: list[str] = []
    for issue in issues:
        fields = issue.get("fields") or {}
        if fields.get("summary") != details["summary"]:
            continue
        if not created_in_time(fields.get("created"), NOT_BEFORE.get()):
            continue
        if not await jira.is_ours(fields.get("creator")):
            continue
        marker = (issue.get("properties") or {}).get(MARKER_PROPERTY)
        key = str(issue.get("key"))
        if issue_marker_index(marker, jira.config.marker_key, action_id) == 0:
            ours.append(key)
        elif marker is None:
            try:
                request = await _request(jira, key)
            except JiraLookupError:
                continue  # an issue, not a customer request: not what the POST raised
            if str(request.get("requestTypeId")) == str(details["requestTypeId"]):
                unmarked.append(key)
    if ours:
        return ours[0]
    if len(unmarked) > 1:
        raise JiraLookupError(
            f"an earlier attempt's answer was lost and {len(unmarked)} unmarked requests "
            f"match it ({', '.join(unmarked)}); none is raised again — check them in Jira"
        )
    return unmarked[0] if unmarked else None


@handles("jira_create_customer_request")
async def create_customer_request(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    desk = await project_desk(jira, details)
    type_id = details["requestTypeId"]
    await _under_desk(jira, f"/requesttype/{type_id}", f"request type {type_id}", desk)
    found = (await jira.find_created(call.action_id)).get(0)
    if found is None and call.resumed:
        found = await _lost_request(jira, details, call.action_id)
        if found is not None:
            warning = await _mark(jira, found, call.action_id)
            result.data = {"recovered": [0], **({"warning": warning} if warning else {})}
    elif found is not None:
        result.data = {"recovered": [0]}
    if found is not None:
        result.created.append({"index": 0, "key": found})
        return
    try:
        # Not idempotent and no `recover`: a lost answer after sending is an unknown outcome,
        # never a resend (the retry looks for what it raised, above).
        answer = await jira.client.post(
            f"{SD}/request", _request_body(details, str(desk["id"])), headers=JSM_HEADERS
        )
    except JiraHTTPError as exc:
        result.fail(exc, index=0)
        return
    key = str((answer or {}).get("issueKey"))
    result.created.append({"index": 0, "key": key})
    warning = await _mark(jira, key, call.action_id)
    result.data = {
        "issueKey": key,
        "serviceDeskId": str(desk["id"]),
        "requestTypeId": str(type_id),
        **({"warning": warning} if warning else {}),
    }

"""The proxy's rows for Jira Service Management (`/rest/servicedeskapi/...`): a project's
service desk, its queues and their issues, its request types and their fields, a request's
SLAs, and raising a customer request — the catalog's JSM actions (catalog/jsm_actions.py).

A desk is named by id in JSM's paths (`/servicedesk/1/queue`), or on Cloud by its project's
key (`/servicedesk/OPS/queue`). Either way the action's project is the one Jira places the
desk in (`Gateway.locate("servicedesk", ...)`, the desk's `projectKey`), read before the
action is named, never the client's word; a key that is not the desk's project is refused.
Jira answering 404 for the desk is answered as Jira would (nothing recorded, nothing run).
Queue and request-type ids are the path's: the handlers read them under the desk's path, so
another desk's id is not found there; a forwarded read goes to the same path.

Reads are forwarded as sent once allowed; a queue page's `limit` (JSM's page size) is capped
at the action's `maxResults` limit in the details and in what Jira is sent. `POST /request`
runs jira_create_customer_request through its handler (exactly once, marker and recovery:
jira/handlers/service_desk.py) and answers 201 with the request's ids, as JSM does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord
from jiragate.proxy.agile_rows import _located
from jiragate.proxy.mapping import Answer, Incoming, MappingError, Row, _known, _object
from jiragate.proxy.read_rows import _limit, _number

Query = tuple[tuple[str, str], ...]
_SD = "/rest/servicedeskapi"
_QUEUE_ISSUES = "jira_get_queue_issues"


# --------------------------------------------------------------------------- the desk


async def _desk(incoming: Incoming, gateway: Gateway, with_id: bool = True) -> dict[str, Any]:
    """`projectKey` (and `serviceDeskId` when the path names the desk by id, as an agent on
    /v1/actions names it): the desk's project as Jira places it."""
    by_id = incoming.params.get("{serviceDeskId}")
    ident = by_id or incoming.params["{projectIdOrKey}"]
    found = await _located(gateway, "servicedesk", ident)
    if by_id is None and found.project_key != ident:
        raise MappingError(
            f"service desk {ident} is the desk of project {found.project_key}, not of {ident}"
        )
    details: dict[str, Any] = {"projectKey": found.project_key}
    if with_id and by_id is not None:
        details["serviceDeskId"] = int(by_id)
    return details


async def _get_desk(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return await _desk(incoming, gateway, with_id=False)  # the action takes the project only


async def _queues(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details = await _desk(incoming, gateway)
    count = incoming.first("includeCount")
    if count is not None:
        if count.lower() not in ("true", "false"):
            raise MappingError(f"includeCount must be true or false, got {count!r}")
        details["includeCount"] = count.lower() == "true"
    return details


async def _queue_issues(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details = await _desk(incoming, gateway)
    details["queueId"] = int(incoming.params["{queueId}"])
    start = _number(incoming, "start")  # JSM pages with start/limit
    if start is not None:
        details["startAt"] = start
    size = _number(incoming, "limit")
    if size is not None:
        limit = _limit(_QUEUE_ISSUES, "maxResults")
        details["maxResults"] = min(size, limit) if limit is not None else size
    return details


def _queue_page(incoming: Incoming, details: Mapping[str, Any]) -> tuple[Query, Any]:
    """The client's query with JSM's `start` and `limit` the ones the policy saw."""
    kept = tuple((k, v) for k, v in incoming.query if k not in ("start", "limit"))
    paging = tuple(
        (name, str(details[field]))
        for name, field in (("start", "startAt"), ("limit", "maxResults"))
        if field in details
    )
    return (*paging, *kept), incoming.body


async def _request_types(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details = await _desk(incoming, gateway)
    text = incoming.first("searchQuery")
    if text:
        details["searchQuery"] = text
    return details


async def _request_type_fields(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details = await _desk(incoming, gateway)
    details["requestTypeId"] = int(incoming.params["{requestTypeId}"])
    return details


async def _sla(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {"issueKey": incoming.issue_key()}


# --------------------------------------------------------------------------- raising a request

_REQUEST_KEYS = (
    "serviceDeskId",
    "requestTypeId",
    "requestFieldValues",
    "raiseOnBehalfOf",
    "requestParticipants",
)


def _id(value: Any, name: str) -> int:
    """JSM's ids as clients send them: a number or its digits (atlassian-python-api and
    mcp-atlassian send strings)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        return int(value)
    raise MappingError(f"{name} must be an id (a number)")


async def _create_request(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`POST /request` as jira_create_customer_request: the desk's project from Jira, the
    summary and description as the action's own properties, every other field value as its
    `fields` (a reviewer edits the summary, description and participants only)."""
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, _REQUEST_KEYS, "the body")
    desk = _id(body.get("serviceDeskId"), "serviceDeskId")
    found = await _located(gateway, "servicedesk", str(desk))
    values = dict(_object(body.get("requestFieldValues"), "requestFieldValues"))
    details: dict[str, Any] = {
        "projectKey": found.project_key,
        "serviceDeskId": desk,
        "requestTypeId": _id(body.get("requestTypeId"), "requestTypeId"),
        "summary": values.pop("summary", None),
    }
    description = values.pop("description", None)
    if description is not None:
        if not isinstance(description, str):
            raise MappingError(
                "requestFieldValues.description must be plain text (JSM takes plain text on "
                "Cloud and Data Center; the Jiragate proxy does not carry isAdfRequest)"
            )
        details["description"] = description
    for name in ("raiseOnBehalfOf", "requestParticipants"):
        if body.get(name):
            details[name] = body[name]
    if values:
        details["fields"] = values
    return details


def _no_query(incoming: Incoming) -> None:
    if incoming.query:
        names = ", ".join(sorted({name for name, _ in incoming.query}))
        raise MappingError(f"the Jiragate proxy carries no query parameter here (got {names})")


async def _raised(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    """JSM's 201 for a raised request: its issue's id and key, request type and desk (the
    handler's record; a recovered request is found by its key, which the record keeps)."""
    result = record.result_json or {}
    keys = [str(item["key"]) for item in result.get("created", [])]
    key = keys[0] if keys else str((result.get("data") or {}).get("issueKey", ""))
    found = (await gateway.get_issues([key], ["summary"])).get(key) if key else None
    issue_id = str((found or {}).get("id", ""))
    details = record.effective_details or record.details
    return Answer(
        201,
        {
            "issueId": issue_id,
            "issueKey": key,
            "requestTypeId": str(details.get("requestTypeId", "")),
            "serviceDeskId": str(details.get("serviceDeskId", "")),
            "_links": {"self": f"{incoming.base_url}{_SD}/request/{issue_id or key}"},
        },
    )


# --------------------------------------------------------------------------- the rows

_DESKS = ("{serviceDeskId}", "{projectIdOrKey}")  # by id, or (Cloud) by the project's key

JSM_ROWS: tuple[Row, ...] = (
    *(
        row
        for desk in _DESKS
        for row in (
            Row("GET", f"{_SD}/servicedesk/{desk}", "jira_get_service_desk", _get_desk),
            Row("GET", f"{_SD}/servicedesk/{desk}/queue", "jira_list_queues", _queues),
            Row(
                "GET",
                f"{_SD}/servicedesk/{desk}/queue/{{queueId}}/issue",
                _QUEUE_ISSUES,
                _queue_issues,
                rewrite=_queue_page,
            ),
            Row(
                "GET",
                f"{_SD}/servicedesk/{desk}/requesttype",
                "jira_list_request_types",
                _request_types,
            ),
            Row(
                "GET",
                f"{_SD}/servicedesk/{desk}/requesttype/{{requestTypeId}}/field",
                "jira_get_request_type_fields",
                _request_type_fields,
            ),
        )
    ),
    Row("GET", f"{_SD}/request/{{issueIdOrKey}}/sla", "jira_get_issue_sla", _sla),
    Row("POST", f"{_SD}/request", "jira_create_customer_request", _create_request, _raised),
)

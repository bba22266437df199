"""Which Jira REST endpoints are which catalog actions: one row per (method, template).

A row turns the request into the action's `details` — exactly what an agent would send to
`/v1/actions` for the same intent, so one policy governs both paths — and, for a write,
turns the executed action back into the answer Jira would have given. Mapping another
catalog action is adding a row (docs/proxy.md, "Mapping an endpoint"). A request to a
mapped endpoint that its row cannot express (a field the action does not carry, an issue id
where the action needs a key) is refused with a 400 naming what is wrong, never sent as a
generic action: that would let an agent step around a rule on the catalog action by adding
a field. Reads are forwarded as sent once allowed (the client gets Jira's whole answer);
writes run through the action's handler (reviewer edits, duplicate protection).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jiragate import jql
from jiragate.catalog.priorities import PriorityOrder
from jiragate.catalog.rest import RestPath
from jiragate.errors import InvalidJQLError
from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord

_FIELD_NAME = re.compile(r"[A-Za-z0-9_.]+")


class MappingError(ValueError):
    """The request cannot be expressed as its endpoint's action; the message says why.
    `status` is Jira's answer: 400, or 404 when the object the path names does not exist."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Incoming:
    """One proxied request, normalised: what a row reads."""

    method: str
    rest: RestPath
    params: Mapping[str, str]  # template placeholder -> the path's value (last one wins)
    query: tuple[tuple[str, str], ...]
    body: Any  # decoded JSON, or None
    base_url: str  # how the client reaches us, for `self` links

    def first(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)

    def issue_key(self) -> str:
        key = self.rest.issue_key
        if key is None:
            raise MappingError(
                "the Jiragate proxy needs the issue key (ENG-42) here, not the issue's id"
            )
        return key

    def issue_url(self, key: str) -> str:
        return f"{self.base_url}/rest/api/{self.rest.version}/issue/{key}"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any = None  # None: no body (204)


@dataclass(frozen=True, slots=True)
class Chosen:
    """The action a row that stands for several chose, by the request and what Jira says
    (`PUT /version/{id}` updates, releases or archives), with its details."""

    action: str
    details: dict[str, Any]


DetailsOf = Callable[[Incoming, Gateway], Awaitable[dict[str, Any] | Chosen]]
AnswerOf = Callable[[Incoming, ActionRecord, Gateway], Awaitable[Answer]]
Rewrite = Callable[[Incoming, Mapping[str, Any]], tuple[tuple[tuple[str, str], ...], Any]]


async def _no_content(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    return Answer(204)


@dataclass(frozen=True, slots=True)
class Row:
    method: str
    template: str
    action: str
    details: DetailsOf
    #: Writes only: the answer Jira would give once the action ran.
    answer: AnswerOf = _no_content
    #: For reads: the (query, body) forwarded, rebuilt from the validated details (a
    #: search runs the catalog's canonical JQL); None forwards the request as sent.
    rewrite: Rewrite | None = None
    #: The other actions `details` may choose (a `Chosen`); `action` is the usual one.
    also: tuple[str, ...] = ()


# --------------------------------------------------------------------------- shapes


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(f"{what} must be a JSON object")
    return value


def _text(value: Any, what: str) -> str:
    """Plain text from a string (API v2) or an Atlassian Document (API v3)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "doc":
        blocks = []
        for block in value.get("content") or []:
            if isinstance(block, dict):
                blocks.append("".join(_inline_text(block)))
        return "\n".join(blocks)
    raise MappingError(f"{what} must be text or an Atlassian Document")


def _inline_text(node: Mapping[str, Any]) -> list[str]:
    out = [str(node["text"])] if isinstance(node.get("text"), str) else []
    for child in node.get("content") or []:
        if isinstance(child, dict):
            out.extend(_inline_text(child))
    return out


def _name(value: Any, what: str, *keys: str) -> str:
    """`{"name": "High"}` (or `{"key": ...}`, `{"id": ...}` as given) -> "High"."""
    if isinstance(value, dict):
        for key in keys:
            if isinstance(value.get(key), str | int) and not isinstance(value.get(key), bool):
                return str(value[key])
    raise MappingError(f"{what} must be an object with {' or '.join(keys)}")


def _user(value: Any, what: str) -> str | None:
    if value is None:
        return None
    return _name(value, what, "accountId", "name", "key")


def _known(fields: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise MappingError(
            f"{where} sets {', '.join(unknown)}, which the Jiragate proxy does not carry for "
            f"this endpoint (it carries {', '.join(allowed)})"
        )


# --------------------------------------------------------------------------- issues

_CREATE_FIELDS = (
    "project",
    "issuetype",
    "summary",
    "description",
    "priority",
    "labels",
    "assignee",
    "parent",
)


def _ticket(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    _known(fields, _CREATE_FIELDS, where)
    out: dict[str, Any] = {
        "projectKey": _name(fields.get("project"), f"{where}.project", "key"),
        "issueType": _name(fields.get("issuetype"), f"{where}.issuetype", "name"),
    }
    if "summary" in fields:
        out["summary"] = fields["summary"]
    if fields.get("description") is not None:
        out["description"] = _text(fields["description"], f"{where}.description")
    if fields.get("priority") is not None:
        out["priority"] = _name(fields["priority"], f"{where}.priority", "name")
    if fields.get("labels"):
        out["labels"] = fields["labels"]
    assignee = _user(fields.get("assignee"), f"{where}.assignee")
    if assignee is not None:
        out["assignee"] = assignee
    if fields.get("parent") is not None:
        out["parentKey"] = _name(fields["parent"], f"{where}.parent", "key")
    return out


def _fields_of(body: Any) -> Mapping[str, Any]:
    payload = _object(body, "the body")
    _known(payload, ("fields", "update"), "the body")
    return _object(payload.get("fields"), "fields")


async def _create_issue(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    ticket = _ticket(_fields_of(incoming.body), "fields")
    if ticket.get("issueType") == "Epic":
        # An epic is jira_create_epic, whatever endpoint creates it (planning rules name it).
        ticket.pop("issueType")
        for unsupported in ("assignee", "parentKey"):
            if unsupported in ticket:
                raise MappingError(f"an epic created through the proxy cannot set {unsupported}")
    return ticket


def _created_action(incoming: Incoming) -> str:
    body = incoming.body if isinstance(incoming.body, dict) else {}
    fields = body.get("fields")
    issuetype = fields.get("issuetype") if isinstance(fields, dict) else None
    epic = isinstance(issuetype, dict) and issuetype.get("name") == "Epic"
    return "jira_create_epic" if epic else "jira_create_ticket"


async def _created(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    keys = [str(item["key"]) for item in (record.result_json or {}).get("created", [])]
    ids = await _issue_ids(gateway, keys)
    issues = [{"id": ids.get(k, ""), "key": k, "self": incoming.issue_url(k)} for k in keys]
    if incoming.rest.template.endswith("/issue/bulk"):
        return Answer(201, {"issues": issues, "errors": []})
    return Answer(201, issues[0] if issues else {})


async def _issue_ids(gateway: Gateway, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    found = await gateway.get_issues(keys, ["summary"])
    return {key: str(issue.get("id", "")) for key, issue in found.items() if issue}


async def _bulk_create(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("issueUpdates",), "the body")
    updates = body.get("issueUpdates")
    if not isinstance(updates, list) or not updates:
        raise MappingError("issueUpdates must be a non-empty list")
    tickets = [_ticket(_fields_of(u), f"issueUpdates[{i}].fields") for i, u in enumerate(updates)]
    projects = {t["projectKey"] for t in tickets}
    types = {t["issueType"] for t in tickets}
    if len(projects) != 1:
        raise MappingError("a bulk create through the proxy is about one project")
    if "Epic" in types:
        raise MappingError("create epics one at a time (POST /issue): they are jira_create_epic")
    # The bulk priority is the highest any ticket asks for, in the site's order, so a rule
    # on details.priority sees the ticket that matters, and a reviewer's lower priority caps
    # every ticket. A name the order does not know ranks above every one: it is the bulk
    # priority then, and policy judges it (fail closed, docs/policies.md "Priorities").
    order = gateway.priority_order()
    asked = [t["priority"] for t in tickets if "priority" in t]
    unknown = len(order) + 1
    priority = (
        max(asked, key=lambda name: order.level(name) or unknown)
        if asked
        else _default_priority(order)
    )
    out_tickets = []
    for ticket in tickets:
        for key in ("assignee", "parentKey"):
            if key in ticket:
                raise MappingError(f"a bulk create through the proxy cannot set {key}")
        out_tickets.append(
            {
                k: ticket[k]
                for k in ("summary", "description", "priority", "labels", "issueType")
                if k in ticket
            }
        )
    return {
        "projectKey": projects.pop(),
        "issueCount": len(tickets),
        "issueType": tickets[0]["issueType"],
        "priority": priority,
        "tickets": out_tickets,
    }


def _default_priority(order: PriorityOrder) -> str:
    """The bulk priority when no ticket names one: Medium where the site has Jira's
    default scheme (its default priority), else the middle of the site's order, rounded up
    (P2 of P1..P4): the catalog needs one, and a real Jira would use its scheme's default,
    which GET /priority does not tell."""
    if "Medium" in order:
        return "Medium"
    return order.names[(len(order) - 1) // 2]


_EDIT_FIELDS = ("summary", "description", "priority", "labels", "duedate", "parent")


async def edit_issue(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`PUT /issue/{key}` as jira_update_fields; custom fields by id are its customFields
    (agile_rows.py takes story points and the Epic Link out first)."""
    body = _object(incoming.body, "the body")
    _known(body, ("fields", "update"), "the body")
    details: dict[str, Any] = {"issueKeys": [incoming.issue_key()]}
    fields = _object(body.get("fields", {}), "fields")
    custom = {name: value for name, value in fields.items() if name.startswith("customfield_")}
    _known({n: v for n, v in fields.items() if n not in custom}, _EDIT_FIELDS, "fields")
    edited: dict[str, Any] = {}
    for name, value in fields.items():
        if name in custom:
            continue
        if name == "description":
            edited[name] = _text(value, "fields.description")
        elif name == "priority":
            edited[name] = _name(value, "fields.priority", "name")
        elif name == "parent":  # an epic or a sub-task's parent, by key; null removes it
            edited[name] = None if value is None else _name(value, "fields.parent", "key")
        else:
            edited[name] = value
    if edited:
        details["fields"] = edited
    if custom:
        details["customFields"] = custom
    update = _object(body.get("update", {}), "update")
    _known(update, ("labels",), "update")
    for operation in update.get("labels", []):
        op = _object(operation, "update.labels[]")
        _known(op, ("add", "remove"), "update.labels[]")
        for verb, target in (("add", "addLabels"), ("remove", "removeLabels")):
            if verb in op:
                details.setdefault(target, []).append(op[verb])
    return details


async def _delete_issue(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    subtasks = (incoming.first("deleteSubtasks") or "false").lower()
    if subtasks not in ("true", "false"):
        raise MappingError("deleteSubtasks must be true or false")
    return {"issueKeys": [incoming.issue_key()], "deleteSubtasks": subtasks == "true"}


async def _assign(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    who = _user(_object(incoming.body, "the body"), "the body")
    if who is None or who == "-1":
        raise MappingError("the proxy assigns to a named user (accountId or name)")
    return {"issueKeys": [incoming.issue_key()], "assignee": who}


async def _transition(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("transition", "fields", "update"), "the body")
    key = incoming.issue_key()
    wanted = _name(body.get("transition"), "transition", "id")
    # The catalog names the target status; Jira's request names a transition id, which
    # only Jira can turn into one (the same read the adapter does before transitioning).
    available = await gateway.get_transitions(key)
    target = next(
        (t for t in available if str(t.get("id")) == wanted),
        None,
    )
    if target is None:
        raise MappingError(f"transition {wanted} is not available for {key}")
    status = target.get("to", {}).get("name") if isinstance(target.get("to"), dict) else None
    details: dict[str, Any] = {"issueKeys": [key], "targetStatus": status or target.get("name")}
    fields = _object(body.get("fields", {}), "fields")
    _known(fields, ("resolution",), "fields")
    if "resolution" in fields:
        details["resolution"] = _name(fields["resolution"], "fields.resolution", "name")
    update = _object(body.get("update", {}), "update")
    _known(update, ("comment",), "update")
    for operation in update.get("comment", []):
        added = _object(_object(operation, "update.comment[]").get("add"), "update.comment[].add")
        details["comment"] = _text(added.get("body"), "update.comment[].add.body")
    return details


async def _comment(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("body",), "the body")
    return {"issueKey": incoming.issue_key(), "body": _text(body.get("body"), "body")}


async def _commented(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    data = (record.result_json or {}).get("data") or {}
    comment_id = str(data.get("commentId", ""))
    details = record.effective_details or record.details
    return Answer(
        201,
        {
            "id": comment_id,
            "self": f"{incoming.issue_url(details['issueKey'])}/comment/{comment_id}",
            "body": incoming.body.get("body") if isinstance(incoming.body, dict) else None,
        },
    )


async def _archive(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("issueIdsOrKeys",), "the body")
    keys = body.get("issueIdsOrKeys")
    if not isinstance(keys, list) or not keys:
        raise MappingError("issueIdsOrKeys must be a non-empty list of issue keys")
    return {"issueKeys": keys}


# --------------------------------------------------------------------------- issue extras
# Comments, worklogs, watchers and links: the catalog actions of issue 12, so a policy on
# jira_add_worklog (say) governs a worklog sent through the proxy too.


def _no_query(incoming: Incoming, allowed: Sequence[str] = ()) -> None:
    """Refuse query parameters the action does not carry (adjustEstimate, notifyUsers, …):
    dropping them silently would run something other than what the client asked for."""
    unknown = sorted({key for key, _ in incoming.query} - set(allowed))
    if unknown:
        raise MappingError(
            f"the Jiragate proxy does not carry the query parameter(s) {', '.join(unknown)} "
            "for this endpoint"
        )


def _path_id(incoming: Incoming) -> str:
    return incoming.params["{id}"]


async def _edit_comment(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, ("body",), "the body")
    return {
        "issueKey": incoming.issue_key(),
        "commentId": _path_id(incoming),
        "body": _text(body.get("body"), "body"),
    }


async def _comment_edited(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    details = record.effective_details or record.details
    url = f"{incoming.issue_url(details['issueKey'])}/comment/{details['commentId']}"
    return Answer(200, {"id": details["commentId"], "self": url})


async def _delete_comment(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    return {"issueKey": incoming.issue_key(), "commentId": _path_id(incoming)}


def _worklog_fields(incoming: Incoming) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, ("timeSpent", "started", "comment"), "the body")
    out: dict[str, Any] = {"issueKey": incoming.issue_key()}
    if "timeSpent" in body:
        out["timeSpent"] = body["timeSpent"]
    if "started" in body:
        out["started"] = body["started"]
    if body.get("comment") is not None:
        out["comment"] = _text(body["comment"], "comment")
    return out


async def _add_worklog(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return _worklog_fields(incoming)


async def _update_worklog(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {**_worklog_fields(incoming), "worklogId": _path_id(incoming)}


async def _worklog_answer(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    details = record.effective_details or record.details
    data = (record.result_json or {}).get("data") or {}
    ident = str(data.get("worklogId") or details.get("worklogId") or "")
    url = f"{incoming.issue_url(details['issueKey'])}/worklog/{ident}"
    return Answer(201 if incoming.method == "POST" else 200, {"id": ident, "self": url})


async def _delete_worklog(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    return {"issueKey": incoming.issue_key(), "worklogId": _path_id(incoming)}


async def _add_watcher(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    # Jira's body is the bare accountId (Cloud) or user name (Data Center) as a JSON string.
    if not isinstance(incoming.body, str) or not incoming.body:
        raise MappingError("the body must be the watcher's accountId or user name, as a string")
    return {"issueKey": incoming.issue_key(), "user": incoming.body}


async def _remove_watcher(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming, ("accountId", "username"))
    user = incoming.first("accountId") or incoming.first("username")
    if not user:
        raise MappingError("name the watcher to remove with accountId (or username)")
    return {"issueKey": incoming.issue_key(), "user": user}


async def _create_remote_link(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, ("object", "globalId"), "the body")
    target = _object(body.get("object"), "object")
    _known(target, ("url", "title", "summary"), "object")
    details: dict[str, Any] = {
        "issueKey": incoming.issue_key(),
        "url": target.get("url"),
        "title": target.get("title"),
    }
    if target.get("summary") is not None:
        details["summary"] = target["summary"]
    if body.get("globalId") is not None:
        details["globalId"] = body["globalId"]
    return details


async def _remote_link_answer(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    data = (record.result_json or {}).get("data") or {}
    details = record.effective_details or record.details
    ident = str(data.get("remoteLinkId", ""))
    url = f"{incoming.issue_url(details['issueKey'])}/remotelink/{ident}"
    return Answer(201, {"id": int(ident) if ident.isdigit() else ident, "self": url})


async def _created_link(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    return Answer(201)


async def _create_issue_link(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, ("type", "inwardIssue", "outwardIssue"), "the body")
    link_type = _name(body.get("type"), "type", "name")
    # The catalog's issueKey is Jira's inwardIssue, otherIssueKey its outwardIssue (the
    # handler sends them back in those places: handlers/links.py).
    inward = _name(body.get("inwardIssue"), "inwardIssue", "key")
    outward = _name(body.get("outwardIssue"), "outwardIssue", "key")
    return {"issueKey": inward, "linkType": link_type, "otherIssueKey": outward}


# --------------------------------------------------------------------------- reads


async def _get_issue(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details: dict[str, Any] = {"issueKey": incoming.issue_key()}
    fields = [f for f in (incoming.first("fields") or "").split(",") if f]
    # `*all`, `*navigable` and `-comment` read the same issue with more or fewer fields: the
    # action is the issue's read; only a plain list of field names is the catalog's subset.
    if fields and all(_FIELD_NAME.fullmatch(f) for f in fields):
        details["fields"] = fields
    return details


async def _get_transitions(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {"issueKey": incoming.issue_key()}


def _search_source(incoming: Incoming) -> Mapping[str, Any]:
    if incoming.method == "POST":
        return _object(incoming.body, "the body")
    return {key: value for key, value in incoming.query}


async def _search(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    source = _search_source(incoming)
    text = source.get("jql")
    if not isinstance(text, str) or not text.strip():
        raise MappingError("the proxy searches with a JQL query (jql)")
    details: dict[str, Any] = {"jql": text}
    project = _jql_project(text)
    if project:
        details["projectKey"] = project
    size = source.get("maxResults")
    if size is not None:
        try:
            details["maxResults"] = min(int(size), 100)
        except (TypeError, ValueError):
            raise MappingError("maxResults must be a number") from None
    return details


def _jql_project(text: str) -> str | None:
    """The one project a client's JQL names (`project = ENG`, `key = ENG-1`): the search's
    projectKey, as an agent on /v1/actions would give it. Several, or none: None (the
    catalog then refuses a JQL that names any project, with the position)."""
    try:
        query = jql.parse(text)
    except InvalidJQLError:
        return None
    found: set[str] = set()
    for clause in jql.clauses(query.where):
        name = clause.field.folded
        for value in clause.operands:
            if not isinstance(value, jql.Literal) or value.number:
                continue
            if name in jql.PROJECT_FIELDS:
                found.add(value.text.upper())
            elif name in jql.ISSUE_FIELDS and "-" in value.text:
                found.add(value.text.rsplit("-", 1)[0].upper())
    return found.pop() if len(found) == 1 else None


def _search_rewrite(
    incoming: Incoming, details: Mapping[str, Any]
) -> tuple[tuple[tuple[str, str], ...], Any]:
    # The JQL Jira runs is the catalog's canonical, parsed query (kept in its project),
    # never the client's text; maxResults is the one the policy saw.
    if incoming.method != "POST":
        return canonical_query(incoming, details), None
    body = dict(_object(incoming.body, "the body"))
    body["jql"] = jql.for_jira(str(details["jql"]), details.get("projectKey"))
    size = details.get("maxResults")
    if size is not None:
        body["maxResults"] = size
    return incoming.query, body


def canonical_query(incoming: Incoming, details: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The client's query as Jira is sent it: the JQL the catalog's canonical one inside the
    action's project and `maxResults` the one the policy saw (each only where the details
    carry one), every other parameter as given (read_rows.py forwards its reads so too)."""
    kept = tuple((k, v) for k, v in incoming.query if k not in ("jql", "maxResults"))
    text = details.get("jql")
    canonical = (("jql", jql.for_jira(str(text), details.get("projectKey"))),) if text else ()
    size = details.get("maxResults")
    sized = (("maxResults", str(size)),) if size is not None else ()
    return (*canonical, *sized, *kept)


async def _list_sprints(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    details: dict[str, Any] = {"boardId": int(incoming.params["{id}"])}
    state = incoming.first("state")
    if state:
        details["state"] = state
    return details


async def _move_to_sprint(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("issues",), "the body")
    return {"sprintId": int(incoming.params["{id}"]), "issueKeys": body.get("issues")}


# --------------------------------------------------------------------------- versions


def _in_project(
    body: Mapping[str, Any], thing: str, carried: Sequence[str], optional: Sequence[str]
) -> dict[str, Any]:
    """The details of a `thing` created in a project named by key (`project`): its name and
    those of the `optional` fields the body sets (`carried`: every field it may set)."""
    _known(body, carried, "the body")
    if "project" not in body:
        raise MappingError(f"the proxy creates a {thing} by project key (project), not projectId")
    details = {"projectKey": body["project"], "name": body.get("name")}
    details.update({name: body[name] for name in optional if name in body})
    return details


def _data_answer(key: str, status: int | None = None) -> AnswerOf:
    """The answer Jira gives to a write that returns the object it made (201) or changed
    (200; `status` when a POST changes): the action's `result.data[key]`."""

    async def answer(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
        made = ((record.result_json or {}).get("data") or {}).get(key) or {}
        return Answer(status or (201 if incoming.method == "POST" else 200), made)

    return answer


async def _create_version(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return _in_project(
        _object(incoming.body, "the body"),
        "version",
        ("project", "projectId", "name", "description", "startDate", "releaseDate"),
        ("description", "startDate", "releaseDate"),
    )


async def _move_to_backlog(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    _known(body, ("issues",), "the body")
    return {"issueKeys": body.get("issues")}


# --------------------------------------------------------------------------- components


async def _create_component(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    body = _object(incoming.body, "the body")
    details = _in_project(
        body,
        "component",
        ("project", "name", "description", "assigneeType", "leadAccountId", "leadUserName"),
        ("description", "assigneeType"),
    )
    return component_lead(body, details)


def component_lead(body: Mapping[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """`details` with the component's `lead`: Jira's leadAccountId (Cloud) or leadUserName
    (Data Center), whichever the body names (both: refused)."""
    if "leadAccountId" in body and "leadUserName" in body:
        raise MappingError("name the component lead once: leadAccountId or leadUserName")
    lead = body.get("leadAccountId", body.get("leadUserName"))
    if lead is not None:
        details["lead"] = lead
    return details


# --------------------------------------------------------------------------- moves

#: What a bulk move may carry through the proxy: one issue, by key, into one project, with
#: Jira inferring the rest (what jira_move_issue sends; mcp-atlassian's move does the same).
_MOVE_MAPPING_KEYS = (
    "inferClassificationDefaults",
    "inferFieldDefaults",
    "inferStatusDefaults",
    "inferSubtaskTypeDefault",
    "issueIdsOrKeys",
)


async def _bulk_move(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`POST /bulk/issues/move` as jira_move_issue, so the rules on moves (and on both
    projects) apply to it as to `/v1/actions`, rather than the defaults a project-less
    generic write would get. One issue by key, into one project by key; the target type's id
    becomes `targetIssueType` (its name) when it is not the issue's own."""
    body = _object(incoming.body, "the body")
    _known(body, ("sendBulkNotification", "targetToSourcesMapping"), "the body")
    mappings = _object(body.get("targetToSourcesMapping"), "targetToSourcesMapping")
    if len(mappings) != 1:
        raise MappingError("a move through the Jiragate proxy has exactly one target")
    ((target, source),) = mappings.items()
    parts = target.split(",")
    if len(parts) != 2 or not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", parts[0]):
        raise MappingError(
            "the target must be <project key>,<issue type id> (a project key such as OPS, "
            "not an id; no parent: sub-tasks move with their parent)"
        )
    mapping = _object(source, f"targetToSourcesMapping.{target}")
    _known(mapping, _MOVE_MAPPING_KEYS, f"targetToSourcesMapping.{target}")
    if any(mapping.get(name) is False for name in _MOVE_MAPPING_KEYS[:4]):
        raise MappingError("a move through the Jiragate proxy lets Jira infer every default")
    keys = mapping.get("issueIdsOrKeys")
    if not isinstance(keys, list) or len(keys) != 1 or not isinstance(keys[0], str):
        raise MappingError("a move through the Jiragate proxy moves one issue, by key")
    key = keys[0]
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,9}", key):
        raise MappingError(f"issueIdsOrKeys must name the issue by key (ENG-42), not {key!r}")
    found = (await gateway.get_issues([key], ["issuetype"])).get(key)
    if found is None:
        raise MappingError(
            f"Issue does not exist or you do not have permission to see it: {key}", 404
        )
    current = str(((found.get("fields") or {}).get("issuetype") or {}).get("name") or "")
    wanted = (await gateway.issue_type_names()).get(parts[1])
    if wanted is None:
        raise MappingError(f"the issue type {parts[1]!r} is not on this site")
    details: dict[str, Any] = {"issueKey": key, "targetProjectKey": parts[0]}
    if wanted != current:  # a move into another type names it, as on /v1/actions
        details["targetIssueType"] = wanted
    return details


async def _move_submitted(incoming: Incoming, record: ActionRecord, gateway: Gateway) -> Answer:
    # The move ran (and its task was followed) before this answer: the task id Jira gave
    # lets the client poll GET /bulk/queue/{taskId} as it would have.
    data = (record.result_json or {}).get("data") or {}
    return Answer(201, {"taskId": str(data.get("taskId") or "")})


ROWS: tuple[Row, ...] = (
    # reads: forwarded as sent once allowed
    Row("GET", "/rest/api/{version}/issue/{issueIdOrKey}", "jira_get_issue", _get_issue),
    Row(
        "GET",
        "/rest/api/{version}/issue/{issueIdOrKey}/transitions",
        "jira_get_transitions",
        _get_transitions,
    ),
    *(
        Row(
            method, f"/rest/api/{{version}}/{path}", "jira_search", _search, rewrite=_search_rewrite
        )
        for method in ("GET", "POST")
        for path in ("search", "search/jql")
    ),
    Row("GET", "/rest/agile/1.0/board/{id}/sprint", "jira_list_sprints", _list_sprints),
    # issues
    Row("POST", "/rest/api/{version}/issue", "jira_create_ticket", _create_issue, _created),
    Row("POST", "/rest/api/{version}/issue/bulk", "jira_create_tickets", _bulk_create, _created),
    # PUT /issue/{key} is in agile_rows.py: story points and the Epic Link are other actions.
    Row("DELETE", "/rest/api/{version}/issue/{issueIdOrKey}", "jira_delete_issues", _delete_issue),
    Row("PUT", "/rest/api/{version}/issue/{issueIdOrKey}/assignee", "jira_assign_issues", _assign),
    Row(
        "POST",
        "/rest/api/{version}/issue/{issueIdOrKey}/transitions",
        "jira_transition_issues",
        _transition,
    ),
    Row(
        "POST",
        "/rest/api/{version}/issue/{issueIdOrKey}/comment",
        "jira_add_comment",
        _comment,
        _commented,
    ),
    Row("PUT", "/rest/api/{version}/issue/archive", "jira_archive_issues", _archive),
    Row(
        "POST",
        "/rest/api/{version}/bulk/issues/move",
        "jira_move_issue",
        _bulk_move,
        _move_submitted,
    ),
    Row("POST", "/rest/agile/1.0/sprint/{id}/issue", "jira_move_to_sprint", _move_to_sprint),
    Row("POST", "/rest/agile/1.0/backlog/issue", "jira_move_to_backlog", _move_to_backlog),
    Row(
        "POST",
        "/rest/api/{version}/component",
        "jira_create_component",
        _create_component,
        _data_answer("component"),
    ),
    # comments, worklogs, watchers and links (issue 12's actions)
    Row(
        "PUT",
        "/rest/api/{version}/issue/{issueIdOrKey}/comment/{id}",
        "jira_edit_comment",
        _edit_comment,
        _comment_edited,
    ),
    Row(
        "DELETE",
        "/rest/api/{version}/issue/{issueIdOrKey}/comment/{id}",
        "jira_delete_comment",
        _delete_comment,
    ),
    Row(
        "POST",
        "/rest/api/{version}/issue/{issueIdOrKey}/worklog",
        "jira_add_worklog",
        _add_worklog,
        _worklog_answer,
    ),
    Row(
        "PUT",
        "/rest/api/{version}/issue/{issueIdOrKey}/worklog/{id}",
        "jira_update_worklog",
        _update_worklog,
        _worklog_answer,
    ),
    Row(
        "DELETE",
        "/rest/api/{version}/issue/{issueIdOrKey}/worklog/{id}",
        "jira_delete_worklog",
        _delete_worklog,
    ),
    Row(
        "POST",
        "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
        "jira_add_watcher",
        _add_watcher,
    ),
    Row(
        "DELETE",
        "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
        "jira_remove_watcher",
        _remove_watcher,
    ),
    Row(
        "POST",
        "/rest/api/{version}/issue/{issueIdOrKey}/remotelink",
        "jira_create_remote_link",
        _create_remote_link,
        _remote_link_answer,
    ),
    Row(
        "POST",
        "/rest/api/{version}/issueLink",
        "jira_create_issue_link",
        _create_issue_link,
        _created_link,
    ),
    Row(
        "POST",
        "/rest/api/{version}/version",
        "jira_create_release",
        _create_version,
        _data_answer("version"),
    ),
)


def action_of(row: Row, incoming: Incoming) -> str:
    """The row's action; POST /issue with issuetype Epic is an epic."""
    if row.action == "jira_create_ticket":
        return _created_action(incoming)
    return row.action

"""Most read actions as one declarative table: a path template, the query it sends, the
project check it needs and how the answer is trimmed (`Read`), run by one handler.

A `Read` is registered like any handler (`@handles` via `add_handler`). Before the call the
handler checks the ids Jira alone can place in a project: a `boardId` must be on a board
located in `projectKey`, a `sprintId` on a board of it (jira/handlers/sprints.py) — an action
"about ENG" never reads an OPS board or sprint. Path values come from validated details
(patterns: keys, integers) and are percent-encoded anyway. Paging: `startAt` and
`maxResults` (the schema caps it at Jira's own cap, 50) are passed through; the answer keeps
`startAt`, `total` and `isLast` where Jira gives them so the agent can ask for the next page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from jiragate import catalog, jql
from jiragate.jira.handlers.base import ActionCall, add_handler
from jiragate.jira.handlers.sprints import check_board_project, sprint_in_project
from jiragate.jira.shapes import DEFAULT_READ_FIELDS, trim_issue, trim_version

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

Details = Mapping[str, Any]
Query = Callable[["JiraAdapter", Details], dict[str, Any]]
Shape = Callable[[Any, Details], dict[str, Any]]
PAGE = 50


@dataclass(frozen=True, slots=True)
class Read:
    """One read: `GET <api|agile><path>` with `query`, its answer shaped into `data`."""

    path: str
    shape: Shape
    query: Query = field(default=lambda jira, details: {})
    agile: bool = False
    #: The id to check against the action's project before reading.
    scope: Literal["board", "sprint"] | None = None


def declare(action: str, read: Read) -> None:
    async def run(jira: JiraAdapter, call: ActionCall) -> None:
        details = call.details
        if read.scope == "board":
            project = catalog.project_of(details)
            assert project is not None  # the schema requires projectKey
            await check_board_project(jira, details["boardId"], project)
        elif read.scope == "sprint":
            await sprint_in_project(jira, details)
        values = {k: quote(str(v), safe="") for k, v in details.items() if not isinstance(v, list)}
        suffix = read.path.format(**values)
        path = jira.agile(suffix) if read.agile else jira.api(suffix)
        answer = await jira.client.get(path, query=read.query(jira, details))
        call.result.data = read.shape(answer, details)

    run.__name__ = run.__qualname__ = action
    add_handler(action, run)


# --------------------------------------------------------------------------- queries


def paged(jira: JiraAdapter, details: Details) -> dict[str, Any]:
    return {"startAt": details.get("startAt", 0), "maxResults": details.get("maxResults", PAGE)}


def issue_list(jira: JiraAdapter, details: Details) -> dict[str, Any]:
    """An Agile issue list's query: the JQL always restricted to the action's project (a
    board's filter may reach other projects; the restriction keeps the answer in scope)."""
    project = str(details["projectKey"])
    text = details.get("jql")
    sent = jql.for_jira(text, project) if text else f"project = {jql.quote(project)}"
    return {
        **paged(jira, details),
        "jql": sent,
        "fields": list(details.get("fields") or DEFAULT_READ_FIELDS),
    }


def user_query(jira: JiraAdapter, details: Details) -> dict[str, Any]:
    """Cloud matches `query`; Data Center names the same parameter `username`."""
    text = details.get("query")
    name = "query" if jira.config.is_cloud else "username"
    return {name: text, "maxResults": details.get("maxResults", PAGE)}


# --------------------------------------------------------------------------- shapes


def pick(item: Any, *keys: str) -> dict[str, Any]:
    return {k: item.get(k) for k in keys if isinstance(item, Mapping) and k in item}


def user(item: Any) -> dict[str, Any]:
    """A user as agents need it: who (accountId on Cloud, name on DC), shown name, active.
    E-mail addresses stay out: the gateway hands nobody a list of addresses."""
    return pick(item, "accountId", "name", "displayName", "active")


def listed(name: str, each: Callable[[Any], Any]) -> Shape:
    """A plain JSON list answer, each item trimmed, as `data[name]`."""
    return lambda answer, details: {name: [each(item) for item in answer or []]}


def page_of(name: str, each: Callable[[Any], Any], values: str = "values") -> Shape:
    """An offset page (`startAt`, `total`, `isLast`, `values`), as `data[name]` plus paging."""

    def shape(answer: Any, details: Details) -> dict[str, Any]:
        answer = answer or {}
        items = [each(item) for item in answer.get(values) or []]
        start = int(answer.get("startAt", details.get("startAt", 0)))
        total = answer.get("total")
        last = answer.get("isLast")
        if last is None:
            last = total is None or start + len(items) >= int(total)
        return {name: items, "startAt": start, "total": total, "isLast": bool(last)}

    return shape


def _versions(answer: Any, details: Details) -> dict[str, Any]:
    wanted = details.get("released")
    versions = [
        {**(trim_version(v) or {}), "archived": v.get("archived", False)}
        for v in answer or []
        if wanted is None or bool(v.get("released")) is wanted
    ]
    return {"versions": versions}


def _watchers(answer: Any, details: Details) -> dict[str, Any]:
    answer = answer or {}
    watchers = [user(w) for w in answer.get("watchers") or []]
    return {"watchers": watchers, "watchCount": answer.get("watchCount", len(watchers))}


def _worklog(item: Any) -> dict[str, Any]:
    return {
        **pick(item, "id", "started", "timeSpent", "timeSpentSeconds"),
        "author": user(item.get("author") or {}),
    }


def _attachments(answer: Any, details: Details) -> dict[str, Any]:
    found = ((answer or {}).get("fields") or {}).get("attachment") or []
    return {
        "attachments": [
            {
                **pick(a, "id", "filename", "size", "mimeType", "created"),
                "author": user(a.get("author") or {}),
            }
            for a in found
        ]
    }


def _remote_links(answer: Any, details: Details) -> dict[str, Any]:
    links = []
    for link in answer or []:
        if not isinstance(link, Mapping):
            continue
        target = link.get("object") or {}
        links.append(
            {
                **pick(link, "id", "globalId", "relationship"),
                **pick(target, "url", "title", "summary"),
                "application": (link.get("application") or {}).get("name"),
            }
        )
    return {"remoteLinks": links}


def _edit_meta(answer: Any, details: Details) -> dict[str, Any]:
    fields = (answer or {}).get("fields") or {}
    return {"fields": {fid: meta_field(meta) for fid, meta in fields.items()}}


def meta_field(meta: Any) -> dict[str, Any]:
    """A create/edit-meta field: name, required, schema type, operations, allowed values."""
    out = pick(meta, "name", "required", "operations")
    out["type"] = (meta.get("schema") or {}).get("type")
    if "allowedValues" in meta:
        out["allowedValues"] = [allowed_value(v) for v in meta["allowedValues"] or []]
    return out


def allowed_value(value: Any) -> Any:
    return pick(value, "id", "name", "value") if isinstance(value, Mapping) else value


def _status(item: Any) -> dict[str, Any]:
    category = (item.get("statusCategory") or {}).get("key")
    return {**pick(item, "id", "name"), "category": category}


def _issues(answer: Any, details: Details) -> dict[str, Any]:
    return page_of("issues", trim_issue, values="issues")(answer, details)


# --------------------------------------------------------------------------- the table

READS: dict[str, Read] = {
    "jira_list_projects": Read(
        "/project", listed("projects", lambda p: pick(p, "id", "key", "name", "projectTypeKey"))
    ),
    "jira_list_components": Read(
        "/project/{projectKey}/components",
        listed(
            "components",
            lambda c: {
                **pick(c, "id", "name", "description"),
                "lead": user(c.get("lead") or {}) or None,
            },
        ),
    ),
    "jira_list_versions": Read("/project/{projectKey}/versions", _versions),
    "jira_list_boards": Read(
        "/board",
        page_of("boards", lambda b: pick(b, "id", "name", "type")),
        query=lambda jira, d: {
            **paged(jira, d),
            "projectKeyOrId": d["projectKey"],
            "type": d.get("type"),
            "name": d.get("name"),
        },
        agile=True,
    ),
    "jira_get_board_issues": Read(
        "/board/{boardId}/issue", _issues, query=issue_list, agile=True, scope="board"
    ),
    "jira_get_backlog_issues": Read(
        "/board/{boardId}/backlog", _issues, query=issue_list, agile=True, scope="board"
    ),
    "jira_get_sprint_issues": Read(
        "/sprint/{sprintId}/issue", _issues, query=issue_list, agile=True, scope="sprint"
    ),
    "jira_list_fields": Read(
        "/field",
        listed(
            "fields",
            lambda f: {
                **pick(f, "id", "name", "custom"),
                "type": (f.get("schema") or {}).get("type"),
            },
        ),
    ),
    "jira_get_edit_meta": Read("/issue/{issueKey}/editmeta", _edit_meta),
    "jira_search_users": Read("/user/search", listed("users", user), query=user_query),
    "jira_get_assignable_users": Read(
        "/user/assignable/search",
        listed("users", user),
        query=lambda jira, d: {**user_query(jira, d), "project": d["projectKey"]},
    ),
    "jira_get_myself": Read("/myself", lambda answer, d: {"user": user(answer or {})}),
    "jira_list_link_types": Read(
        "/issueLinkType",
        lambda answer, d: {
            "linkTypes": [
                pick(t, "id", "name", "inward", "outward")
                for t in (answer or {}).get("issueLinkTypes") or []
            ]
        },
    ),
    "jira_get_watchers": Read("/issue/{issueKey}/watchers", _watchers),
    "jira_get_worklogs": Read(
        "/issue/{issueKey}/worklog",
        page_of("worklogs", _worklog, values="worklogs"),
        query=paged,
    ),
    "jira_get_attachments": Read(
        "/issue/{issueKey}", _attachments, query=lambda jira, d: {"fields": ["attachment"]}
    ),
    "jira_get_remote_links": Read("/issue/{issueKey}/remotelink", _remote_links),
    "jira_list_statuses": Read("/status", listed("statuses", _status)),
    "jira_list_priorities": Read(
        "/priority", listed("priorities", lambda p: pick(p, "id", "name"))
    ),
    "jira_list_issue_types": Read(
        "/issuetype",
        listed("issueTypes", lambda t: pick(t, "id", "name", "subtask", "hierarchyLevel")),
    ),
    "jira_list_resolutions": Read(
        "/resolution", listed("resolutions", lambda r: pick(r, "id", "name", "description"))
    ),
}

for _action, _read in READS.items():
    declare(_action, _read)

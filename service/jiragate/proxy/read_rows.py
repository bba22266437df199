"""The proxy's rows for the catalog's reads beyond issues and search: projects, components,
versions, boards and their issues, fields and metadata, users, watchers, worklogs and
changelogs (issue 12's reads) and the development panel (dev-status), each the catalog action
an agent on `/v1/actions` would name.

Mapped, a read falls under the rules written for its action (a policy that denies
`jira_search_users` to one agent denies `GET /user/search` too) and under the agent's project
scope; unmapped, it would be a generic `jira_rest_read` that only the rules on that action
see. A read is forwarded as the client sent it once allowed, with two exceptions that keep
what Jira runs to what the policy saw: `maxResults` is capped at the action's own limit, and
a board's or sprint's JQL is the catalog's canonical query inside its project (as a search's
is, mapping.py). What decides the action's scope is never passed through unread: the project
a board, sprint, assignable-user search or dev-status issue id is about comes from the path,
the query or Jira (`Gateway.locate`, `Gateway.get_issues`), and a request naming several
projects, or none where the action needs one, is refused naming what to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jiragate.catalog import get_spec
from jiragate.gateway import Gateway
from jiragate.gateway.records import OwnedKind
from jiragate.proxy.agile_rows import _located
from jiragate.proxy.mapping import (
    _FIELD_NAME,
    Chosen,
    DetailsOf,
    Incoming,
    MappingError,
    Row,
    canonical_query,
)

Query = tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- shared


def _project_in_path(incoming: Incoming) -> str:
    key = incoming.rest.project_key
    if key is None:
        raise MappingError(
            "the Jiragate proxy needs the project key (ENG) in this path, not the project's id"
        )
    return key


def _number(incoming: Incoming, name: str) -> int | None:
    value = incoming.first(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise MappingError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise MappingError(f"{name} must not be negative, got {number}")
    return number


def _limit(action: str, name: str) -> int | None:
    """The action's own maximum for a paging field (`maxResults`), from its schema."""
    limit = get_spec(action).schema.get("properties", {}).get(name, {}).get("maximum")
    return limit if isinstance(limit, int) else None


def _paged(incoming: Incoming, action: str, details: dict[str, Any]) -> dict[str, Any]:
    """`startAt` and `maxResults` as the action takes them: `maxResults` capped at the
    action's limit (the forwarded request is capped too: `_capped`)."""
    properties = get_spec(action).schema.get("properties", {})
    for name in ("startAt", "maxResults"):
        if name not in properties:
            continue
        value = _number(incoming, name)
        if value is None:
            continue
        limit = _limit(action, name)
        details[name] = min(value, limit) if limit is not None else value
    return details


def _capped(incoming: Incoming, details: Mapping[str, Any]) -> tuple[Query, Any]:
    """The client's query with the details' `maxResults` and canonical JQL (as a search's)."""
    return canonical_query(incoming, details), incoming.body


def _single(incoming: Incoming, *names: str) -> str | None:
    """The one value of a parameter that may be spelt several ways (Cloud and DC)."""
    values = [value for key, value in incoming.query if key in names]
    if len(set(values)) > 1:
        raise MappingError(f"{' / '.join(names)} is given more than once, with other values")
    return values[0] if values else None


def _fields(incoming: Incoming) -> list[str] | None:
    fields = [f for f in (incoming.first("fields") or "").split(",") if f]
    # `*all` and `-comment` read the same issues with more or fewer fields: only a plain
    # list of names is the action's subset (as for GET /issue/{key}, mapping.py).
    return fields if fields and all(_FIELD_NAME.fullmatch(f) for f in fields) else None


async def _nothing(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {}


async def _issue_only(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {"issueKey": incoming.issue_key()}


async def _project_only(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return {"projectKey": _project_in_path(incoming)}


# --------------------------------------------------------------------------- projects


async def _search_projects(incoming: Incoming, gateway: Gateway) -> dict[str, Any] | Chosen:
    query = incoming.first("query")
    if not query:  # no text to match: every project the account sees, as GET /project
        return Chosen("jira_list_projects", {})
    return _paged(incoming, "jira_search_projects", {"query": query})


#: `GET /project/{key}/version`'s `status` that is the action's `released` filter.
_RELEASED = {"released": True, "unreleased": False}


def _page_numbers(incoming: Incoming) -> None:
    """`startAt` and `maxResults` of a page whose action carries neither (the action reads
    the project's whole list): checked as numbers, forwarded as sent."""
    for name in ("startAt", "maxResults"):
        _number(incoming, name)


async def _versions_page(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`GET /project/{key}/version` (paged): jira_list_versions of the project. A `status`
    of only released or only unreleased versions is the action's `released`; any other
    (archived, several) reads a part of the same list, as do `query` and `orderBy`."""
    details: dict[str, Any] = {"projectKey": _project_in_path(incoming)}
    _page_numbers(incoming)
    statuses = {s.strip() for s in (_single(incoming, "status") or "").split(",") if s.strip()}
    if len(statuses) == 1 and (only := statuses.pop()) in _RELEASED:
        details["released"] = _RELEASED[only]
    return details


async def _components_page(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`GET /project/{key}/component` (Cloud's paged list): jira_list_components."""
    _page_numbers(incoming)
    return {"projectKey": _project_in_path(incoming)}


# --------------------------------------------------------------------------- boards


async def _boards(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    project = _single(incoming, "projectKeyOrId")
    if project is None or project.isdigit():
        raise MappingError(
            "the Jiragate proxy lists the boards of one project, by key: add "
            "projectKeyOrId=ENG (a board list across projects is no one project's read)"
        )
    details: dict[str, Any] = {"projectKey": project}
    for name in ("type", "name"):
        value = incoming.first(name)
        if value:
            details[name] = value
    return _paged(incoming, "jira_list_boards", details)


def _issues_of(action: str, kind: OwnedKind, id_name: str) -> DetailsOf:
    """A board's, its backlog's or a sprint's issues: the project is the one Jira places
    the board or sprint in."""

    async def details_of(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
        ident = incoming.params["{id}"]
        found = await _located(gateway, kind, ident)
        details: dict[str, Any] = {"projectKey": found.project_key, id_name: int(ident)}
        text = incoming.first("jql")
        if text:
            details["jql"] = text
        fields = _fields(incoming)
        if fields:
            details["fields"] = fields
        return _paged(incoming, action, details)

    return details_of


# --------------------------------------------------------------------------- create meta


def _listed(incoming: Incoming, name: str) -> list[str]:
    """A list parameter as Jira reads it: repeated or comma-separated, each value once."""
    values = [v for key, raw in incoming.query if key == name for v in raw.split(",")]
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


async def _create_meta(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`GET /issue/createmeta?projectKeys=ENG&issuetypeNames=Bug` (the form Jira 9 and Cloud
    deprecated, which pycontribs and mcp-atlassian on Data Center send): jira_get_create_meta
    of the one project, of the one issue type when it names one. `expand` (the fields) is
    forwarded as sent: the action's read is the same screens, with or without them."""
    if _listed(incoming, "projectIds"):
        raise MappingError(
            "the Jiragate proxy reads create metadata of a project by key: projectKeys=ENG, "
            "not projectIds"
        )
    projects = _listed(incoming, "projectKeys")
    if len(projects) != 1:
        raise MappingError(
            "the Jiragate proxy reads the create metadata of one project, by key: send "
            f"projectKeys=ENG (this request names {len(projects) or 'no'} "
            f"project{'' if len(projects) == 1 else 's'}; several, or every one, is no one "
            "project's read)"
        )
    if _listed(incoming, "issuetypeIds"):
        raise MappingError(
            "the Jiragate proxy names the issue type by name: issuetypeNames=Bug, not issuetypeIds"
        )
    types = _listed(incoming, "issuetypeNames")
    if len(types) > 1:
        raise MappingError(
            "the Jiragate proxy reads the create fields of one issue type per request: "
            "issuetypeNames=Bug (or none, for every type of the project)"
        )
    details: dict[str, Any] = {"projectKey": projects[0]}
    if types:
        details["issueType"] = types[0]
    return details


# --------------------------------------------------------------------------- users


async def _search_users(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    text = _single(incoming, "query", "username")  # Cloud's query, Data Center's username
    if not text:
        raise MappingError("the Jiragate proxy searches users by text: query=<name or e-mail>")
    return _paged(incoming, "jira_search_users", {"query": text})


async def _assignable(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    project = _single(incoming, "project")
    issue = _single(incoming, "issueKey")
    of_issue = issue.rsplit("-", 1)[0] if issue and "-" in issue else None
    if issue is not None and of_issue is None:
        raise MappingError("issueKey: the Jiragate proxy needs the issue key (ENG-42)")
    if project is not None and of_issue is not None and project != of_issue:
        raise MappingError(
            f"project {project} and issueKey {issue} name two projects; send one of them"
        )
    scope = project or of_issue
    if scope is None or scope.isdigit():
        raise MappingError(
            "the Jiragate proxy finds assignable users of one project, by key: project=ENG "
            "(or issueKey=ENG-42)"
        )
    details: dict[str, Any] = {"projectKey": scope}
    text = _single(incoming, "query", "username")
    if text:
        details["query"] = text
    return _paged(incoming, "jira_get_assignable_users", details)


# --------------------------------------------------------------------------- issues


async def _worklogs(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return _paged(incoming, "jira_get_worklogs", {"issueKey": incoming.issue_key()})


async def _changelog(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    return _paged(incoming, "jira_get_changelogs", {"issueKeys": [incoming.issue_key()]})


async def _bulk_changelogs(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`POST /changelog/bulkfetch` (Cloud): the catalog's changelogs of several issues."""
    body = incoming.body if isinstance(incoming.body, dict) else None
    if body is None:
        raise MappingError("the body must be a JSON object")
    unknown = sorted(set(body) - {"issueIdsOrKeys", "maxResults", "nextPageToken"})
    if unknown or body.get("fieldIds"):
        raise MappingError(
            f"the body sets {', '.join(unknown or ['fieldIds'])}, which the Jiragate proxy "
            "does not carry for this endpoint (it carries issueIdsOrKeys, maxResults)"
        )
    details: dict[str, Any] = {"issueKeys": body.get("issueIdsOrKeys")}
    size = body.get("maxResults")
    if size is not None:
        limit = _limit("jira_get_changelogs", "maxResults")
        capped = isinstance(size, int) and limit is not None
        details["maxResults"] = min(size, limit) if capped else size
    return details


def _bulk_capped(incoming: Incoming, details: Mapping[str, Any]) -> tuple[Query, Any]:
    body = dict(incoming.body)
    if "maxResults" in details:
        body["maxResults"] = details["maxResults"]
    return incoming.query, body


# --------------------------------------------------------------------------- development


async def _development(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`GET /rest/dev-status/{1.0|latest}/issue/summary|detail?issueId=10001` (what the
    issue view and mcp-atlassian call): jira_get_development_info of the issue. dev-status
    names the issue by its numeric id only; its key, and so the project the action is
    about, is Jira's (`GET /issue/{id}`): an id Jira does not know is its 404. The detail's
    `applicationType` and `dataType` are the action's own filters."""
    ident = _single(incoming, "issueId")
    if ident is None or not ident.isdigit():
        raise MappingError("dev-status names the issue by its numeric id: issueId=10001")
    found = (await gateway.get_issues([ident], ["project"])).get(ident)
    key = (found or {}).get("key")
    if not isinstance(key, str):
        raise MappingError(
            "Issue does not exist or you do not have permission to see it.", status=404
        )
    details: dict[str, Any] = {"issueKeys": [key]}
    for name in ("applicationType", "dataType"):
        value = _single(incoming, name)
        if value is not None:
            details[name] = value
    return details


# --------------------------------------------------------------------------- the rows

_API = "/rest/api/{version}"
_AGILE = "/rest/agile/1.0"

READ_ROWS: tuple[Row, ...] = (
    Row("GET", f"{_API}/project", "jira_list_projects", _nothing),
    Row(
        "GET",
        f"{_API}/project/search",
        "jira_search_projects",
        _search_projects,
        rewrite=_capped,
        also=("jira_list_projects",),
    ),
    Row(
        "GET",
        f"{_API}/project/{{projectIdOrKey}}/components",
        "jira_list_components",
        _project_only,
    ),
    Row("GET", f"{_API}/project/{{projectIdOrKey}}/versions", "jira_list_versions", _project_only),
    Row(
        "GET",
        f"{_API}/project/{{projectIdOrKey}}/component",
        "jira_list_components",
        _components_page,
    ),
    Row(
        "GET",
        f"{_API}/project/{{projectIdOrKey}}/version",
        "jira_list_versions",
        _versions_page,
    ),
    Row("GET", f"{_AGILE}/board", "jira_list_boards", _boards, rewrite=_capped),
    Row(
        "GET",
        f"{_AGILE}/board/{{id}}/issue",
        "jira_get_board_issues",
        _issues_of("jira_get_board_issues", "board", "boardId"),
        rewrite=_capped,
    ),
    Row(
        "GET",
        f"{_AGILE}/board/{{id}}/backlog",
        "jira_get_backlog_issues",
        _issues_of("jira_get_backlog_issues", "board", "boardId"),
        rewrite=_capped,
    ),
    Row(
        "GET",
        f"{_AGILE}/sprint/{{id}}/issue",
        "jira_get_sprint_issues",
        _issues_of("jira_get_sprint_issues", "sprint", "sprintId"),
        rewrite=_capped,
    ),
    Row("GET", f"{_API}/field", "jira_list_fields", _nothing),
    Row("GET", f"{_API}/myself", "jira_get_myself", _nothing),
    Row("GET", f"{_API}/issue/createmeta", "jira_get_create_meta", _create_meta),
    Row(
        "GET",
        f"{_API}/issue/createmeta/{{projectIdOrKey}}/issuetypes",
        "jira_get_create_meta",
        _project_only,
    ),
    Row("GET", f"{_API}/issue/{{issueIdOrKey}}/editmeta", "jira_get_edit_meta", _issue_only),
    Row("GET", f"{_API}/user/search", "jira_search_users", _search_users, rewrite=_capped),
    Row(
        "GET",
        f"{_API}/user/assignable/search",
        "jira_get_assignable_users",
        _assignable,
        rewrite=_capped,
    ),
    Row("GET", f"{_API}/issueLinkType", "jira_list_link_types", _nothing),
    Row("GET", f"{_API}/issue/{{issueIdOrKey}}/watchers", "jira_get_watchers", _issue_only),
    Row("GET", f"{_API}/issue/{{issueIdOrKey}}/remotelink", "jira_get_remote_links", _issue_only),
    Row(
        "GET",
        f"{_API}/issue/{{issueIdOrKey}}/worklog",
        "jira_get_worklogs",
        _worklogs,
        rewrite=_capped,
    ),
    Row(
        "GET",
        f"{_API}/issue/{{issueIdOrKey}}/changelog",
        "jira_get_changelogs",
        _changelog,
        rewrite=_capped,
    ),
    Row(
        "POST",
        f"{_API}/changelog/bulkfetch",
        "jira_get_changelogs",
        _bulk_changelogs,
        rewrite=_bulk_capped,
    ),
    Row("GET", f"{_API}/status", "jira_list_statuses", _nothing),
    Row("GET", f"{_API}/priority", "jira_list_priorities", _nothing),
    Row("GET", f"{_API}/issuetype", "jira_list_issue_types", _nothing),
    Row("GET", f"{_API}/resolution", "jira_list_resolutions", _nothing),
    *(
        Row("GET", f"/rest/dev-status/1.0/issue/{part}", "jira_get_development_info", _development)
        for part in ("summary", "detail")
    ),
)

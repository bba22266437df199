"""The reads whose Jira calls differ by flavour or take more than one call: project search
(Cloud `/project/search`; Data Center has none, so its project list, matched here), create
metadata and a field's options (an issue type by name, then its fields), and changelogs
(Cloud `/issue/{key}/changelog`, Data Center `expand=changelog`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError, JiraLookupError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.listing import PAGE, meta_field, pick, user

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_search_projects")
async def search_projects(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    start, size = details.get("startAt", 0), details.get("maxResults", PAGE)
    if jira.config.is_cloud:
        answer = await jira.client.get(
            jira.api("/project/search"),
            query={"query": details["query"], "startAt": start, "maxResults": size},
        )
        found, total = answer.get("values") or [], answer.get("total")
    else:
        # Data Center has no project search: list the projects (one call) and match the key
        # or name the way Cloud's search does (case-insensitive substring).
        every = await jira.client.get(jira.api("/project")) or []
        text = str(details["query"]).casefold()
        matching = [
            p
            for p in every
            if text in str(p.get("key", "")).casefold() or text in str(p.get("name", "")).casefold()
        ]
        found, total = matching[start : start + size], len(matching)
    projects = [pick(p, "id", "key", "name", "projectTypeKey") for p in found]
    last = total is None or start + len(projects) >= int(total)
    call.result.data = {"projects": projects, "startAt": start, "total": total, "isLast": last}


async def _issue_types(jira: JiraAdapter, project: str) -> list[dict[str, Any]]:
    """The types one can create in `project` (every page; Cloud lists them as `issueTypes`,
    Data Center as `values`)."""
    types: list[dict[str, Any]] = []
    while True:
        page = await jira.client.get(
            jira.api(f"/issue/createmeta/{project}/issuetypes"),
            query={"startAt": len(types), "maxResults": PAGE},
        )
        batch = page.get("issueTypes", page.get("values")) or []
        types.extend(batch)
        if not batch or len(types) >= int(page.get("total", len(types))):
            return types


async def _type_fields(jira: JiraAdapter, project: str, name: str) -> list[dict[str, Any]]:
    """The create-screen fields of the type named `name` exactly (as the site spells it)."""
    types = await _issue_types(jira, project)
    chosen = next((t for t in types if t.get("name") == name), None)
    if chosen is None:
        names = ", ".join(str(t.get("name")) for t in types) or "none"
        raise JiraLookupError(
            f"project {project} has no issue type {name!r} to create (its types: {names})"
        )
    fields: list[dict[str, Any]] = []
    while True:
        page = await jira.client.get(
            jira.api(f"/issue/createmeta/{project}/issuetypes/{chosen['id']}"),
            query={"startAt": len(fields), "maxResults": PAGE},
        )
        batch = page.get("fields", page.get("values")) or []
        fields.extend(batch)
        if not batch or len(fields) >= int(page.get("total", len(fields))):
            return fields


@handles("jira_get_create_meta")
async def get_create_meta(jira: JiraAdapter, call: ActionCall) -> None:
    project = call.details["projectKey"]
    name = call.details.get("issueType")
    if name is None:
        types = await _issue_types(jira, project)
        call.result.data = {
            "issueTypes": [pick(t, "id", "name", "subtask", "description") for t in types]
        }
        return
    fields = await _type_fields(jira, project, name)
    call.result.data = {
        "issueType": name,
        "fields": {str(f.get("fieldId", f.get("key"))): meta_field(f) for f in fields},
    }


@handles("jira_get_field_options")
async def get_field_options(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project, wanted = details["projectKey"], details["fieldId"]
    fields = await _type_fields(jira, project, details["issueType"])
    found = next((f for f in fields if f.get("fieldId", f.get("key")) == wanted), None)
    if found is None:
        names = ", ".join(str(f.get("fieldId", f.get("key"))) for f in fields)
        raise JiraLookupError(
            f"field {wanted!r} is not on the create screen of {details['issueType']} in "
            f"{project} (its fields: {names})"
        )
    shown = meta_field(found)
    call.result.data = {
        "fieldId": wanted,
        "name": shown.get("name"),
        # A field without a list (a number, free text) has no options: an empty list says so.
        "options": shown.get("allowedValues", []),
    }


def _change(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **pick(entry, "id", "created"),
        "author": user(entry.get("author") or {}),
        "items": [
            {"field": i.get("field"), "from": i.get("fromString"), "to": i.get("toString")}
            for i in entry.get("items") or []
        ],
    }


@handles("jira_get_changelogs")
async def get_changelogs(jira: JiraAdapter, call: ActionCall) -> None:
    """Each issue's history (up to `maxResults` changes); an issue Jira does not have is
    a failure of that key, the others are still read."""
    size = call.details.get("maxResults", 100)
    changelogs: dict[str, list[dict[str, Any]]] = {}
    for key in call.details["issueKeys"]:
        try:
            if jira.config.is_cloud:
                page = await jira.client.get(
                    jira.api(f"/issue/{key}/changelog"),
                    query={"startAt": 0, "maxResults": size},
                )
                entries = page.get("values") or []
            else:
                issue = await jira.client.get(
                    jira.api(f"/issue/{key}"), query={"expand": "changelog", "fields": ["summary"]}
                )
                entries = ((issue or {}).get("changelog") or {}).get("histories") or []
        except JiraHTTPError as exc:
            if exc.status != 404:
                raise
            call.result.fail(exc, key=key)
            continue
        changelogs[key] = [_change(entry) for entry in entries[:size]]
    call.result.data = {"changelogs": changelogs}

"""Issue links (between two issues of the action's project) and remote (web) links.

A link type is named as the site names it and checked against `GET /issueLinkType` first; a
link to remove is read first (`GET /issueLink/{id}`) and must have the action's issue at one
end and an issue of the same project at the other. A remote link carries a `globalId`
(given, else derived from the action id), so resending it updates the link it created.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError, JiraLookupError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.scope import action_issue, check_owner, issue_in_project

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def link_type_named(jira: JiraAdapter, name: str) -> dict[str, Any]:
    """The site's link type called `name` (case-insensitively, as Jira matches it), or an
    error listing the close matches and the types the site has."""
    answer = await jira.client.get(jira.api("/issueLinkType"))
    types = [t for t in (answer or {}).get("issueLinkTypes") or [] if isinstance(t, Mapping)]
    for link_type in types:
        if str(link_type.get("name", "")).casefold() == name.casefold():
            return dict(link_type)
    names = [str(t.get("name")) for t in types]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise JiraLookupError(
        f"no issue link type named {name!r} on this site{hint} "
        f"(the site has: {', '.join(names) or 'none'})"
    )


@handles("jira_create_issue_link")
async def create_issue_link(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    link_type = await link_type_named(jira, details["linkType"])
    issue = await action_issue(jira, details)
    other = await issue_in_project(jira, details["otherIssueKey"], issue.project)
    # Jira's quirk: the request's inwardIssue is the one the outward text describes
    # ("ENG-1 blocks ENG-2" is inwardIssue ENG-1, outwardIssue ENG-2).
    body = {
        "type": {"name": link_type["name"]},
        "inwardIssue": {"key": issue.key},
        "outwardIssue": {"key": other.key},
    }
    # Jira keeps one link per type and ordered pair: resending creates no second one.
    await jira.client.post(jira.api("/issueLink"), body, idempotent=True)
    result.touch(issue.key)
    result.touch(other.key)
    result.data = {"linkType": link_type["name"], "outward": link_type.get("outward")}


@handles("jira_remove_issue_link")
async def remove_issue_link(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    issue = await action_issue(jira, details)
    ident = details["linkId"]
    link = await jira.client.get(jira.api(f"/issueLink/{ident}")) or {}
    ends = [link.get(side) or {} for side in ("inwardIssue", "outwardIssue")]
    keys = [str(end.get("key")) for end in ends]
    here = [n for n, end in enumerate(ends) if issue.is_named_by(end.get("key"))]
    if not here:
        raise JiraLookupError(
            f"issue link {ident} does not involve {issue.key} (it links "
            f"{' and '.join(keys)}); an action removes only its own issue's links"
        )
    other_key = keys[1 - here[0]]
    other = await issue_in_project(jira, other_key, issue.project)
    try:
        await jira.client.delete(jira.api(f"/issueLink/{ident}"))
    except JiraHTTPError as exc:
        if exc.status != 404:  # a resent DELETE whose first try went through
            raise
    result.touch(issue.key)
    result.touch(other.key)
    result.data = {"linkId": ident}


@handles("jira_create_remote_link")
async def create_remote_link(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    issue = await action_issue(jira, details)
    target: dict[str, Any] = {"url": details["url"], "title": details["title"]}
    if "summary" in details:
        target["summary"] = details["summary"]
    global_id = details.get("globalId") or f"jiragate:{call.action_id}"
    body = {"globalId": global_id, "object": target}
    answer = await jira.client.post(
        jira.api(f"/issue/{issue.key}/remotelink"), body, idempotent=True
    )
    call.result.touch(issue.key)
    call.result.data = {"remoteLinkId": str((answer or {}).get("id", "")), "globalId": global_id}


@handles("jira_remove_remote_link")
async def remove_remote_link(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    ident = call.details["linkId"]
    path = jira.api(f"/issue/{issue.key}/remotelink/{ident}")
    check_owner(issue, "remote link", ident, await jira.client.get(path) or {})
    try:
        await jira.client.delete(path)
    except JiraHTTPError as exc:
        if exc.status != 404:
            raise
    call.result.touch(issue.key)
    call.result.data = {"remoteLinkId": ident}

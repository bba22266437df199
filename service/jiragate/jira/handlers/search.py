"""Searching issues with JQL, kept inside the action's project (jiragate.jql)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate import jql
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.shapes import DEFAULT_READ_FIELDS, trim_issue

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_search")
async def search(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    # Built from the parsed query, never by gluing text: with a projectKey it is
    # `project = "KEY" AND (<condition>) ORDER BY ...` (jiragate.jql).
    sent = jql.for_jira(details["jql"], details.get("projectKey"))
    issues, token = await jira.search_issues(
        sent,
        fields=details.get("fields") or DEFAULT_READ_FIELDS,
        limit=details.get("maxResults", 50),
        page_token=details.get("nextPageToken"),
    )
    call.result.data = {
        "jql": sent,
        "issues": [trim_issue(issue) for issue in issues],
        "nextPageToken": token,
        "isLast": token is None,
    }

"""Editing and deleting a comment, after checking it is on the action's issue (scope.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.errors import JiraHTTPError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.scope import ScopedIssue, action_issue, check_owner

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def _comment_on(jira: JiraAdapter, call: ActionCall) -> tuple[ScopedIssue, str]:
    issue = await action_issue(jira, call.details)
    ident = call.details["commentId"]
    comment = await jira.client.get(jira.api(f"/issue/{issue.key}/comment/{ident}"))
    check_owner(issue, "comment", ident, comment or {})
    return issue, ident


@handles("jira_edit_comment")
async def edit_comment(jira: JiraAdapter, call: ActionCall) -> None:
    issue, ident = await _comment_on(jira, call)
    body = {"body": jira.rich_text(call.details["body"])}
    await jira.client.put(jira.api(f"/issue/{issue.key}/comment/{ident}"), body)
    call.result.touch(issue.key)
    call.result.data = {"commentId": ident}


@handles("jira_delete_comment")
async def delete_comment(jira: JiraAdapter, call: ActionCall) -> None:
    issue, ident = await _comment_on(jira, call)
    try:
        await jira.client.delete(jira.api(f"/issue/{issue.key}/comment/{ident}"))
    except JiraHTTPError as exc:
        if exc.status != 404:  # a resent DELETE whose first try went through
            raise
    call.result.touch(issue.key)
    call.result.data = {"commentId": ident}

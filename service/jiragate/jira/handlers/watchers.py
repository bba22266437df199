"""Watchers: adding and removing a user on the action's issue (both idempotent in Jira)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.scope import action_issue

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_add_watcher")
async def add_watcher(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    # The body is a bare JSON string: the accountId (Cloud) or the user name (Data Center).
    await jira.client.post(
        jira.api(f"/issue/{issue.key}/watchers"), call.details["user"], idempotent=True
    )
    call.result.touch(issue.key)


@handles("jira_remove_watcher")
async def remove_watcher(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    who = call.details["user"]
    query = {"accountId": who} if jira.config.is_cloud else {"username": who}
    await jira.client.delete(jira.api(f"/issue/{issue.key}/watchers"), query=query)
    call.result.touch(issue.key)

"""Reading one issue: its fields, the transitions Jira offers from its status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.jira.handlers.base import ActionCall, handles

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_get_issue")
async def get_issue(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    call.result.data = {"issue": await jira.get_issue(details["issueKey"], details.get("fields"))}


@handles("jira_get_transitions")
async def get_transitions(jira: JiraAdapter, call: ActionCall) -> None:
    call.result.data = {"transitions": await jira.get_transitions(call.details["issueKey"])}

"""Sprints: listing a board's sprints, moving issues into one (in chunks of 50)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jiragate.errors import JiraError, JiraTransportError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.results import ExecutionResult
from jiragate.jira.shapes import SPRINT_MOVE_LIMIT, chunked

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_list_sprints")
async def list_sprints(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    sprints = await jira.list_sprints(details["boardId"], state=details.get("state"))
    call.result.data = {"sprints": sprints}


@handles("jira_move_to_sprint")
async def move_to_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    sprint = await jira.sprint_id(call.details["sprintId"])
    await move_keys(jira, sprint, call.details["issueKeys"], call.result)
    call.result.data = {"sprintId": sprint}


async def move_keys(
    jira: JiraAdapter,
    sprint: int,
    keys: Sequence[str],
    result: ExecutionResult,
    *,
    touch: bool = True,
) -> None:
    for chunk in chunked(list(keys), SPRINT_MOVE_LIMIT):
        try:
            # Moving an issue into the sprint it is in changes nothing: safe to resend.
            await jira.client.post(
                jira.agile(f"/sprint/{sprint}/issue"), {"issues": chunk}, idempotent=True
            )
        except JiraTransportError:
            raise
        except JiraError as exc:
            for key in chunk:
                result.fail(exc, key=key)
            continue
        if touch:
            for key in chunk:
                result.touch(key)

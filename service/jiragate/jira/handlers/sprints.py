"""Sprints: listing a board's sprints, moving issues into one (in chunks of 50).

Both check first that the board is in the action's project: policies and reviewers see the
project (`projectKey`, or the project of `issueKeys`), but only Jira knows which project a
board (`location.projectKey`) or a sprint (`originBoardId` -> its board) belongs to. Without
the check an action "about ENG" could move ENG issues into another project's sprint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.errors import JiraError, JiraLookupError, JiraTransportError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.results import ExecutionResult
from jiragate.jira.shapes import SPRINT_MOVE_LIMIT, chunked

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_list_sprints")
async def list_sprints(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project = catalog.project_of(details)
    if project is not None:
        await check_board_project(jira, details["boardId"], project)
    sprints = await jira.list_sprints(details["boardId"], state=details.get("state"))
    call.result.data = {"sprints": sprints}


@handles("jira_move_to_sprint")
async def move_to_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    sprint = await sprint_in_project(jira, call.details)
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


async def sprint_in_project(jira: JiraAdapter, details: Mapping[str, Any]) -> int:
    """The id of `details["sprintId"]`, refused (JiraLookupError) unless its board is in the
    action's project. An action naming no project cannot be checked and is refused too."""
    sprint = await sprint_of_project(jira, details)
    return int(sprint["id"])


async def sprint_of_project(
    jira: JiraAdapter,
    details: Mapping[str, Any],
    field: str = "sprintId",
    purpose: str = "an action moves issues only into its own project's sprints",
) -> dict[str, Any]:
    """Jira's answer for the sprint `details[field]` names (id or name), refused
    (JiraLookupError, saying `purpose`) unless the sprint's board is in the action's project."""
    sprint = await jira.sprint_id(details[field])
    project = catalog.project_of(details)
    if project is None:
        raise JiraLookupError(
            f"sprint {sprint}: the action names no project to check the sprint's board against"
        )
    answer = await jira.client.get(jira.agile(f"/sprint/{sprint}")) or {}
    board = answer.get("originBoardId")
    if not isinstance(board, int) or isinstance(board, bool):
        raise JiraLookupError(
            f"sprint {sprint} names no board (originBoardId), so its project cannot be "
            f"checked; {purpose}"
        )
    owner = await _board_project(jira, board)
    if owner != project:
        raise JiraLookupError(
            f"sprint {sprint} is not in project {project} (it belongs to board {board} of "
            f"project {owner or 'unknown'}); {purpose}"
        )
    return {**answer, "id": sprint}


async def check_board_project(
    jira: JiraAdapter,
    board: int,
    project: str,
    purpose: str = "an action reads only its own project's boards",
) -> None:
    """Refuse a board that is not in `project` (JiraLookupError, saying `purpose`)."""
    owner = await _board_project(jira, board)
    if owner != project:
        raise JiraLookupError(
            f"board {board} is not in project {project} (it belongs to project "
            f"{owner or 'unknown'}); {purpose}"
        )


async def _board_project(jira: JiraAdapter, board: int) -> str | None:
    """The key of the project a board is located in (None for a board without one, such as
    a user's board)."""
    answer = await jira.client.get(jira.agile(f"/board/{board}"))
    location = (answer or {}).get("location") or {}
    key = location.get("projectKey") if isinstance(location, Mapping) else None
    return str(key) if key else None

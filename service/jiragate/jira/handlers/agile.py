"""Sprint lifecycle, the backlog and ranking: creating, updating, starting, closing and
deleting sprints, moving issues to the backlog, ranking issues.

Project scope: policies and reviewers see `projectKey` (or the project of `issueKeys`), but a
sprint or board is a bare id only Jira can place. Every sprint action reads the sprint
(`originBoardId`) and its board (`location.projectKey`) first and refuses one of another
project before writing (sprints.sprint_of_project); creating reads the board. Moving and
ranking name issue keys, which the catalog already keeps in one project (the rank anchor too).

Lost answers: state changes (start, close) are re-read after an ambiguous failure, a created
sprint is looked for on its board (a sprint that was not there before, with the name); when
that proves nothing the outcome is unknown and the gateway retries the action, whose first
step (reading the sprint) then sees what the lost call did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraError, JiraHTTPError, JiraLookupError, JiraTransportError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.sprints import check_board_project, move_keys, sprint_of_project
from jiragate.jira.results import ExecutionResult
from jiragate.jira.shapes import SPRINT_MOVE_LIMIT, chunked

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

# Atlassian: at most 50 issues are moved to the backlog or ranked in one call.
BACKLOG_LIMIT = SPRINT_MOVE_LIMIT
_SPRINT_KEYS = ("id", "name", "state", "goal", "startDate", "endDate", "completeDate")
_CHANGE = "an action changes only its own project's sprints"


def trim_sprint(sprint: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(sprint, Mapping):
        return None
    return {k: sprint[k] for k in (*_SPRINT_KEYS, "originBoardId") if k in sprint}


def _same_moment(a: object, b: object) -> bool:
    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(str(b))
    except ValueError:
        return False


@handles("jira_create_sprint")
async def create_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    board = details["boardId"]
    await check_board_project(
        jira, board, details["projectKey"], "an action creates sprints only on its project's boards"
    )
    body: dict[str, Any] = {"name": details["name"], "originBoardId": board}
    for name in ("goal", "startDate", "endDate"):
        if name in details:
            body[name] = details[name]
    before = {s["id"] for s in await jira.list_sprints(board)}

    async def recover() -> dict[str, Any] | None:
        # Sprint names are not unique, so a lost create is a sprint with the name that was
        # not on the board before this call.
        sprints = await jira.list_sprints(board)
        return next(
            (s for s in sprints if s["id"] not in before and s["name"] == body["name"].strip()),
            None,
        )

    sprint = await jira.client.post(jira.agile("/sprint"), body, recover=recover)
    call.result.data = {"sprint": trim_sprint(sprint)}


@handles("jira_update_sprint")
async def update_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    sprint = await sprint_of_project(jira, details, purpose=_CHANGE)
    body = {k: details[k] for k in ("name", "goal", "startDate", "endDate") if k in details}
    # A partial update (POST) of the same values leaves the sprint as one call would.
    answer = await jira.client.post(jira.agile(f"/sprint/{sprint['id']}"), body, idempotent=True)
    call.result.data = {"sprint": trim_sprint(answer)}


@handles("jira_start_sprint")
async def start_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    sprint = await sprint_of_project(jira, details, purpose=_CHANGE)
    started = (
        sprint.get("state") == "active"
        and _same_moment(sprint.get("startDate"), details["startDate"])
        and _same_moment(sprint.get("endDate"), details["endDate"])
    )
    if started:  # an earlier try of this action started it
        call.result.data = {"sprint": trim_sprint(sprint), "recovered": True}
        return
    body = {"state": "active", "startDate": details["startDate"], "endDate": details["endDate"]}
    if "goal" in details:
        body["goal"] = details["goal"]
    path = jira.agile(f"/sprint/{sprint['id']}")

    async def recover() -> dict[str, Any] | None:
        now = await jira.client.get(path) or {}
        return now if now.get("state") == "active" else None

    # Not blindly resent: a second "start" of a started sprint is refused by Jira.
    answer = await jira.client.post(path, body, recover=recover)
    call.result.data = {"sprint": trim_sprint(answer)}


@handles("jira_close_sprint")
async def close_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    result = call.result
    sprint = await sprint_of_project(jira, details, purpose=_CHANGE)
    if sprint.get("state") == "closed":  # an earlier try closed it
        result.data = {"sprint": trim_sprint(sprint), "recovered": True}
        return
    target = details.get("moveIncompleteTo", "backlog")
    if target != "backlog":
        await sprint_of_project(
            jira,
            {**details, "sprintId": target},
            purpose="an action moves issues only into its own project's sprints",
        )
    incomplete = await _incomplete_issues(jira, int(sprint["id"]))
    if target == "backlog":
        await move_to_backlog_keys(jira, incomplete, result)
    else:
        await move_keys(jira, int(target), incomplete, result)
    if result.failures:
        # Closing now would send the issues that did not move to the backlog instead.
        raise JiraLookupError(
            f"sprint {sprint['id']} was not closed: {len(result.failures)} incomplete issue(s) "
            f"could not be moved to {target}"
        )
    path = jira.agile(f"/sprint/{sprint['id']}")

    async def recover() -> dict[str, Any] | None:
        now = await jira.client.get(path) or {}
        return now if now.get("state") == "closed" else None

    answer = await jira.client.post(path, {"state": "closed"}, recover=recover)
    result.data = {"sprint": trim_sprint(answer), "movedTo": target, "moved": incomplete}


async def _incomplete_issues(jira: JiraAdapter, sprint: int) -> list[str]:
    """The sprint's issues whose status is not in the Done category (sub-tasks travel with
    their parent, so only parents are listed), as Jira's sprint report counts them."""
    issues, _ = await jira.search_issues(
        f"sprint = {sprint} ORDER BY key ASC", fields=["status", "issuetype"], limit=None
    )
    keys = []
    for issue in issues:
        fields = issue.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        if category != "done" and not (fields.get("issuetype") or {}).get("subtask"):
            keys.append(str(issue["key"]))
    return keys


@handles("jira_delete_sprint")
async def delete_sprint(jira: JiraAdapter, call: ActionCall) -> None:
    sprint = await sprint_of_project(jira, call.details, purpose=_CHANGE)
    retries_before = jira.client.stats.retries
    try:
        await jira.client.delete(jira.agile(f"/sprint/{sprint['id']}"))
    except JiraHTTPError as exc:
        # A 404 on a resent DELETE means the first, unanswered try did the work.
        if not (exc.status == 404 and jira.client.stats.retries > retries_before):
            raise
    call.result.data = {"sprint": trim_sprint(sprint), "deleted": True}


@handles("jira_move_to_backlog")
async def move_to_backlog(jira: JiraAdapter, call: ActionCall) -> None:
    await move_to_backlog_keys(jira, call.details["issueKeys"], call.result)


async def move_to_backlog_keys(
    jira: JiraAdapter, keys: Sequence[str], result: ExecutionResult
) -> None:
    for chunk in chunked(list(keys), BACKLOG_LIMIT):
        try:
            # Moving an issue that is in the backlog to it changes nothing: safe to resend.
            await jira.client.post(jira.agile("/backlog/issue"), {"issues": chunk}, idempotent=True)
        except JiraTransportError:
            raise
        except JiraError as exc:
            for key in chunk:
                result.fail(exc, key=key)
            continue
        for key in chunk:
            result.touch(key)


@handles("jira_rank_issues")
async def rank_issues(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    body: dict[str, Any] = {"issues": list(details["issueKeys"])}
    for name in ("rankBeforeIssue", "rankAfterIssue"):
        if name in details:
            body[name] = details[name]
    # Ranking the same issues at the same place again leaves the same order.
    answer = await jira.client.put(jira.agile("/issue/rank"), body)
    refused = {
        str(entry.get("issueKey")): entry
        for entry in (answer or {}).get("entries") or []
        if int(entry.get("status") or 200) >= 400
    }
    for key in details["issueKeys"]:
        if key in refused:
            reasons = "; ".join(map(str, refused[key].get("errors") or [])) or "refused"
            call.result.fail(JiraLookupError(f"{key}: not ranked: {reasons}"), key=key)
        else:
            call.result.touch(key)

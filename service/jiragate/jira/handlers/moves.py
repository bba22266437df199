"""Moving an issue to another project (`jira_move_issue`): Jira Cloud's asynchronous bulk move.

Cloud (REST v3, jira-platform.v3.json `submitBulkMove` / `getBulkOperationProgress`):

1. Read the issue (`GET /issue/{key}?fields=project,issuetype`). It must be in the action's
   project, the one policies saw: a key's prefix is not proof, Jira answers an old key with
   the issue it became (jira/handlers/scope.py). An attempt resumed after an unknown outcome
   that finds it in the target project already is done: the earlier attempt moved it.
2. Find the issue type in the target project (`GET /project/{target}`, its `issueTypes`): the
   one named by `targetIssueType`, else the issue's own. Jira's mapping key is
   `<project>,<issueTypeId>`. A missing project (404) or type refuses the action: `failed`,
   nothing submitted. Sub-tasks are refused: Jira moves them with their parent.
3. Submit `POST /bulk/issues/move` for the issue's id, inferring Jira's defaults for statuses,
   fields, classification and sub-task types (the reviewer approved a move, not a field
   mapping). A 4xx is Jira refusing before anything runs: `failed`.
4. Poll `GET /bulk/queue/{taskId}` for at most `MOVE_WAIT_SECONDS` (through the client's
   sleep hook, `JiraClient.pause`). COMPLETE with the issue among `processedAccessibleIssues`:
   read it back, `succeeded`, `data.newKey` is its key in the target project. A finished task
   that did not move it (FAILED, CANCELLED, DEAD, or its id among `failedAccessibleIssues`):
   read it back, `failed` only if Jira still shows it in the source project.
   Anything else — the task still running after the wait, its progress unreadable, the issue
   in neither project — is an unknown outcome (`JiraTransportError(outcome_unknown=True)`):
   the move may still happen, so it is never reported failed; the gateway runs the action
   again later, and step 1 then finds the issue moved (or submits again, which Jira does not
   apply twice: the issue is already in the target).

Data Center (REST v2) has no move endpoint (issues are moved in the UI's Move wizard only):
refused with `JiraUnsupportedError`, before any call.

Permissions Jira checks: "Move issues" in the source project and "Create issues" in the
target, and the global "Make bulk changes" permission (the operation's own documentation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.catalog.move_actions import source_project
from jiragate.errors import (
    JiraError,
    JiraLookupError,
    JiraTransportError,
    JiraUnsupportedError,
)
from jiragate.jira.handlers.base import ActionCall, handles

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

#: How long one attempt waits for Jira's task (mcp-atlassian waits 30 s too).
MOVE_WAIT_SECONDS = 30.0
#: The waits between polls: quick at first (a one-issue move usually finishes in seconds),
#: then every 5 s, until MOVE_WAIT_SECONDS have been waited in all.
POLL_WAITS = (0.5, 1.0, 2.0, 3.0, 5.0)
#: Task states after which it does nothing more (BulkOperationProgress.status).
_FINISHED = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})


@handles("jira_move_issue")
async def move_issue(jira: JiraAdapter, call: ActionCall) -> None:
    if not jira.config.is_cloud:
        raise JiraUnsupportedError(
            "Jira Data Center has no REST endpoint to move an issue to another project "
            "(REST API v2 has no bulk move; Data Center moves issues in the UI's Move "
            "wizard only); jira_move_issue needs Jira Cloud (POST /rest/api/3/bulk/issues/move)"
        )
    details = call.details
    key, source, target = details["issueKey"], source_project(details), details["targetProjectKey"]
    issue = await _read(jira, key)
    where = _project_of(issue)
    if where == target and call.resumed:
        _moved(call, key, issue, target, task_id=None)  # an earlier attempt's move
        return
    if where != source:
        raise JiraLookupError(
            f"issue {key} is in project {where or 'unknown'}, not {source} (was it moved?); "
            "an action moves only its own project's issues"
        )
    fields = issue.get("fields") or {}
    current = fields.get("issuetype") or {}
    if current.get("subtask"):
        raise JiraLookupError(
            f"{key} is a sub-task ({current.get('name')}); Jira moves sub-tasks with their "
            "parent: move the parent issue instead"
        )
    wanted = str(details.get("targetIssueType") or current.get("name") or "")
    type_id = await _target_type(jira, target, wanted)
    body = {
        "targetToSourcesMapping": {
            f"{target},{type_id}": {
                "inferClassificationDefaults": True,
                "inferFieldDefaults": True,
                "inferStatusDefaults": True,
                "inferSubtaskTypeDefault": True,
                "issueIdsOrKeys": [str(issue["id"])],
            }
        }
    }

    async def already_moved() -> Any | None:
        # A lost answer to the submission: moved already is its answer; not moved yet
        # proves nothing (the task may be queued), so the client reports the outcome unknown.
        found = await _read(jira, str(issue["id"]))
        return {"moved": found} if _project_of(found) == target else None

    submitted = await jira.client.post(jira.api("/bulk/issues/move"), body, recover=already_moved)
    if isinstance(submitted, Mapping) and "moved" in submitted:
        _moved(call, key, submitted["moved"], target, task_id=None)
        return
    task_id = str((submitted or {}).get("taskId") or "")
    if not task_id:
        raise JiraTransportError(
            f"Jira accepted the move of {key} to {target} without a task id; whether it "
            "happens is unknown",
            outcome_unknown=True,
        )
    progress = await _wait_for(jira, task_id, key, target)
    after = await _read_after(jira, str(issue["id"]), key, target, task_id)
    now_in = _project_of(after)
    if now_in == target:
        _moved(call, key, after, target, task_id=task_id)
        return
    if now_in == source and progress.get("status") in _FINISHED:
        reasons = _failure_reasons(progress, str(issue["id"]))
        raise JiraLookupError(
            f"Jira's move task {task_id} ended {progress.get('status')} without moving {key} "
            f"to {target}" + (f": {reasons}" if reasons else "")
        )
    raise JiraTransportError(
        f"Jira's move task {task_id} ended {progress.get('status')} but {key} is in project "
        f"{now_in or 'unknown'}; whether it moves to {target} is unknown",
        outcome_unknown=True,
    )


async def _read(jira: JiraAdapter, key_or_id: str) -> Mapping[str, Any]:
    answer = await jira.client.get(
        jira.api(f"/issue/{key_or_id}"), query={"fields": ["project", "issuetype"]}
    )
    return answer if isinstance(answer, Mapping) else {}


async def _read_after(
    jira: JiraAdapter, issue_id: str, key: str, target: str, task_id: str
) -> Mapping[str, Any]:
    """The issue after its task finished; a failed read leaves the outcome unknown."""
    try:
        return await _read(jira, issue_id)
    except JiraError as exc:
        raise JiraTransportError(
            f"Jira's move task {task_id} finished, but reading {key} back failed ({exc}); "
            f"whether it is in {target} is unknown",
            outcome_unknown=True,
        ) from exc


def _project_of(issue: Mapping[str, Any]) -> str:
    return str(((issue.get("fields") or {}).get("project") or {}).get("key") or "")


async def _target_type(jira: JiraAdapter, target: str, wanted: str) -> str:
    """The id of issue type `wanted` in project `target` (a 404 project raises JiraHTTPError)."""
    project = await jira.client.get(jira.api(f"/project/{target}"))
    types = [t for t in (project or {}).get("issueTypes") or [] if isinstance(t, Mapping)]
    exact = [t for t in types if t.get("name") == wanted]
    # Jira's issue type names are unique per site whatever their case.
    found = exact or [t for t in types if str(t.get("name", "")).casefold() == wanted.casefold()]
    if not found or found[0].get("subtask"):
        offered = sorted(str(t.get("name")) for t in types if not t.get("subtask"))
        raise JiraLookupError(
            f"project {target} has no issue type {wanted!r} to move the issue into "
            f"(it has: {', '.join(offered) or 'none'}); name one with targetIssueType"
        )
    return str(found[0]["id"])


async def _wait_for(jira: JiraAdapter, task_id: str, key: str, target: str) -> Mapping[str, Any]:
    """The task's progress once finished; unknown outcome if it is not within the wait."""
    waited, polls = 0.0, 0
    while True:
        try:
            progress = await jira.client.get(jira.api(f"/bulk/queue/{task_id}"))
        except JiraError as exc:
            raise JiraTransportError(
                f"the move of {key} to {target} was submitted (task {task_id}) but its "
                f"progress cannot be read ({exc}); it may still happen",
                outcome_unknown=True,
            ) from exc
        status = str((progress or {}).get("status") or "")
        if status in _FINISHED:
            return progress if isinstance(progress, Mapping) else {}
        wait = POLL_WAITS[min(polls, len(POLL_WAITS) - 1)]
        if waited + wait > MOVE_WAIT_SECONDS:
            raise JiraTransportError(
                f"the move of {key} to {target} was submitted (task {task_id}) and is still "
                f"{status or 'unreported'} after {waited:g} s; it may still happen",
                outcome_unknown=True,
            )
        await jira.client.pause(wait)
        waited += wait
        polls += 1


def _failure_reasons(progress: Mapping[str, Any], issue_id: str) -> str:
    failed = progress.get("failedAccessibleIssues") or {}
    reasons = failed.get(issue_id) if isinstance(failed, Mapping) else None
    return "; ".join(str(r) for r in reasons or ())


def _moved(
    call: ActionCall, key: str, issue: Mapping[str, Any], target: str, *, task_id: str | None
) -> None:
    new_key = str(issue.get("key") or "")
    call.result.touch(new_key or key)
    call.result.data = {
        "issueKey": key,
        "newKey": new_key,
        "projectKey": target,
        "issueType": ((issue.get("fields") or {}).get("issuetype") or {}).get("name"),
        "taskId": task_id,
    }

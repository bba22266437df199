"""Jira Cloud's bulk move: `POST /rest/api/3/bulk/issues/move` and its task,
`GET /rest/api/3/bulk/queue/{taskId}` (Cloud profile only; Data Center has neither).

As Atlassian documents them (jira-platform.v3.json, `submitBulkMove`,
`getBulkOperationProgress`): the submission is checked at once and answers `201 {"taskId"}`,
or `400 {"errors": [{"message"}]}` for an unknown project, issue type or issue; the move runs
in the background and the task reads ENQUEUED/RUNNING until COMPLETE, with
`processedAccessibleIssues` (ids moved) and `failedAccessibleIssues` (id -> reasons).

A moved issue gets the next key of the target project; its old key keeps answering with it
(Jira keeps the old key, GET /issue/OLD-1 returns the moved issue). Its components and
versions, which belong to the old project, are dropped (what `inferFieldDefaults` does with
values the target has not got); its status is kept (every sandbox project has one workflow).

The move happens when a read of the task sees it complete: `state.bulk_polls_to_finish`
reads see it running first (None: it never finishes, for tests of a move left unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import body_of, current_user, state_of
from jiragate.jira.sandbox.history import record_change
from jiragate.jira.sandbox.render import bulk_operation_error
from jiragate.jira.sandbox.state import Issue, SandboxState, User

#: Atlassian: "You can move up to 1,000 issues in a single operation, including any subtasks."
MOVE_LIMIT = 1000


def _millis() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _parse_target(state: SandboxState, target: str) -> tuple[str, str, list[str]]:
    """(project key, issue type name, problems) of a `<project>,<issueTypeId>[,<parent>]`."""
    parts = target.split(",")
    if len(parts) not in (2, 3):
        return "", "", [f"The target {target!r} is not <project ID or key>,<issue type ID>."]
    project = state.find_project(parts[0])
    if project is None:
        return "", "", [f"The project {parts[0]!r} does not exist or you cannot see it."]
    kind = next((t for t in state.site.issue_types if t.id == parts[1]), None)
    if kind is None:
        return project.key, "", [f"The issue type {parts[1]!r} is not in project {project.key}."]
    if kind.subtask:
        return project.key, "", ["Moving sub-tasks on their own is not supported here."]
    return project.key, kind.name, []


async def submit_move(request: Request) -> Response:
    state = state_of(request)
    body = body_of(request) or {}
    mappings: Mapping[str, Any] = body.get("targetToSourcesMapping") or {}
    if len(mappings) != 1:
        # Jira takes several targets at once; the adapter sends one, and so does this emulation.
        return bulk_operation_error(400, ["The sandbox moves to exactly one target per request."])
    ((target, source),) = mappings.items()
    with state.lock:
        project_key, type_name, problems = _parse_target(state, target)
        keys = [str(k) for k in source.get("issueIdsOrKeys") or []]
        if not keys or len(keys) > MOVE_LIMIT:
            problems.append(f"Give between 1 and {MOVE_LIMIT} issues to move.")
        issues: list[Issue] = []
        for key in keys:
            found = state.find_issue(key)
            if found is None or found.archived:
                problems.append("Some of the issues in the issueIdsOrKeys are not valid")
                break
            issues.append(found)
        if problems:
            return bulk_operation_error(400, problems)
        task_id = str(state.next_misc())
        state.bulk_tasks[task_id] = {
            "taskId": task_id,
            "issues": [issue.id for issue in issues],
            "project": project_key,
            "issueType": type_name,
            "polls": 0,
            "created": _millis(),
            "submittedBy": _account(current_user(request)),
            "status": "ENQUEUED",
        }
        state.save()
    return JSONResponse({"taskId": task_id}, status_code=201)


def _account(user: User | None) -> str:
    return user.account_id if user is not None else ""


async def task_progress(request: Request) -> Response:
    state = state_of(request)
    task_id = request.path_params["task_id"]
    with state.lock:
        task = state.bulk_tasks.get(task_id)
        if task is None:
            # The spec declares 400 for an id that is not a bulk operation task.
            return bulk_operation_error(
                400,
                [f"The task associated with this taskId {task_id} is not a bulk operation task"],
            )
        if task["status"] != "COMPLETE":
            task["polls"] += 1
            due = state.bulk_polls_to_finish
            if due is not None and task["polls"] > due:
                _finish(state, task, request)
            else:
                task["status"] = "RUNNING"
                task.setdefault("started", _millis())
            state.save()
        answer: dict[str, Any] = {
            "taskId": task_id,
            "status": task["status"],
            "progressPercent": 100 if task["status"] == "COMPLETE" else 0,
            "submittedBy": {"accountId": task["submittedBy"]},
            "created": task["created"],
            "totalIssueCount": len(task["issues"]),
        }
        for name in ("started", "updated"):
            if name in task:
                answer[name] = task[name]
        if task["status"] == "COMPLETE":
            answer["processedAccessibleIssues"] = list(task["processed"])
            answer["failedAccessibleIssues"] = dict(task["failed"])
            answer["invalidOrInaccessibleIssueCount"] = 0
    return JSONResponse(answer)


def _finish(state: SandboxState, task: dict[str, Any], request: Request) -> None:
    """Move every issue of the task (hold the lock)."""
    processed: list[int] = []
    failed: dict[str, list[str]] = {}
    for issue_id in task["issues"]:
        issue = state.find_issue(str(issue_id))
        if issue is None:
            failed[str(issue_id)] = ["The issue no longer exists."]
            continue
        if issue.project_key != task["project"] or issue.issue_type != task["issueType"]:
            _move(state, issue, task["project"], task["issueType"], current_user(request))
        processed.append(issue.id)
    task.update(status="COMPLETE", processed=processed, failed=failed, updated=_millis(), polls=0)
    task.setdefault("started", task["updated"])


def _move(
    state: SandboxState, issue: Issue, project_key: str, type_name: str, who: User | None
) -> None:
    old_key, old_project, old_type = issue.key, issue.project_key, issue.issue_type
    if project_key != old_project:
        project = state.projects[project_key]
        new_key = f"{project.key}-{project.next_number}"
        project.next_number += 1
        del state.issues[old_key]
        issue.key, issue.project_key = new_key, project.key
        state.issues[new_key] = issue
        state.moved_keys[old_key] = new_key
        state.ranking = [new_key if key == old_key else key for key in state.ranking]
        # What belongs to the old project does not come along.
        issue.components, issue.fix_versions, issue.affects_versions = [], [], []
        issue.sprint_id = None
        for other in state.issues.values():
            if other.parent_key == old_key:
                other.parent_key = new_key
            for link in other.links:
                for side in ("inward", "outward"):
                    if link.get(side) == old_key:
                        link[side] = new_key
        record_change(state, issue, who, "project", old_project, project_key)
        record_change(state, issue, who, "Key", old_key, new_key)
    if type_name != old_type:
        issue.issue_type = type_name
        record_change(state, issue, who, "issuetype", old_type, type_name)


def build_router() -> APIRouter:
    # v3 only: the middleware answers 404 for /rest/api/3 on the Data Center profile, and
    # Data Center's REST API v2 has no bulk move (it moves issues in the UI only).
    router = APIRouter()
    router.add_api_route("/rest/api/3/bulk/issues/move", submit_move, methods=["POST"])
    router.add_api_route("/rest/api/3/bulk/queue/{task_id}", task_progress, methods=["GET"])
    return router


__all__ = ["MOVE_LIMIT", "build_router"]

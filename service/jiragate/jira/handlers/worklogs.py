"""Worklogs: logging time once (a signed marker property, looked for before posting and
after a lost answer, as comments do), changing and deleting a worklog of the action's issue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError
from jiragate.jira.handlers.base import NOT_BEFORE, ActionCall, handles
from jiragate.jira.handlers.scope import ScopedIssue, action_issue, check_owner
from jiragate.jira.markers import (
    MARKER_PROPERTY,
    comment_marker,
    created_in_time,
    is_comment_marker,
)
from jiragate.jira.shapes import COMMENT_PAGE

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


def jira_now() -> str:
    """Now as Jira writes a date-time (milliseconds, a colon-less offset)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _worklog_body(jira: JiraAdapter, details: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: details[k] for k in ("timeSpent", "started") if k in details}
    if "comment" in details:
        body["comment"] = jira.rich_text(details["comment"])
    return body


async def find_worklog(jira: JiraAdapter, key: str, action_id: str) -> str | None:
    """The id of the worklog an earlier try of `action_id` logged on `key`, if any: the
    service account's, not older than the action, carrying our marker property."""
    not_before = NOT_BEFORE.get()
    start = 0
    while True:
        page = await jira.client.get(
            jira.api(f"/issue/{key}/worklog"),
            query={"startAt": start, "maxResults": COMMENT_PAGE, "expand": "properties"},
        )
        logs = (page or {}).get("worklogs") or []
        for log in logs:
            if not created_in_time(log.get("created"), not_before):
                continue
            if not await jira.is_ours(log.get("author")):
                continue
            if _has_marker(jira, log, action_id):
                return str(log.get("id"))
        start += len(logs)
        if not logs or start >= int((page or {}).get("total", 0)):
            return None


def _has_marker(jira: JiraAdapter, log: Mapping[str, Any], action_id: str) -> bool:
    return any(
        isinstance(prop, Mapping)
        and prop.get("key") == MARKER_PROPERTY
        and is_comment_marker(prop.get("value"), jira.config.marker_key, action_id)
        for prop in log.get("properties") or []
    )


@handles("jira_add_worklog")
async def add_worklog(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    key, action_id, result = issue.key, call.action_id, call.result
    existing = await find_worklog(jira, key, action_id)
    if existing is not None:
        result.touch(key)
        result.data = {"worklogId": existing, "recovered": True}
        return

    async def recover() -> dict[str, Any] | None:
        found = await find_worklog(jira, key, action_id)
        return {"id": found} if found is not None else None

    body = _worklog_body(jira, call.details)
    body.setdefault("started", jira_now())  # Jira requires it on create
    body["properties"] = [
        {"key": MARKER_PROPERTY, "value": comment_marker(jira.config.marker_key, action_id)}
    ]
    answer = await jira.client.post(jira.api(f"/issue/{key}/worklog"), body, recover=recover)
    result.touch(key)
    result.data = {"worklogId": str((answer or {}).get("id", ""))}


async def _worklog_on(jira: JiraAdapter, call: ActionCall) -> tuple[ScopedIssue, str]:
    issue = await action_issue(jira, call.details)
    ident = call.details["worklogId"]
    log = await jira.client.get(jira.api(f"/issue/{issue.key}/worklog/{ident}"))
    check_owner(issue, "worklog", ident, log or {})
    return issue, ident


@handles("jira_update_worklog")
async def update_worklog(jira: JiraAdapter, call: ActionCall) -> None:
    issue, ident = await _worklog_on(jira, call)
    body = _worklog_body(jira, call.details)
    if body:
        await jira.client.put(jira.api(f"/issue/{issue.key}/worklog/{ident}"), body)
    call.result.touch(issue.key)
    call.result.data = {"worklogId": ident}


@handles("jira_delete_worklog")
async def delete_worklog(jira: JiraAdapter, call: ActionCall) -> None:
    issue, ident = await _worklog_on(jira, call)
    try:
        await jira.client.delete(jira.api(f"/issue/{issue.key}/worklog/{ident}"))
    except JiraHTTPError as exc:
        if exc.status != 404:  # a resent DELETE whose first try went through
            raise
    call.result.touch(issue.key)
    call.result.data = {"worklogId": ident}

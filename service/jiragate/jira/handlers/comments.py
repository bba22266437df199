"""Comments: posted once, with a signed marker property, looked for before posting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError
from jiragate.jira.handlers.base import NOT_BEFORE, ActionCall, handles
from jiragate.jira.markers import (
    MARKER_PROPERTY,
    comment_marker,
    created_in_time,
    is_comment_marker,
)
from jiragate.jira.shapes import COMMENT_PAGE

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def find_comment(jira: JiraAdapter, key: str, action_id: str) -> str | None:
    """The id of the comment an earlier try of `action_id` posted on `key`, if any.

    Comments are read from Jira's database, not its search index, so this is
    consistent. Newest first; stops at comments older than the action; only the
    service account's comments are checked for the marker property."""
    not_before = NOT_BEFORE.get()
    start = 0
    while True:
        page = await jira.client.get(
            jira.api(f"/issue/{key}/comment"),
            query={"orderBy": "-created", "startAt": start, "maxResults": COMMENT_PAGE},
        )
        comments = (page or {}).get("comments") or []
        for comment in comments:
            if not created_in_time(comment.get("created"), not_before):
                return None
            if await jira.is_ours(comment.get("author")) and await _has_marker(
                jira, str(comment.get("id")), action_id
            ):
                return str(comment.get("id"))
        start += len(comments)
        if not comments or start >= int((page or {}).get("total", 0)):
            return None


async def _has_marker(jira: JiraAdapter, comment_id: str, action_id: str) -> bool:
    try:
        path = jira.api(f"/comment/{comment_id}/properties/{MARKER_PROPERTY}")
        prop = await jira.client.get(path)
    except JiraHTTPError as exc:
        if exc.status == 404:
            return False
        raise
    value = (prop or {}).get("value")
    return is_comment_marker(value, jira.config.marker_key, action_id)


@handles("jira_add_comment")
async def add_comment(jira: JiraAdapter, call: ActionCall) -> None:
    key, action_id, result = call.details["issueKey"], call.action_id, call.result
    # A comment has no natural key: it carries a marker property, and is looked for
    # before posting (an earlier try may have posted it) and after a lost answer.
    existing = await find_comment(jira, key, action_id)
    if existing is not None:
        result.touch(key)
        result.data = {"commentId": existing, "recovered": True}
        return

    async def recover() -> dict[str, Any] | None:
        found = await find_comment(jira, key, action_id)
        return {"id": found} if found is not None else None

    marker = comment_marker(jira.config.marker_key, action_id)
    body = {
        "body": jira.rich_text(call.details["body"]),
        "properties": [{"key": MARKER_PROPERTY, "value": marker}],
    }
    answer = await jira.client.post(jira.api(f"/issue/{key}/comment"), body, recover=recover)
    result.touch(key)
    result.data = {"commentId": str((answer or {}).get("id", ""))} if answer else None

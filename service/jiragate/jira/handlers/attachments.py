"""Attachments: uploading one file (multipart, size-bounded) and deleting one of the issue's.

The file travels in the details as base64 (`content`). Its decoded size is checked against
`jira.max_attachment_bytes` before anything is sent — when the action is proposed, approved
and run (`JiraAdapter.check_details`) — so an oversized file never reaches Jira. An upload is
not idempotent: before uploading, and after a lost answer, the issue's attachments are read
for one the service account uploaded since the action was recorded with the same name and
size (found = done, `data.recovered`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import DetailsViolation, InvalidDetailsError, JiraHTTPError, JiraLookupError
from jiragate.jira.client import FileUpload
from jiragate.jira.handlers.base import NOT_BEFORE, ActionCall, handles
from jiragate.jira.handlers.scope import ScopedIssue, action_issue
from jiragate.jira.markers import created_in_time

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

ACTION = "jira_add_attachment"


def attachment_bytes(details: Mapping[str, Any], limit: int) -> bytes:
    """The decoded file of a `jira_add_attachment`, or InvalidDetailsError naming /content."""
    try:
        data = base64.b64decode(str(details["content"]), validate=True)
    except (binascii.Error, ValueError):
        problem = "is not valid base64 (RFC 4648, with its = padding, no line breaks)"
        raise InvalidDetailsError(
            ACTION, [DetailsViolation("/content", "base64", problem)]
        ) from None
    if len(data) > limit:
        problem = (
            f"the file is {len(data)} bytes, more than the {limit} bytes this gateway uploads "
            "(jira.max_attachment_bytes)"
        )
        raise InvalidDetailsError(ACTION, [DetailsViolation("/content", "max-bytes", problem)])
    return data


def check_attachment(action: str, details: Mapping[str, Any], limit: int) -> None:
    if action == ACTION:
        attachment_bytes(details, limit)


async def _attachments(jira: JiraAdapter, issue: ScopedIssue) -> list[Mapping[str, Any]]:
    answer = await jira.client.get(jira.api(f"/issue/{issue.key}"), query={"fields": "attachment"})
    found = ((answer or {}).get("fields") or {}).get("attachment") or []
    return [item for item in found if isinstance(item, Mapping)]


async def find_upload(
    jira: JiraAdapter, issue: ScopedIssue, filename: str, size: int
) -> str | None:
    not_before = NOT_BEFORE.get()
    for item in await _attachments(jira, issue):
        if (
            item.get("filename") == filename
            and item.get("size") == size
            and created_in_time(item.get("created"), not_before)
            and await jira.is_ours(item.get("author"))
        ):
            return str(item.get("id"))
    return None


@handles(ACTION)
async def add_attachment(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    data = attachment_bytes(details, jira.config.max_attachment_bytes)
    issue = await action_issue(jira, details)
    filename = details["filename"]
    existing = await find_upload(jira, issue, filename, len(data))
    if existing is not None:
        result.touch(issue.key)
        result.data = {"attachmentId": existing, "recovered": True}
        return

    async def recover() -> list[dict[str, Any]] | None:
        found = await find_upload(jira, issue, filename, len(data))
        return [{"id": found}] if found is not None else None

    upload = FileUpload(filename, data, details.get("mediaType", "application/octet-stream"))
    answer = await jira.client.post_file(
        jira.api(f"/issue/{issue.key}/attachments"), upload, recover=recover
    )
    first = answer[0] if isinstance(answer, list) and answer else {}
    result.touch(issue.key)
    result.data = {"attachmentId": str(first.get("id", "")), "size": len(data)}


@handles("jira_delete_attachment")
async def delete_attachment(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    ident = call.details["attachmentId"]
    if not any(str(item.get("id")) == ident for item in await _attachments(jira, issue)):
        raise JiraLookupError(
            f"attachment {ident} is not on issue {issue.key}; an action deletes only its own "
            "issue's attachments"
        )
    try:
        await jira.client.delete(jira.api(f"/attachment/{ident}"))
    except JiraHTTPError as exc:
        if exc.status != 404:  # a resent DELETE whose first try went through
            raise
    call.result.touch(issue.key)
    call.result.data = {"attachmentId": ident}

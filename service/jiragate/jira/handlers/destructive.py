"""Destructive actions: deleting issues (a 404 on a resent DELETE, or on a resumed attempt
after an unknown outcome, is success: the earlier try did the work), archiving
them (Cloud only, in chunks of 1000, refusals per issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiragate.errors import JiraError, JiraHTTPError, JiraTransportError, JiraUnsupportedError
from jiragate.jira.handlers.base import ActionCall, each, handles
from jiragate.jira.results import Failure
from jiragate.jira.shapes import ARCHIVE_LIMIT, chunked

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_delete_issues")
async def delete_issues(jira: JiraAdapter, call: ActionCall) -> None:
    query = {"deleteSubtasks": bool(call.details.get("deleteSubtasks", False))}

    async def delete(key: str) -> bool:
        retries_before = jira.client.stats.retries
        try:
            await jira.client.delete(jira.api(f"/issue/{key}"), query=query)
        except JiraHTTPError as exc:
            # A 404 on a resent DELETE means the first, unanswered try did the work; so
            # does one in an attempt resumed after an attempt whose outcome was unknown.
            if exc.status == 404 and (call.resumed or jira.client.stats.retries > retries_before):
                return True
            raise
        return True

    await each(call.details["issueKeys"], call.result, delete)


@handles("jira_archive_issues")
async def archive_issues(jira: JiraAdapter, call: ActionCall) -> None:
    if not jira.config.is_cloud:
        raise JiraUnsupportedError(
            "Jira Data Center has no archive endpoint in REST API v2; archiving is a Jira "
            "Cloud Premium/Enterprise feature (PUT /rest/api/3/issue/archive)"
        )
    result = call.result
    for chunk in chunked(call.details["issueKeys"], ARCHIVE_LIMIT):
        try:
            answer = await jira.client.put(jira.api("/issue/archive"), {"issueIdsOrKeys": chunk})
        except JiraTransportError:
            raise
        except JiraError as exc:
            for key in chunk:
                result.fail(exc, key=key)
            continue
        refused: dict[str, tuple[str, str]] = {}
        for category, info in ((answer or {}).get("errors") or {}).items():
            for key in (info or {}).get("issueIdsOrKeys") or []:
                refused[str(key)] = (str(category), str(info.get("message") or category))
        for key in chunk:
            if key in refused:
                category, message = refused[key]
                result.failures.append(
                    Failure(
                        reason=f"{key}: not archived: {message}",
                        key=key,
                        errors=((category, message),),
                    )
                )
            else:
                result.touch(key)

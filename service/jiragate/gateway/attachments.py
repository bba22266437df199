"""Attachments by id, scoped by the issue Jiragate saw them on (docs/proxy.md, "Attachments").

Jira's attachment metadata names no issue and its ids are sequential, so no Jira read can
say which project `/attachment/{id}` (or `/attachment/content/{id}`, `thumbnail/{id}`,
`{id}/expand/...`) belongs to. So the gateway learns it: whenever it hands an agent an issue
that lists attachments (an allowed issue read or search through the proxy, or a catalog
read such as jira_get_attachments), it records each attachment's issue and project
(store.attachments). A generic action naming an attachment is then scoped by that project,
after Jira confirms the issue (read again by id) still lists the attachment and is still in
that project; an attachment never seen on an issue is refused, fail closed, telling the agent
to read its issue through Jiragate first.

Learning never fails the agent's read: it runs in a worker thread once Jira's answer is in
(before it is passed on, so the agent's next request finds it), and a failure is logged.
Only answers whose shape Jira fixes are read (an issue, a search's `issues`), never a body an
agent could have written (an issue property's value).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jiragate.catalog import ActionRequest
from jiragate.catalog.rest import RestPathError, parse_rest_path
from jiragate.errors import DetailsViolation, InvalidDetailsError, JiraHTTPError
from jiragate.gateway.state import GatewayState
from jiragate.jira.client import RawResponse
from jiragate.store import FinishedRun
from jiragate.store.attachments import SeenAttachment

log = logging.getLogger("jiragate.gateway")

#: Templates whose answer is one issue.
_ONE_ISSUE = frozenset(
    {"/rest/api/{version}/issue/{issueIdOrKey}", "/rest/agile/1.0/issue/{issueIdOrKey}"}
)
#: Templates whose answer lists issues under `issues` (searches, bulk fetch, Agile lists).
_ISSUE_LISTS = frozenset(
    {
        "/rest/api/{version}/search",
        "/rest/api/{version}/search/jql",
        "/rest/api/{version}/issue/bulkfetch",
        "/rest/agile/1.0/board/{id}/issue",
        "/rest/agile/1.0/board/{id}/backlog",
        "/rest/agile/1.0/board/{id}/epic/{id}/issue",
        "/rest/agile/1.0/board/{id}/epic/none/issue",
        "/rest/agile/1.0/board/{id}/sprint/{id}/issue",
        "/rest/agile/1.0/sprint/{id}/issue",
        "/rest/agile/1.0/epic/{id}/issue",
        "/rest/agile/1.0/epic/{issueIdOrKey}/issue",
        "/rest/agile/1.0/epic/none/issue",
    }
)
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,9}")
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}")
_ID = re.compile(r"[0-9]{1,18}")
#: Cheap test before any parsing: an answer without the word holds no attachment list.
MARKER = b'"attachment"'


def normalised_id(ident: str) -> str | None:
    """The attachment id as Jira reads it (`0010042` is 10042), or None if not a number."""
    return str(int(ident)) if _ID.fullmatch(ident) else None


def seen_in_issue(issue: object) -> Iterator[SeenAttachment]:
    """The attachments one issue object of Jira's lists in `fields.attachment`."""
    if not isinstance(issue, Mapping):
        return
    fields = issue.get("fields")
    key = issue.get("key")
    if not isinstance(fields, Mapping) or not isinstance(key, str) or not _ISSUE_KEY.fullmatch(key):
        return
    found = fields.get("attachment")
    if not isinstance(found, list):
        return
    named = fields.get("project")
    project = named.get("key") if isinstance(named, Mapping) else None
    if not isinstance(project, str) or not _PROJECT_KEY.fullmatch(project):
        project = key.rsplit("-", 1)[0]  # Jira's current key: its prefix is its project
    ident = issue.get("id")
    issue_id = str(ident) if isinstance(ident, (str, int)) and _ID.fullmatch(str(ident)) else key
    for item in found:
        attachment = item.get("id") if isinstance(item, Mapping) else None
        number = normalised_id(str(attachment)) if isinstance(attachment, (str, int)) else None
        if number is not None:
            yield SeenAttachment(number, issue_id, key, project)


def seen_in_answer(template: str, answer: object) -> list[SeenAttachment]:
    """The attachments listed in Jira's answer to a read of `template`, if its shape is an
    issue or a list of issues; nothing for any other answer."""
    if template in _ONE_ISSUE:
        return list(seen_in_issue(answer))
    if template in _ISSUE_LISTS and isinstance(answer, Mapping):
        issues = answer.get("issues")
        if isinstance(issues, list):
            return [row for issue in issues for row in seen_in_issue(issue)]
    return []


def seen_in_body(template: str, body: bytes) -> list[SeenAttachment]:
    if MARKER not in body:
        return []
    try:
        answer = json.loads(body)
    except ValueError:
        return []
    return seen_in_answer(template, answer)


def seen_in_result(
    action: str, details: Mapping[str, Any], result: Mapping[str, Any] | None
) -> list[SeenAttachment]:
    """The attachments a catalog read's result lists: jira_get_attachments (its issue's), a
    generic read run by its handler (Jira's answer is kept in the result)."""
    data = (result or {}).get("data")
    if not isinstance(data, Mapping) or (result or {}).get("outcome") == "failed":
        return []
    if action == "jira_get_attachments":
        key = details.get("issueKey")
        items = data.get("attachments")
        if not isinstance(key, str) or not _ISSUE_KEY.fullmatch(key) or not isinstance(items, list):
            return []
        # The key as the agent named it may be an old one: the row is only a hint, checked
        # with Jira (by this key, which Jira still answers) before it scopes anything.
        issue = {"key": key, "fields": {"attachment": items}}
        return list(seen_in_issue(issue))
    if action == "jira_rest_read" and isinstance(data.get("status"), int) and data["status"] < 400:
        return seen_in_answer(str(details.get("template", "")), data.get("body"))
    return []


def unknown(action: str, ident: str, why: str, version: str = "3") -> InvalidDetailsError:
    """The refusal of an attachment Jiragate cannot place in a project: what to do."""
    message = (
        f"Jiragate does not know which issue attachment {ident} belongs to{why}: read its "
        f"issue through Jiragate first (GET /rest/api/{version}/issue/{{key}}?fields=attachment"
        "), then ask again"
    )
    return InvalidDetailsError(action, [DetailsViolation("/path", "attachment-owner", message)])


def listed_on(issue: Mapping[str, Any], ident: str) -> list[SeenAttachment] | None:
    """Jira's answer for the issue a row names: its attachments now, if `ident` is among
    them; None if Jira no longer lists it there."""
    rows = list(seen_in_issue(issue))
    return rows if any(row.attachment_id == ident for row in rows) else None


class AttachmentsMixin(GatewayState):
    """Learning attachments' issues from what agents are handed, and placing one by id."""

    async def _learn_from_answer(self, path: str, answer: RawResponse | None) -> None:
        """Jira's answer to a forwarded read: its attachments recorded, off the event loop.
        The word test first, so a read whose answer lists none costs nothing more."""
        if answer is None or answer.status >= 300 or MARKER not in answer.body:
            return
        try:
            template = parse_rest_path(path).template
        except RestPathError:  # pragma: no cover - the proxy forwards parsed paths only
            return
        await self._learn(lambda: seen_in_body(template, answer.body))

    async def _learn_from_result(self, request: ActionRequest, finished: FinishedRun) -> None:
        """A catalog read's result (run by its handler): its attachments recorded."""
        if request.action not in ("jira_get_attachments", "jira_rest_read"):
            return
        await self._learn(lambda: seen_in_result(request.action, request.details, finished.result))

    async def _learn(self, rows: Callable[[], list[SeenAttachment]]) -> None:
        def run() -> int:
            found = rows()
            return self._store.learn_attachments(found) if found else 0

        try:
            await asyncio.to_thread(run)
        except Exception:  # never fail the agent's read because learning failed
            log.warning("attachment owners not recorded", exc_info=True)

    async def _attachment_project(self, action: str, ident: str, version: str = "3") -> str:
        """The project attachment `ident` is in, as Jiragate learned it and Jira confirms
        (the issue it was seen on, read again, still lists it); InvalidDetailsError
        otherwise (fail closed). Raises Jira's other errors: the caller fails closed."""
        number = normalised_id(ident)
        if number is None:
            raise unknown(action, ident, " (an attachment id is a number)", version)
        seen = await asyncio.to_thread(self._store.attachment_owner, number)
        if seen is None:
            raise unknown(action, ident, "", version)
        adapter = self._adapter
        try:
            issue = await adapter.client.get(
                adapter.api(f"/issue/{seen.issue_id}"), query={"fields": "project,attachment"}
            )
        except JiraHTTPError as exc:
            if exc.status != 404:
                raise
            issue = None
        rows = listed_on(issue, number) if isinstance(issue, Mapping) else None
        if rows is None:
            # Deleted, or moved off the issue: what we knew no longer holds.
            await asyncio.to_thread(self._store.forget_attachment, number)
            gone = f" (Jira no longer lists it on {seen.issue_key})"
            raise unknown(action, ident, gone, version)
        await asyncio.to_thread(self._store.learn_attachments, rows)
        return next(row.project_key for row in rows if row.attachment_id == number)

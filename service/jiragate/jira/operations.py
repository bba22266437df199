"""Catalog actions → Jira REST calls, on Cloud (v3 + agile) and Data Center (v2 + agile).

`JiraAdapter.execute(action, details, action_id=..., summary=...)` runs one approved action
and returns an `ExecutionResult`. What it raises and what it records:

- a failure that concerns one ticket or issue (Jira refused it, the transition is not
  available) is recorded in `result.failures` and the rest of the batch carries on;
- a definitive Jira refusal of the whole action (404 project, 400 body) is recorded too, and
  the outcome is "failed";
- `JiraTransportError` is raised only when the outcome is *unknown* (no usable answer to a
  write, or Jira unreachable while checking what a lost write did), `JiraDeferredError` when
  Jira asked to wait longer than `max_retry_wait`. Both carry `.result`: what had been done
  before. Running `execute` again with the same `action_id` is safe: creations and comments
  are found by their markers, the other writes are idempotent or checked first.
- bad input (unknown action, invalid details, a marker-imitating label, a bad action id)
  raises before any call; a missing setting raises `JiraConfigError`; archive on Data Center
  `JiraUnsupportedError`.

Duplicate protection (jira/markers.py): every issue the gateway creates carries the labels
`<prefix><action_id>` and `<prefix><action_id>.<index>` and the issue property
`jiragate.marker` (action, index, HMAC); every comment the comment property. Before creating
anything, and whenever a create call gets no usable answer, the adapter searches
`labels = "<marker>"`, keeps only issues whose property verifies, created by the service
account after the action was recorded, and creates only the tickets whose index it did not
find. Comments are looked up on their issue the same way before they are posted.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx

from jiragate import catalog, jql
from jiragate.errors import (
    JiraConfigError,
    JiraError,
    JiraHTTPError,
    JiraLookupError,
    JiraTransportError,
    JiraUnsupportedError,
    TransitionUnavailableError,
)
from jiragate.jira.adf import adf_to_text, text_to_adf
from jiragate.jira.client import JiraClient, RequestHook, Sleep
from jiragate.jira.config import JiraConfig
from jiragate.jira.markers import (
    MARKER_PROPERTY,
    comment_marker,
    created_in_time,
    is_comment_marker,
    is_reserved_label,
    issue_marker,
    issue_marker_index,
    refuse_reserved_labels,
)
from jiragate.jira.results import ExecutionResult, Failure

log = logging.getLogger("jiragate.jira")

# Atlassian: "The maximum number of issues that can be created in each call is 50"
# (POST /rest/api/3/issue/bulk) and "A maximum of 50 issues can be moved in one operation"
# (POST /rest/agile/1.0/sprint/{sprintId}/issue); archive takes "up to 1000 issues".
BULK_CREATE_LIMIT = 50
SPRINT_MOVE_LIMIT = 50
ARCHIVE_LIMIT = 1000
SEARCH_PAGE = 100
SPRINT_PAGE = 50
SUMMARY_LIMIT = 255
COMMENT_PAGE = 100

DEFAULT_READ_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "labels",
    "parent",
    "description",
    "created",
    "updated",
)

_ACTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,99}")  # whole string: fullmatch

Handler = Callable[[Mapping[str, Any], ExecutionResult, str, str], Awaitable[None]]

#: When the running action was recorded: what it created in Jira cannot be older. A context
#: variable, not an attribute, because one adapter runs many actions concurrently.
_NOT_BEFORE: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "jiragate_not_before", default=None
)


def chunked(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def numbered_summary(summary: str, number: int, total: int) -> str:
    suffix = f" ({number}/{total})"
    return summary[: SUMMARY_LIMIT - len(suffix)].rstrip() + suffix


def trim_issue(issue: Mapping[str, Any]) -> dict[str, Any]:
    """An issue as an agent needs it: key, id and flattened fields (ADF → text, objects → names)."""
    fields = issue.get("fields") or {}
    return {
        "key": issue.get("key"),
        "id": issue.get("id"),
        "fields": {name: _trim_value(name, value) for name, value in fields.items()},
    }


def _trim_value(name: str, value: Any) -> Any:
    if name in ("description", "environment") or (
        isinstance(value, dict) and value.get("type") == "doc"
    ):
        return adf_to_text(value) if value is not None else None
    if isinstance(value, list):
        return [_trim_value("", item) for item in value]
    if isinstance(value, dict):
        kept = {
            k: value[k] for k in ("key", "name", "displayName", "accountId", "value") if k in value
        }
        return kept or value
    return value


class JiraAdapter:
    """Runs catalog actions against one Jira site. One per process; `aclose()` when done."""

    def __init__(
        self,
        config: JiraConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        on_request: RequestHook | None = None,
    ) -> None:
        self.config = config
        self.client = JiraClient(
            config, transport=transport, sleep=sleep, rng=rng, clock=clock, on_request=on_request
        )
        self._story_points_field: str | None = config.story_points_field
        self._service_account: frozenset[str] | None = None
        self._handlers: dict[str, Handler] = {
            "jira_get_issue": self._get_issue,
            "jira_search": self._search,
            "jira_get_transitions": self._get_transitions,
            "jira_list_sprints": self._list_sprints,
            "jira_create_ticket": self._create_ticket,
            "jira_create_tickets": self._create_tickets,
            "jira_transition_issues": self._transition_issues,
            "jira_move_to_sprint": self._move_to_sprint,
            "jira_update_story_points": self._update_story_points,
            "jira_update_fields": self._update_fields,
            "jira_assign_issues": self._assign_issues,
            "jira_add_comment": self._add_comment,
            "jira_create_epic": self._create_epic,
            "jira_update_epic": self._update_epic,
            "jira_create_release": self._create_release,
            "jira_update_release": self._update_release,
            "jira_release_version": self._release_version,
            "jira_delete_issues": self._delete_issues,
            "jira_archive_issues": self._archive_issues,
        }
        missing = set(catalog.ACTION_NAMES) - set(self._handlers)
        assert not missing, f"catalog actions without a Jira operation: {sorted(missing)}"

    def __repr__(self) -> str:
        return f"JiraAdapter({self.config!r})"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> JiraAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ the entry point

    def check_details(self, action: str, details: Mapping[str, Any]) -> None:
        """Refuse (InvalidDetailsError, naming each pointer) an action that would add, set or
        remove a label imitating the duplicate-protection markers."""
        refuse_reserved_labels(action, details, self.config.marker_label_prefix)

    async def execute(
        self,
        action: str,
        details: Mapping[str, Any],
        *,
        action_id: str,
        summary: str,
        not_before: datetime | None = None,
    ) -> ExecutionResult:
        """Run one (approved, effective) action once; see the module docstring for errors.

        `not_before` is when the action was recorded: issues and comments found by their
        markers must be younger (less a clock skew) to count as this action's work."""
        catalog.validate_details(action, details)
        self.check_details(action, details)
        if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id):
            raise ValueError(
                "action_id must be 1-100 letters, digits, '_' or '-' starting with a letter or "
                f"digit (it becomes a Jira label), got {action_id!r}"
            )
        result = ExecutionResult(action=action)
        calls_before = self.client.stats.calls
        bound = _NOT_BEFORE.set(not_before)
        try:
            await self._handlers[action](details, result, action_id, summary)
        except (JiraHTTPError, JiraLookupError) as exc:
            result.fail(exc)
        except JiraTransportError as exc:
            result.calls = self.client.stats.calls - calls_before
            exc.result = result
            raise
        finally:
            _NOT_BEFORE.reset(bound)
        result.calls = self.client.stats.calls - calls_before
        return result

    # ------------------------------------------------------------------ paths and shapes

    def _api(self, suffix: str) -> str:
        return f"{self.config.api_prefix}{suffix}"

    def _agile(self, suffix: str) -> str:
        return f"{self.config.agile_prefix}{suffix}"

    def _rich_text(self, text: str) -> Any:
        """ADF on Cloud (v3), plain text on Data Center (v2)."""
        return text_to_adf(text) if self.config.is_cloud else text

    def _user(self, who: str | None) -> dict[str, Any]:
        # Cloud identifies users by accountId only (GDPR migration); DC by user name.
        return {"accountId": who} if self.config.is_cloud else {"name": who}

    def marker_label(self, action_id: str) -> str:
        return f"{self.config.marker_label_prefix}{action_id}"

    def ticket_label(self, action_id: str, index: int) -> str:
        return f"{self.marker_label(action_id)}.{index}"

    async def service_account(self) -> frozenset[str]:
        """Who this adapter is in Jira (`GET /myself`, cached): the accountId on Cloud, the
        user name and key on Data Center. Markers on anyone else's issues are forgeries."""
        if self._service_account is None:
            me = await self.client.get(self._api("/myself")) or {}
            names = {str(me[k]) for k in ("accountId", "name", "key") if me.get(k)}
            if not names:
                raise JiraLookupError("GET /myself did not say who the service account is")
            self._service_account = frozenset(names)
        return self._service_account

    async def _is_ours(self, user: object) -> bool:
        if not isinstance(user, Mapping):
            return False
        ids = {str(user[k]) for k in ("accountId", "name", "key") if user.get(k)}
        return bool(ids & await self.service_account())

    # ------------------------------------------------------------------ read helpers

    async def get_issue(self, key: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        issue = await self.client.get(
            self._api(f"/issue/{key}"), query={"fields": list(fields or DEFAULT_READ_FIELDS)}
        )
        return trim_issue(issue)

    async def get_issues(
        self, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any] | None]:
        """Each issue by key (None when Jira has no such issue), for reviewers' previews."""
        found: dict[str, dict[str, Any] | None] = {}
        for key in keys:
            try:
                found[key] = await self.get_issue(key, fields)
            except JiraHTTPError as exc:
                if exc.status != 404:
                    raise
                found[key] = None
        return found

    async def get_user(self, who: str) -> dict[str, Any] | None:
        """A user by accountId (Cloud) or user name (Data Center), for reviewers' previews:
        `{accountId?, name?, displayName, active}`, or None when Jira has no such user."""
        query = {"username": who} if self.config.flavour == "datacenter" else {"accountId": who}
        try:
            user = await self.client.get(self._api("/user"), query=query)
        except JiraHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        keys = ("accountId", "name", "displayName", "active")
        return {k: user[k] for k in keys if isinstance(user, Mapping) and k in user}

    async def get_transitions(self, key: str) -> list[dict[str, Any]]:
        answer = await self.client.get(self._api(f"/issue/{key}/transitions"))
        return [
            {
                "id": str(t.get("id")),
                "name": t.get("name"),
                "to": {
                    "id": (t.get("to") or {}).get("id"),
                    "name": (t.get("to") or {}).get("name"),
                },
            }
            for t in (answer or {}).get("transitions", [])
        ]

    async def list_sprints(
        self, board_id: int | None = None, *, state: str | None = None
    ) -> list[dict[str, Any]]:
        board = board_id or self.config.board_id
        if board is None:
            raise JiraConfigError(
                "no board to list sprints from: pass board_id or set JIRAGATE_JIRA_BOARD_ID"
            )
        sprints: list[dict[str, Any]] = []
        start = 0
        while True:
            page = await self.client.get(
                self._agile(f"/board/{board}/sprint"),
                query={"startAt": start, "maxResults": SPRINT_PAGE, "state": state},
            )
            values = (page or {}).get("values") or []
            sprints.extend(
                {k: s.get(k) for k in ("id", "name", "state", "startDate", "endDate", "goal")}
                for s in values
            )
            start += len(values)
            if not values or page.get("isLast", True):
                return sprints

    async def search_issues(
        self,
        jql: str,
        *,
        fields: Sequence[str],
        limit: int | None,
        page_token: str | None = None,
        properties: Sequence[str] = (),
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Issues matching `jql` (up to `limit`; all when None) and the next page token, if any.

        Cloud pages `GET /search/jql` by `nextPageToken` (the old `/search` answers 410);
        Data Center pages `GET /rest/api/2/search` by `startAt`, whose offset we hand out as
        the page token so callers page both flavours the same way.
        """
        issues: list[dict[str, Any]] = []
        start = int(page_token) if (page_token and not self.config.is_cloud) else 0
        token = page_token if self.config.is_cloud else None
        while limit is None or len(issues) < limit:
            size = SEARCH_PAGE if limit is None else min(SEARCH_PAGE, limit - len(issues))
            if self.config.is_cloud:
                page = await self.client.get(
                    self._api("/search/jql"),
                    query={
                        "jql": jql,
                        "fields": list(fields),
                        "maxResults": size,
                        "nextPageToken": token,
                        "properties": list(properties) or None,
                    },
                )
                batch = page.get("issues") or []
                issues.extend(batch)
                token = page.get("nextPageToken")
                if page.get("isLast", token is None) or not token or not batch:
                    return issues, None
            else:
                page = await self.client.get(
                    self._api("/search"),
                    query={
                        "jql": jql,
                        "fields": list(fields),
                        "startAt": start,
                        "maxResults": size,
                        "properties": list(properties) or None,
                    },
                )
                batch = page.get("issues") or []
                issues.extend(batch)
                start += len(batch)
                if not batch or start >= int(page.get("total", 0)):
                    return issues, None
        if self.config.is_cloud:
            return issues, token
        return issues, str(start)

    async def story_points_field(self) -> str:
        """The configured Story Points field id, else the one named "Story Points" (cached)."""
        if self._story_points_field is None:
            catalogue = await self.client.get(self._api("/field"))
            wanted = [
                f for f in catalogue or [] if str(f.get("name", "")).casefold() == "story points"
            ]
            if not wanted:
                raise JiraLookupError(
                    "no field named 'Story Points' in this Jira; set JIRAGATE_JIRA_STORY_POINTS_"
                    "FIELD to its custom field id (e.g. customfield_10016)"
                )
            # Prefer the custom field if an app added a second one with the same name.
            wanted.sort(key=lambda f: not f.get("custom", False))
            self._story_points_field = str(wanted[0]["id"])
        return self._story_points_field

    async def sprint_id(self, ref: int | str) -> int:
        """A sprint id from an id or a name (looked up on the configured board)."""
        if isinstance(ref, int):
            return ref
        # A string is always a name (the schema refuses all-digit names: an id is sent as a
        # number), matched exactly: a case-insensitive match would run "SPRINT_42" where
        # a policy on "sprint_42" saw another value.
        if self.config.board_id is None:
            raise JiraConfigError(
                f"sprint {ref!r} is a name; resolving it needs a board: set JIRAGATE_JIRA_BOARD_ID"
            )
        sprints = await self.list_sprints(self.config.board_id)
        for sprint in sprints:
            if str(sprint.get("name", "")) == ref:
                return int(sprint["id"])
        names = ", ".join(str(s.get("name")) for s in sprints[:20]) or "none"
        raise JiraLookupError(
            f"no sprint named {ref!r} on board {self.config.board_id} (sprints: {names})"
        )

    # ------------------------------------------------------------------ reads as actions

    async def _get_issue(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        result.data = {"issue": await self.get_issue(details["issueKey"], details.get("fields"))}

    async def _search(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        # Built from the parsed query, never by gluing text: with a projectKey it is
        # `project = "KEY" AND (<condition>) ORDER BY ...` (jiragate.jql).
        sent = jql.for_jira(details["jql"], details.get("projectKey"))
        issues, token = await self.search_issues(
            sent,
            fields=details.get("fields") or DEFAULT_READ_FIELDS,
            limit=details.get("maxResults", 50),
            page_token=details.get("nextPageToken"),
        )
        result.data = {
            "jql": sent,
            "issues": [trim_issue(issue) for issue in issues],
            "nextPageToken": token,
            "isLast": token is None,
        }

    async def _get_transitions(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        result.data = {"transitions": await self.get_transitions(details["issueKey"])}

    async def _list_sprints(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        sprints = await self.list_sprints(details["boardId"], state=details.get("state"))
        result.data = {"sprints": sprints}

    # ------------------------------------------------------------------ creating issues

    def _issue_fields(
        self,
        *,
        project: str,
        issue_type: str,
        summary: str,
        description: str | None = None,
        priority: str | None = None,
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": summary,
            "issuetype": {"name": issue_type},
            "labels": list(labels),
        }
        if description:
            fields["description"] = self._rich_text(description)
        if priority:
            fields["priority"] = {"name": priority}
        return fields

    def _with_markers(
        self, fields: Mapping[str, Any], action_id: str, index: int
    ) -> dict[str, Any]:
        """An `IssueUpdateDetails` body: the fields plus the marker labels and property."""
        prefix = self.config.marker_label_prefix
        labels = [
            label for label in fields.get("labels", []) if not is_reserved_label(label, prefix)
        ]
        marked = {
            **fields,
            "labels": [*labels, self.marker_label(action_id), self.ticket_label(action_id, index)],
        }
        value = issue_marker(self.config.marker_key, action_id, index)
        return {"fields": marked, "properties": [{"key": MARKER_PROPERTY, "value": value}]}

    async def find_created(self, action_id: str) -> dict[int, str]:
        """Ticket index → key of every issue an earlier try of `action_id` created.

        The label search only finds candidates; an issue counts when its marker property
        verifies (naming the index), the service account created it, and it is not older
        than the action. Anything else carrying the labels is a forgery and is ignored."""
        marker = self.marker_label(action_id)
        issues, _ = await self.search_issues(
            f'labels = "{marker}"',
            fields=["creator", "created"],
            limit=None,
            properties=[MARKER_PROPERTY],
        )
        found: dict[int, str] = {}
        forged: list[str] = []
        for issue in issues:
            index = await self._verified_index(issue, action_id)
            if index is None:
                forged.append(str(issue.get("key")))
            else:
                # Keep the first key if Jira somehow holds two (never create a third).
                found.setdefault(index, str(issue["key"]))
        if forged:
            log.warning("%s: ignored issues carrying its marker labels: %s", action_id, forged)
        return found

    async def _verified_index(self, issue: Mapping[str, Any], action_id: str) -> int | None:
        fields = issue.get("fields") or {}
        value = (issue.get("properties") or {}).get(MARKER_PROPERTY)
        index = issue_marker_index(value, self.config.marker_key, action_id)
        if index is None or not created_in_time(fields.get("created"), _NOT_BEFORE.get()):
            return None
        return index if await self._is_ours(fields.get("creator")) else None

    async def _create_all(
        self, tickets: Sequence[dict[str, Any]], action_id: str, result: ExecutionResult
    ) -> None:
        """Create `tickets` (fields, by index) exactly once, in bulk chunks of 50."""
        existing = await self.find_created(action_id)
        for index, key in sorted(existing.items()):
            if index < len(tickets):
                result.created.append({"index": index, "key": key})
        recovered = sorted(i for i in existing if i < len(tickets))
        pending = [i for i in range(len(tickets)) if i not in existing]
        rounds = 0
        while pending and rounds <= self.config.max_retries:
            missing: list[int] = []
            for chunk in chunked(pending, BULK_CREATE_LIMIT):
                missing += await self._create_chunk(chunk, tickets, action_id, result)
            pending, rounds = missing, rounds + 1
        for index in pending:
            result.failures.append(
                Failure(reason="Jira did not confirm this ticket was created", index=index)
            )
        result.created.sort(key=lambda item: item["index"])
        result.data = {"recovered": recovered} if recovered else None

    async def _create_chunk(
        self,
        chunk: list[int],
        tickets: Sequence[dict[str, Any]],
        action_id: str,
        result: ExecutionResult,
    ) -> list[int]:
        """POST one bulk chunk; record what it created or refused; return indexes still unknown."""
        body = {"issueUpdates": [self._with_markers(tickets[i], action_id, i) for i in chunk]}

        async def recover() -> dict[str, Any] | None:
            found = await self.find_created(action_id)
            hits = [{"key": found[i], "index": i} for i in chunk if i in found]
            return {"recovered": hits} if hits else None

        try:
            answer = await self.client.post(
                self._api("/issue/bulk"), body, recover=recover, ok_statuses=(400,)
            )
        except JiraHTTPError as exc:  # a definitive refusal of the whole chunk (401, 403, 413)
            for index in chunk:
                result.fail(exc, index=index)
            return []
        answer = answer or {}
        if "recovered" in answer:
            hits = answer["recovered"]
            result.created.extend(hits)
            done = {hit["index"] for hit in hits}
            return [i for i in chunk if i not in done]
        failed_positions: set[int] = set()
        for error in answer.get("errors") or []:
            position = error.get("failedElementNumber")
            if not isinstance(position, int) or not 0 <= position < len(chunk):
                continue
            failed_positions.add(position)
            element = error.get("elementErrors") or {}
            http_error = JiraHTTPError(
                int(error.get("status") or 400),
                method="POST",
                path=self._api("/issue/bulk"),
                error_messages=element.get("errorMessages") or [],
                errors=element.get("errors") or {},
                ticket_index=chunk[position],
            )
            result.fail(http_error, index=chunk[position])
        created = answer.get("issues") or []
        succeeded = [chunk[p] for p in range(len(chunk)) if p not in failed_positions]
        if len(created) == len(succeeded):
            # Jira lists created issues in request order, skipping the failed elements.
            for index, issue in zip(succeeded, created, strict=True):
                result.created.append({"index": index, "key": str(issue["key"])})
            return []
        if not created and not answer.get("errors"):
            # An answer we cannot map (e.g. a 400 without element errors): all refused.
            messages = answer.get("errorMessages") or ["bulk create refused"]
            for index in chunk:
                result.fail(
                    JiraHTTPError(
                        400,
                        method="POST",
                        path=self._api("/issue/bulk"),
                        error_messages=messages,
                        errors=answer.get("errors")
                        if isinstance(answer.get("errors"), dict)
                        else {},
                        ticket_index=index,
                    ),
                    index=index,
                )
            return []
        # Counts disagree: map by the ticket labels instead of by position.
        found = await self.find_created(action_id)
        for index in succeeded:
            if index in found:
                result.created.append({"index": index, "key": found[index]})
        return [i for i in succeeded if i not in found]

    async def _create_one(
        self, fields: dict[str, Any], action_id: str, result: ExecutionResult
    ) -> str | None:
        """POST /issue once per action id; the key (found again after a lost answer) or None."""
        existing = await self.find_created(action_id)
        if 0 in existing:
            result.created.append({"index": 0, "key": existing[0]})
            result.data = {"recovered": [0]}
            return existing[0]

        async def recover() -> dict[str, Any] | None:
            found = await self.find_created(action_id)
            return {"key": found[0]} if 0 in found else None

        try:
            answer = await self.client.post(
                self._api("/issue"), self._with_markers(fields, action_id, 0), recover=recover
            )
        except JiraHTTPError as exc:
            result.fail(exc, index=0)
            return None
        key = str(answer["key"])
        result.created.append({"index": 0, "key": key})
        return key

    async def _create_ticket(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        fields = self._issue_fields(
            project=details["projectKey"],
            issue_type=details["issueType"],
            summary=details["summary"],
            description=details.get("description"),
            priority=details.get("priority"),
            labels=details.get("labels", ()),
        )
        if details.get("assignee"):
            fields["assignee"] = self._user(details["assignee"])
        if details.get("parentKey"):
            fields["parent"] = {"key": details["parentKey"]}
        if "storyPoints" in details:
            fields[await self.story_points_field()] = details["storyPoints"]
        sprint = await self.sprint_id(details["sprintId"]) if "sprintId" in details else None
        key = await self._create_one(fields, action_id, result)
        if key is not None and sprint is not None:
            await self._move_keys(sprint, [key], result, touch=False)

    async def _create_tickets(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        count = int(details["issueCount"])
        given = details.get("tickets") or [
            {"summary": numbered_summary(summary, n + 1, count)} for n in range(count)
        ]
        tickets = [
            self._issue_fields(
                project=details["projectKey"],
                issue_type=ticket.get("issueType", details["issueType"]),
                summary=ticket["summary"],
                description=ticket.get("description"),
                priority=ticket.get("priority", details["priority"]),
                labels=ticket.get("labels", details.get("labels", ())),
            )
            for ticket in given[:count]
        ]
        sprint = await self.sprint_id(details["sprintId"]) if "sprintId" in details else None
        await self._create_all(tickets, action_id, result)
        if sprint is not None and result.created:
            await self._move_keys(sprint, result.created_keys, result, touch=False)

    # ------------------------------------------------------------------ per-issue updates

    async def _each(
        self,
        keys: Sequence[str],
        result: ExecutionResult,
        work: Callable[[str], Awaitable[bool]],
    ) -> None:
        """Run `work` per key; a refusal of one issue is recorded and the batch carries on.
        No usable answer is not a refusal: it ends the whole attempt as unknown."""
        for key in keys:
            try:
                if await work(key):
                    result.touch(key)
            except JiraTransportError:
                raise
            except JiraError as exc:
                result.fail(exc, key=key)

    async def _status_name(self, key: str) -> str:
        issue = await self.client.get(self._api(f"/issue/{key}"), query={"fields": "status"})
        return str(((issue or {}).get("fields") or {}).get("status", {}).get("name", ""))

    async def _transition_issues(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        # Status names are matched exactly, as the policy compared them: a case-insensitive
        # match would let "done" through a rule written for "Done".
        target = details["targetStatus"]
        already: list[str] = []

        async def transition(key: str) -> bool:
            if await self._status_name(key) == target:
                already.append(key)
                return False
            transitions = await self.get_transitions(key)
            chosen = next(
                (t for t in transitions if str(t["to"]["name"]) == target),
                None,
            )
            if chosen is None:
                raise TransitionUnavailableError(
                    key, target, [str(t["to"]["name"]) for t in transitions]
                )
            body: dict[str, Any] = {"transition": {"id": chosen["id"]}}
            if details.get("resolution"):
                body["fields"] = {"resolution": {"name": details["resolution"]}}
            if details.get("comment"):
                body["update"] = {
                    "comment": [{"add": {"body": self._rich_text(details["comment"])}}]
                }

            async def recover() -> dict[str, Any] | None:
                done = await self._status_name(key) == target
                return {} if done else None

            await self.client.post(self._api(f"/issue/{key}/transitions"), body, recover=recover)
            return True

        await self._each(details["issueKeys"], result, transition)
        result.data = {"alreadyInStatus": already} if already else None

    async def _move_keys(
        self, sprint: int, keys: Sequence[str], result: ExecutionResult, *, touch: bool = True
    ) -> None:
        for chunk in chunked(list(keys), SPRINT_MOVE_LIMIT):
            try:
                # Moving an issue into the sprint it is in changes nothing: safe to resend.
                await self.client.post(
                    self._agile(f"/sprint/{sprint}/issue"), {"issues": chunk}, idempotent=True
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

    async def _move_to_sprint(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        sprint = await self.sprint_id(details["sprintId"])
        await self._move_keys(sprint, details["issueKeys"], result)
        result.data = {"sprintId": sprint}

    async def _update_story_points(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        field = await self.story_points_field()
        points = {update["issueKey"]: update["storyPoints"] for update in details["updates"]}

        async def set_points(key: str) -> bool:
            await self.client.put(self._api(f"/issue/{key}"), {"fields": {field: points[key]}})
            return True

        await self._each(list(points), result, set_points)
        result.data = {"field": field}

    def _edit_body(self, details: Mapping[str, Any]) -> dict[str, Any]:
        given = details.get("fields") or {}
        add = list(details.get("addLabels") or ())
        remove = set(details.get("removeLabels") or ())
        fields: dict[str, Any] = {}
        for name in ("summary", "duedate"):
            if name in given:
                fields[name] = given[name]
        if "description" in given:
            fields["description"] = self._rich_text(given["description"])
        if "priority" in given:
            fields["priority"] = {"name": given["priority"]}
        body: dict[str, Any] = {}
        if "labels" in given:
            # Jira refuses a field in both `fields` and `update`: fold add/remove into the set.
            merged = [label for label in [*given["labels"], *add] if label not in remove]
            fields["labels"] = list(dict.fromkeys(merged))
        elif add or remove:
            body["update"] = {
                "labels": [{"add": label} for label in add]
                + [{"remove": label} for label in sorted(remove)]
            }
        if fields:
            body["fields"] = fields
        return body

    async def _keeping_markers(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """An edit that replaces the label set keeps the issue's marker labels: dropping them
        would let a retry of the action that created the issue create it again."""
        labels = (body.get("fields") or {}).get("labels")
        if labels is None:
            return body
        issue = await self.client.get(self._api(f"/issue/{key}"), query={"fields": "labels"})
        current = ((issue or {}).get("fields") or {}).get("labels") or []
        prefix = self.config.marker_label_prefix
        kept = [label for label in current if is_reserved_label(label, prefix)]
        if not kept:
            return body
        merged = list(dict.fromkeys([*labels, *kept]))
        return {**body, "fields": {**body["fields"], "labels": merged}}

    async def _update_fields(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        body = self._edit_body(details)

        async def edit(key: str) -> bool:
            await self.client.put(
                self._api(f"/issue/{key}"), await self._keeping_markers(key, body)
            )
            return True

        await self._each(details["issueKeys"], result, edit)

    async def _assign_issues(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        body = self._user(details["assignee"])

        async def assign(key: str) -> bool:
            await self.client.put(self._api(f"/issue/{key}/assignee"), body)
            return True

        await self._each(details["issueKeys"], result, assign)

    async def find_comment(self, key: str, action_id: str) -> str | None:
        """The id of the comment an earlier try of `action_id` posted on `key`, if any.

        Comments are read from Jira's database, not its search index, so this is
        consistent. Newest first; stops at comments older than the action; only the
        service account's comments are checked for the marker property."""
        not_before = _NOT_BEFORE.get()
        start = 0
        while True:
            page = await self.client.get(
                self._api(f"/issue/{key}/comment"),
                query={"orderBy": "-created", "startAt": start, "maxResults": COMMENT_PAGE},
            )
            comments = (page or {}).get("comments") or []
            for comment in comments:
                if not created_in_time(comment.get("created"), not_before):
                    return None
                if await self._is_ours(comment.get("author")) and await self._has_marker(
                    str(comment.get("id")), action_id
                ):
                    return str(comment.get("id"))
            start += len(comments)
            if not comments or start >= int((page or {}).get("total", 0)):
                return None

    async def _has_marker(self, comment_id: str, action_id: str) -> bool:
        try:
            prop = await self.client.get(
                self._api(f"/comment/{comment_id}/properties/{MARKER_PROPERTY}")
            )
        except JiraHTTPError as exc:
            if exc.status == 404:
                return False
            raise
        value = (prop or {}).get("value")
        return is_comment_marker(value, self.config.marker_key, action_id)

    async def _add_comment(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        key = details["issueKey"]
        # A comment has no natural key: it carries a marker property, and is looked for
        # before posting (an earlier try may have posted it) and after a lost answer.
        existing = await self.find_comment(key, action_id)
        if existing is not None:
            result.touch(key)
            result.data = {"commentId": existing, "recovered": True}
            return

        async def recover() -> dict[str, Any] | None:
            found = await self.find_comment(key, action_id)
            return {"id": found} if found is not None else None

        marker = comment_marker(self.config.marker_key, action_id)
        body = {
            "body": self._rich_text(details["body"]),
            "properties": [{"key": MARKER_PROPERTY, "value": marker}],
        }
        answer = await self.client.post(self._api(f"/issue/{key}/comment"), body, recover=recover)
        result.touch(key)
        result.data = {"commentId": str((answer or {}).get("id", ""))} if answer else None

    # ------------------------------------------------------------------ epics

    def _child_link(self, epic_key: str) -> dict[str, Any]:
        if self.config.is_cloud:
            return {"fields": {"parent": {"key": epic_key}}}
        if self.config.epic_link_field is None:
            raise JiraConfigError(
                "linking issues to an epic on Data Center needs the Epic Link field: set "
                "JIRAGATE_JIRA_EPIC_LINK_FIELD (e.g. customfield_10101)"
            )
        return {"fields": {self.config.epic_link_field: epic_key}}

    async def _adopt_children(
        self, epic_key: str, children: Sequence[str], result: ExecutionResult
    ) -> None:
        body = self._child_link(epic_key)

        async def adopt(key: str) -> bool:
            await self.client.put(self._api(f"/issue/{key}"), body)
            return True

        await self._each(children, result, adopt)

    async def _create_epic(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        children = details.get("childIssueKeys") or []
        if children:
            self._child_link("CHECK-1")  # fail on a missing DC setting before creating anything
        fields = self._issue_fields(
            project=details["projectKey"],
            issue_type="Epic",
            summary=details["summary"],
            description=details.get("description"),
            priority=details.get("priority"),
            labels=details.get("labels", ()),
        )
        epic = await self._create_one(fields, action_id, result)
        if epic is not None and children:
            await self._adopt_children(epic, children, result)

    async def _update_epic(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        epic = details["epicKey"]
        children = details.get("addChildIssueKeys") or []
        if children:
            self._child_link(epic)
        fields: dict[str, Any] = {}
        for name in ("summary", "labels"):
            if name in details:
                fields[name] = details[name]
        if "description" in details:
            fields["description"] = self._rich_text(details["description"])
        if "priority" in details:
            fields["priority"] = {"name": details["priority"]}
        if fields:

            async def edit(key: str) -> bool:
                body = await self._keeping_markers(key, {"fields": fields})
                await self.client.put(self._api(f"/issue/{key}"), body)
                return True

            await self._each([epic], result, edit)
        if children:
            await self._adopt_children(epic, children, result)

    # ------------------------------------------------------------------ releases

    async def _create_release(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        project_key = details["projectKey"]
        project = await self.client.get(self._api(f"/project/{project_key}"))
        body: dict[str, Any] = {"name": details["name"], "projectId": int(project["id"])}
        for name in ("description", "startDate", "releaseDate"):
            if name in details:
                body[name] = details[name]

        async def recover() -> dict[str, Any] | None:
            # Version names are unique per project, so the name identifies a lost create.
            versions = await self.client.get(self._api(f"/project/{project_key}/versions"))
            return next((v for v in versions or [] if v.get("name") == details["name"]), None)

        version = await self.client.post(self._api("/version"), body, recover=recover)
        result.data = {"version": _trim_version(version)}

    async def _update_release(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        body = {
            name: details[name]
            for name in ("name", "description", "startDate", "releaseDate")
            if name in details
        }
        version = await self.client.put(self._api(f"/version/{details['versionId']}"), body)
        result.data = {"version": _trim_version(version)}

    async def _release_version(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        body = {
            "released": True,
            "releaseDate": details.get("releaseDate") or date.today().isoformat(),
        }
        version = await self.client.put(self._api(f"/version/{details['versionId']}"), body)
        result.data = {"version": _trim_version(version)}

    # ------------------------------------------------------------------ destructive

    async def _delete_issues(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        query = {"deleteSubtasks": bool(details.get("deleteSubtasks", False))}

        async def delete(key: str) -> bool:
            retries_before = self.client.stats.retries
            try:
                await self.client.delete(self._api(f"/issue/{key}"), query=query)
            except JiraHTTPError as exc:
                # A 404 on a resent DELETE means the first, unanswered try did the work.
                if exc.status == 404 and self.client.stats.retries > retries_before:
                    return True
                raise
            return True

        await self._each(details["issueKeys"], result, delete)

    async def _archive_issues(
        self, details: Mapping[str, Any], result: ExecutionResult, action_id: str, summary: str
    ) -> None:
        if not self.config.is_cloud:
            raise JiraUnsupportedError(
                "Jira Data Center has no archive endpoint in REST API v2; archiving is a Jira "
                "Cloud Premium/Enterprise feature (PUT /rest/api/3/issue/archive)"
            )
        for chunk in chunked(details["issueKeys"], ARCHIVE_LIMIT):
            try:
                answer = await self.client.put(
                    self._api("/issue/archive"), {"issueIdsOrKeys": chunk}
                )
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


def _trim_version(version: Any) -> dict[str, Any] | None:
    if not isinstance(version, Mapping):
        return None
    return {
        k: version.get(k)
        for k in ("id", "name", "description", "released", "releaseDate", "startDate")
        if k in version
    }

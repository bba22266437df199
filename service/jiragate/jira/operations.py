"""The Jira adapter: runs catalog actions on Cloud (v3 + agile) and Data Center (v2 + agile).

`JiraAdapter.execute(action, details, action_id=..., summary=...)` runs one approved action
through its handler (`jiragate.jira.handlers`, one per catalog action, by topic) and returns
an `ExecutionResult`. The adapter holds what handlers share: the client, paths and shapes per
flavour, the service account, read helpers (also used by the inbox previews) and the marker
search. What it raises and what it records:

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
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from jiragate import catalog
from jiragate.catalog.site import STORY_POINT_NAMES, SiteMetadata, site_values
from jiragate.errors import (
    JiraConfigError,
    JiraError,
    JiraHTTPError,
    JiraLookupError,
    JiraTransportError,
)
from jiragate.jira import handlers
from jiragate.jira.adf import text_to_adf
from jiragate.jira.client import JiraClient, RequestHook, Sleep
from jiragate.jira.config import JiraConfig
from jiragate.jira.handlers.attachments import check_attachment
from jiragate.jira.handlers.base import NOT_BEFORE, ActionCall
from jiragate.jira.markers import (
    MARKER_PROPERTY,
    created_in_time,
    issue_marker_index,
    refuse_reserved_labels,
)
from jiragate.jira.results import ExecutionResult
from jiragate.jira.shapes import (
    DEFAULT_READ_FIELDS,
    SEARCH_PAGE,
    SPRINT_PAGE,
    numbered_summary,
    trim_issue,
)
from jiragate.jira.sitemeta import SiteMetadataCache, fetch_create_fields, fetch_project_types

__all__ = ["DEFAULT_READ_FIELDS", "JiraAdapter", "numbered_summary", "trim_issue"]

log = logging.getLogger("jiragate.jira")

#: After the site's metadata could not be read, actions go unchecked (Jira still checks them)
#: for this long before it is tried again.
SITE_RETRY_SECONDS = 30.0
_ACTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,99}")  # whole string: fullmatch


@dataclass(frozen=True, slots=True)
class StoryPointsField:
    """The story points field of one project, and how it was chosen (said in answers)."""

    id: str
    name: str
    #: "configured for the project", "configured" (jira.story_points_field) or "detected".
    how: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "how": self.how}


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
        #: The site's metadata (priorities, issue types, fields, ...), cached for metadata_ttl.
        self.site = SiteMetadataCache(self.client, config, ttl=config.metadata_ttl, clock=clock)
        self._story_points: dict[str | None, StoryPointsField] = {}
        self._clock = clock
        self._site_failed_at = float("-inf")
        self._service_account: frozenset[str] | None = None
        missing = handlers.missing_handlers()
        if missing:
            raise RuntimeError(f"catalog actions without a Jira handler: {missing}")

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
        remove a label imitating the duplicate-protection markers, or upload a file larger
        than `max_attachment_bytes` (or not base64)."""
        refuse_reserved_labels(action, details, self.config.marker_label_prefix)
        check_attachment(action, details, self.config.max_attachment_bytes)

    async def execute(
        self,
        action: str,
        details: Mapping[str, Any],
        *,
        action_id: str,
        summary: str,
        not_before: datetime | None = None,
        resumed: bool = False,
    ) -> ExecutionResult:
        """Run one (approved, effective) action once; see the module docstring for errors.

        `not_before` is when the action was recorded: issues and comments found by their
        markers must be younger (less a clock skew) to count as this action's work.
        `resumed` says an earlier attempt may have reached Jira (its outcome was unknown)."""
        catalog.validate_details(action, details)
        self.check_details(action, details)
        if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id):
            raise ValueError(
                "action_id must be 1-100 letters, digits, '_' or '-' starting with a letter or "
                f"digit (it becomes a Jira label), got {action_id!r}"
            )
        result = ExecutionResult(action=action)
        calls_before = self.client.stats.calls
        handler = handlers.handler_for(action)
        call = ActionCall(action, details, result, action_id, summary, resumed)
        bound = NOT_BEFORE.set(not_before)
        try:
            await handler(self, call)
        except (JiraHTTPError, JiraLookupError) as exc:
            result.fail(exc)
        except JiraTransportError as exc:
            result.calls = self.client.stats.calls - calls_before
            exc.result = result
            raise
        finally:
            NOT_BEFORE.reset(bound)
        result.calls = self.client.stats.calls - calls_before
        return result

    # ------------------------------------------------------------------ paths and shapes

    def api(self, suffix: str) -> str:
        return f"{self.config.api_prefix}{suffix}"

    def agile(self, suffix: str) -> str:
        return f"{self.config.agile_prefix}{suffix}"

    def rich_text(self, text: str) -> Any:
        """ADF on Cloud (v3), plain text on Data Center (v2)."""
        return text_to_adf(text) if self.config.is_cloud else text

    def user_ref(self, who: str | None) -> dict[str, Any]:
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
            me = await self.client.get(self.api("/myself")) or {}
            names = {str(me[k]) for k in ("accountId", "name", "key") if me.get(k)}
            if not names:
                raise JiraLookupError("GET /myself did not say who the service account is")
            self._service_account = frozenset(names)
        return self._service_account

    async def is_ours(self, user: object) -> bool:
        if not isinstance(user, Mapping):
            return False
        ids = {str(user[k]) for k in ("accountId", "name", "key") if user.get(k)}
        return bool(ids & await self.service_account())

    # ------------------------------------------------------------------ read helpers

    async def get_issue(self, key: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        issue = await self.client.get(
            self.api(f"/issue/{key}"), query={"fields": list(fields or DEFAULT_READ_FIELDS)}
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

    async def get_sprint_state(self, sprint_id: int) -> str | None:
        """A sprint's state (future, active, closed), or None when Jira has no such sprint."""
        try:
            sprint = await self.client.get(self.agile(f"/sprint/{sprint_id}"))
        except JiraHTTPError as exc:
            if exc.status != 404:
                raise
            return None
        return str((sprint or {}).get("state") or "") or None

    async def get_version_state(self, version_id: str) -> dict[str, Any] | None:
        """A version's `released` and `archived` flags, or None when Jira has no such version."""
        try:
            version = await self.client.get(self.api(f"/version/{version_id}"))
        except JiraHTTPError as exc:
            if exc.status != 404:
                raise
            return None
        return {k: bool((version or {}).get(k, False)) for k in ("released", "archived")}

    async def attribute(
        self, keys: Sequence[str], *, mode: str, facts: Mapping[str, Any]
    ) -> list[str]:
        """Say on each issue who changed it: a comment, or the `jiragate.attribution` issue
        property (`facts`: agent, approvers, action id). Returns the keys that could not be
        attributed (an issue deleted by the action, say): attribution never fails a write."""
        missed: list[str] = []
        approvers = ", ".join(facts.get("approvers") or []) or "nobody (allowed by policy)"
        text = (
            f"Changed by agent {facts['agent']} through Jiragate (action {facts['action_id']}), "
            f"approved by {approvers}."
        )
        for key in keys:
            try:
                if mode == "property":
                    await self.client.put(
                        self.api(f"/issue/{key}/properties/jiragate.attribution"), dict(facts)
                    )
                else:
                    await self.client.post(
                        self.api(f"/issue/{key}/comment"), {"body": self.rich_text(text)}
                    )
            except JiraError:
                missed.append(key)
        return missed

    async def get_user(self, who: str) -> dict[str, Any] | None:
        """A user by accountId (Cloud) or user name (Data Center), for reviewers' previews:
        `{accountId?, name?, displayName, active}`, or None when Jira has no such user."""
        query = {"username": who} if self.config.flavour == "datacenter" else {"accountId": who}
        try:
            user = await self.client.get(self.api("/user"), query=query)
        except JiraHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        keys = ("accountId", "name", "displayName", "active")
        return {k: user[k] for k in keys if isinstance(user, Mapping) and k in user}

    async def get_transitions(self, key: str, *, screens: bool = False) -> list[dict[str, Any]]:
        """The transitions Jira offers from `key`'s status; with `screens`, each one's
        `hasScreen` and screen `fields` (`expand=transitions.fields`): `{id: {name,
        required, hasDefaultValue, allowedValues: [names]}}`."""
        query = {"expand": "transitions.fields"} if screens else None
        answer = await self.client.get(self.api(f"/issue/{key}/transitions"), query=query)
        listed = []
        for t in (answer or {}).get("transitions", []):
            item: dict[str, Any] = {
                "id": str(t.get("id")),
                "name": t.get("name"),
                "to": {
                    "id": (t.get("to") or {}).get("id"),
                    "name": (t.get("to") or {}).get("name"),
                },
            }
            if screens:
                item["hasScreen"] = bool(t.get("hasScreen", False))
                item["fields"] = {
                    str(ident): {
                        "name": str(meta.get("name", ident)),
                        "required": bool(meta.get("required", False)),
                        "hasDefaultValue": bool(meta.get("hasDefaultValue", False)),
                        "allowedValues": [
                            str(v.get("name", v.get("value", "")))
                            for v in meta.get("allowedValues") or []
                            if isinstance(v, Mapping)
                        ],
                    }
                    for ident, meta in (t.get("fields") or {}).items()
                    if isinstance(meta, Mapping)
                }
            listed.append(item)
        return listed

    async def list_sprints(
        self, board_id: int | None = None, *, state: str | None = None
    ) -> list[dict[str, Any]]:
        board = board_id or self.config.board_id
        if board is None:
            raise JiraConfigError(
                "no board to list sprints from: pass board_id or set jira.board_id "
                "(JIRAGATE_JIRA__BOARD_ID)"
            )
        sprints: list[dict[str, Any]] = []
        start = 0
        while True:
            page = await self.client.get(
                self.agile(f"/board/{board}/sprint"),
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
                    self.api("/search/jql"),
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
                    self.api("/search"),
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

    async def story_points_field(self, project: str | None = None) -> str:
        """The id of `project`'s story points field (see `story_points`)."""
        return (await self.story_points(project)).id

    async def story_points(self, project: str | None = None) -> StoryPointsField:
        """`project`'s story points field: configured for the project
        (jira.story_points_fields), configured for all (jira.story_points_field), else
        detected from the project's create screen by name ("Story Points", "Story points",
        "Story point estimate"); several there is an error naming them and the setting."""
        if project in self._story_points:
            return self._story_points[project]
        configured = self.config.story_points_fields.get(project or "")
        how = "configured for the project"
        if configured is None and self.config.story_points_field:
            configured, how = self.config.story_points_field, "configured"
        site = await self.site.get()
        if configured is not None:
            known = site.field_by_id(configured)
            chosen = StoryPointsField(configured, known.name if known else configured, how)
        else:
            chosen = await self._detect_story_points(project, site)
        self._story_points[project] = chosen
        return chosen

    async def _detect_story_points(
        self, project: str | None, site: SiteMetadata
    ) -> StoryPointsField:
        wanted = {name.casefold() for name in STORY_POINT_NAMES}
        candidates: dict[str, str] = {}
        where = "this Jira"
        if project is not None:
            types = await fetch_project_types(self.client, self.config, project)
            usable = [t for t in types if not t["subtask"]]
            usable.sort(key=lambda t: t["name"] != "Story")  # a Story's screen first
            if usable:
                screen = await fetch_create_fields(
                    self.client, self.config, project, usable[0]["id"]
                )
                candidates = {f["id"]: f["name"] for f in screen if f["name"].casefold() in wanted}
                where = f"project {project}'s {usable[0]['name']} screen"
        if not candidates:
            candidates = {f.id: f.name for f in site.fields if f.name.casefold() in wanted}
            where = "this Jira's fields"
        setting = (
            f"jira.story_points_fields.{project} (JIRAGATE_JIRA__STORY_POINTS_FIELDS__{project})"
            if project
            else "jira.story_points_field (JIRAGATE_JIRA__STORY_POINTS_FIELD)"
        )
        if not candidates:
            raise JiraLookupError(
                f"no story points field ({', '.join(map(repr, STORY_POINT_NAMES))}) on {where}; "
                f"set {setting} to its custom field id (e.g. customfield_10016)"
            )
        if len(candidates) > 1:
            named = ", ".join(f"{name!r} ({ident})" for ident, name in sorted(candidates.items()))
            raise JiraLookupError(
                f"{len(candidates)} story points fields on {where}: {named}; which one holds "
                f"the estimate is the site's choice: set {setting} to one of them"
            )
        ((ident, name),) = candidates.items()
        return StoryPointsField(ident, name, "detected")

    async def rank_field(self) -> int | None:
        """The site's default rank field (its numeric id), None when it has no single one."""
        from jiragate.jira.handlers.custom_fields import default_rank_field

        return await default_rank_field(self)

    async def field_named(self, name: str) -> str | None:
        """The id of the site's one custom field called `name` (Epic Name, Epic Link)."""
        site = await self.site.get()
        found = [f for f in site.fields_named(name) if f.custom]
        return found[0].id if len(found) == 1 else None

    async def check_site(self, action: str, details: Mapping[str, Any]) -> SiteMetadata | None:
        """Refuse a value the site does not have (priority, issue type, status, resolution,
        custom field), listing the site's valid ones; None when the action has no such value
        (nothing is fetched). Unreadable metadata is not a refusal: Jira checks again."""
        if not any(True for _ in site_values(catalog.get_spec(action), details)):
            return None
        if self.site.cached is None and self._clock() - self._site_failed_at < SITE_RETRY_SECONDS:
            return None  # it just failed: do not make every action wait for a Jira that is down
        try:
            return await self.site.check(action, details, catalog.project_of(details))
        except JiraError as exc:
            self._site_failed_at = self._clock()
            log.warning("%s: the site's metadata could not be read (%s); not checked", action, exc)
            return None

    async def sprint_id(self, ref: int | str) -> int:
        """A sprint id from an id or a name (looked up on the configured board)."""
        if isinstance(ref, int):
            return ref
        # A string is always a name (the schema refuses all-digit names: an id is sent as a
        # number), matched exactly: a case-insensitive match would run "SPRINT_42" where
        # a policy on "sprint_42" saw another value.
        if self.config.board_id is None:
            raise JiraConfigError(
                f"sprint {ref!r} is a name; resolving it needs a board: set jira.board_id "
                "(JIRAGATE_JIRA__BOARD_ID)"
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
        if index is None or not created_in_time(fields.get("created"), NOT_BEFORE.get()):
            return None
        return index if await self.is_ours(fields.get("creator")) else None

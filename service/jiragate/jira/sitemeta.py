"""The site's metadata, fetched through the adapter's client and cached with a TTL.

`SiteMetadataCache.get()` answers from the cache while it is younger than `metadata_ttl`
(default 10 min) and fetches otherwise; `check()` validates an action's details against it
and, when a value is unknown, refreshes once before refusing (an issue type added a minute ago
is not refused for ten). Per-project issue types come from createmeta, fetched the first time
a project is asked about. The data and the checks are pure (jiragate.catalog.site); only the
fetching lives here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from jiragate.catalog.site import FieldInfo, SiteMetadata, site_violations
from jiragate.errors import InvalidDetailsError, JiraHTTPError

if TYPE_CHECKING:
    from jiragate.jira.client import JiraClient
    from jiragate.jira.config import JiraConfig


def _names(answer: object) -> tuple[str, ...]:
    items = answer if isinstance(answer, list) else []
    return tuple(
        dict.fromkeys(str(i["name"]) for i in items if isinstance(i, Mapping) and i.get("name"))
    )


def _listed(answer: object, *keys: str) -> list[Any]:
    """The list in a paged answer (Cloud and Data Center name it differently)."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, Mapping):
        for key in keys:
            if isinstance(answer.get(key), list):
                return list(answer[key])
    return []


async def fetch_site(client: JiraClient, config: JiraConfig) -> SiteMetadata:
    """Everything site-wide: priorities, statuses, resolutions, issue types, fields, links."""
    api = config.api_prefix
    priorities = await client.get(f"{api}/priority")
    statuses = await client.get(f"{api}/status")
    resolutions = await client.get(f"{api}/resolution")
    types = await client.get(f"{api}/issuetype")
    fields = await client.get(f"{api}/field")
    links = await client.get(f"{api}/issueLinkType")
    type_list = [t for t in _listed(types) if isinstance(t, Mapping) and t.get("name")]
    return SiteMetadata(
        flavour=config.flavour,
        priorities=_names(priorities),
        statuses=_names(statuses),
        resolutions=_names(resolutions),
        issue_types=tuple(dict.fromkeys(str(t["name"]) for t in type_list)),
        subtask_types=tuple(dict.fromkeys(str(t["name"]) for t in type_list if t.get("subtask"))),
        fields=tuple(
            _field(f)
            for f in _listed(fields)
            if isinstance(f, Mapping) and f.get("id") and f.get("name")
        ),
        # A malformed answer reads as "none": metadata never fails a submission.
        link_types=_names(links.get("issueLinkTypes") if isinstance(links, Mapping) else None),
    )


def _field(answer: Mapping[str, Any]) -> FieldInfo:
    """One `GET /field` entry; a schema part of the wrong type reads as absent."""
    schema = answer.get("schema")
    schema = schema if isinstance(schema, Mapping) else {}
    kind, custom_type, custom_id = schema.get("type"), schema.get("custom"), schema.get("customId")
    return FieldInfo(
        str(answer["id"]),
        str(answer["name"]),
        bool(answer.get("custom", False)),
        kind if isinstance(kind, str) else None,
        custom_type if isinstance(custom_type, str) else None,
        custom_id if isinstance(custom_id, int) and not isinstance(custom_id, bool) else None,
    )


async def fetch_project_types(
    client: JiraClient, config: JiraConfig, project: str
) -> list[dict[str, Any]]:
    """The issue types one can create in `project` (createmeta), `[{id, name, subtask}]`."""
    answer = await client.get(
        f"{config.api_prefix}/issue/createmeta/{project}/issuetypes", query={"maxResults": 100}
    )
    return [
        {"id": str(t.get("id")), "name": str(t["name"]), "subtask": bool(t.get("subtask"))}
        for t in _listed(answer, "issueTypes", "values")
        if isinstance(t, Mapping) and t.get("name")
    ]


async def fetch_create_fields(
    client: JiraClient, config: JiraConfig, project: str, type_id: str
) -> list[dict[str, Any]]:
    """The fields on the create screen of one issue type in `project` (createmeta)."""
    answer = await client.get(
        f"{config.api_prefix}/issue/createmeta/{project}/issuetypes/{type_id}",
        query={"maxResults": 200},
    )
    return [
        {"id": str(f.get("fieldId") or f.get("key")), "name": str(f.get("name", "")), **f}
        for f in _listed(answer, "fields", "values")
        if isinstance(f, Mapping) and (f.get("fieldId") or f.get("key"))
    ]


async def snapshot_site(client: JiraClient, config: JiraConfig) -> SiteMetadata:
    """The whole site, every project's issue types included (`jiragate jira snapshot`)."""
    site = await fetch_site(client, config)
    projects = await client.get(f"{config.api_prefix}/project")
    per_project: dict[str, tuple[str, ...]] = {}
    for project in projects if isinstance(projects, list) else []:
        key = project.get("key") if isinstance(project, Mapping) else None
        if isinstance(key, str):
            types = await fetch_project_types(client, config, key)
            per_project[key] = tuple(t["name"] for t in types)
    return dataclasses.replace(site, project_issue_types=per_project)


class SiteMetadataCache:
    """One adapter's view of its site, refreshed after `ttl` seconds or once on a miss."""

    def __init__(
        self,
        client: JiraClient,
        config: JiraConfig,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._config = config
        self._ttl = ttl
        self._clock = clock
        self._site: SiteMetadata | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how often the site was read (tests and the bench look)

    @property
    def cached(self) -> SiteMetadata | None:
        """The metadata if fresh, without fetching (for synchronous dry runs)."""
        if self._site is not None and self._clock() - self._fetched_at < self._ttl:
            return self._site
        return None

    async def get(self, projects: Iterable[str] = (), *, refresh: bool = False) -> SiteMetadata:
        async with self._lock:
            site = None if refresh else self.cached
            if site is None:
                site = await fetch_site(self._client, self._config)
                self.fetches += 1
                self._fetched_at = self._clock()
            missing = [p for p in projects if p not in site.project_issue_types]
            if missing:
                per_project = dict(site.project_issue_types)
                for project in missing:
                    try:
                        types = await fetch_project_types(self._client, self._config, project)
                    except JiraHTTPError as exc:
                        if exc.status not in (400, 404):
                            raise
                        continue  # no such project: Jira refuses the action itself
                    per_project[project] = tuple(t["name"] for t in types)
                site = dataclasses.replace(site, project_issue_types=per_project)
            self._site = site
            return site

    async def check(
        self, action: str, details: Mapping[str, Any], project: str | None
    ) -> SiteMetadata:
        """Refuse (InvalidDetailsError, listing the site's valid values) a value the site does
        not have; a miss refreshes the metadata once before it is refused."""
        projects = [project] if project else []
        fresh = self.cached is None
        site = await self.get(projects)
        violations = site_violations(action, details, site)
        if violations and not fresh:
            site = await self.get(projects, refresh=True)
            violations = site_violations(action, details, site)
        if violations:
            raise InvalidDetailsError(action, violations)
        return site


__all__ = [
    "SiteMetadataCache",
    "fetch_create_fields",
    "fetch_project_types",
    "fetch_site",
    "snapshot_site",
]

"""Jira lookups: the read-only questions the inbox (previews) and the proxy ask the site, and
a request checked against the site's metadata (live for submit, cached for the dry run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from jiragate.catalog import ActionRequest
from jiragate.catalog.rest import attachment_id, owned_ids, parse_rest_path, project_of_path
from jiragate.catalog.site import SiteMetadata, site_violations, with_named_custom_fields
from jiragate.errors import DetailsViolation, InvalidDetailsError
from jiragate.gateway.state import GatewayState
from jiragate.jira.owners import Kind as OwnedKind
from jiragate.jira.owners import Located, locate

#: The generic actions (catalog/rest_actions.py): any Jira REST call, by method and path.
_GENERIC_ACTIONS = frozenset({"jira_rest_read", "jira_rest_write"})


class SiteLookupsMixin(GatewayState):
    """What the Jira site says: fields, issues, users, types, transitions, sprints."""

    async def story_points_field(self, project: str | None = None) -> str:
        return await self._adapter.story_points_field(project)

    async def custom_field_named(self, name: str) -> str | None:
        """The id of the site's one custom field called `name` (Epic Name), else None."""
        return await self._adapter.field_named(name)

    async def rank_field(self) -> int | None:
        """The site's default rank field (numeric id), which `PUT /issue/rank` may name."""
        return await self._adapter.rank_field()

    async def get_issues(
        self, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any] | None]:
        return await self._adapter.get_issues(keys, fields)

    async def get_user(self, name: str) -> dict[str, Any] | None:
        return await self._adapter.get_user(name)

    async def issue_type_names(self) -> dict[str, str]:
        """The site's issue types, id -> name (`GET /issuetype`): the proxy names the type of
        a bulk move, which Jira's body gives by id, as jira_move_issue does (by name)."""
        answer = await self._adapter.client.get(self._adapter.api("/issuetype"))
        return {
            str(item["id"]): str(item.get("name") or "")
            for item in answer or []
            if isinstance(item, dict) and "id" in item
        }

    async def get_transitions(self, issue_key: str) -> list[dict[str, Any]]:
        return await self._adapter.get_transitions(issue_key)

    async def list_sprints(self, board_id: int | None = None) -> list[dict[str, Any]]:
        return await self._adapter.list_sprints(board_id)

    async def locate(self, kind: OwnedKind, ident: str) -> Located | None:
        """The project Jira places a version, component, sprint or board in (None: Jira has
        no such object); for an edge that must name the action a bare id stands for."""
        return await locate(self._adapter, kind, ident)

    async def _on_site(self, request: ActionRequest) -> ActionRequest:
        """The request checked against the Jira site's metadata (fetched when stale; an
        unknown value refreshes it once): InvalidDetailsError lists the site's valid values.
        Custom fields are keyed by name from here on, as policies match them."""
        site = await self._adapter.check_site(request.action, request.details)
        return await self._scoped_by_jira(_named(request, site))

    async def _scoped_by_jira(self, request: ActionRequest) -> ActionRequest:
        """A generic action whose path names its project only by ids (a version, a service
        desk, an issue … by number: catalog/rest.owned_ids) is scoped by the project Jira
        places them in, so a rule on that project holds for it as for the mapped actions. A
        `projectKey` claimed otherwise is refused; an id Jira does not know leaves the action
        without a project (Jira answers it with its 404). A failed lookup raises: fail closed."""
        if request.action not in _GENERIC_ACTIONS:
            return request
        parsed = parse_rest_path(str(request.details.get("path")))  # validated by the catalog
        ids = owned_ids(parsed)
        named = project_of_path(parsed)
        attachment = attachment_id(parsed)
        if (named is not None and attachment is None) or not ids:
            return request
        found: dict[str | None, tuple[str, str]] = {}
        if named is not None:  # with an attachment: both must be in one project
            found[named] = ("path", parsed.path)
        for kind, ident in ids:
            if kind == "attachment":
                # Never unscoped: one Jiragate cannot place is refused (fail closed).
                project: str | None = await self._attachment_project(
                    request.action, ident, parsed.version
                )
            else:
                located = await self.locate(cast(OwnedKind, kind), ident)
                project = located.project_key if located else None
            found.setdefault(project, (kind, ident))
        if len(found) > 1:
            spans = ", ".join(f"{k} {i} is in {p or 'no project'}" for p, (k, i) in found.items())
            raise InvalidDetailsError(
                request.action,
                [DetailsViolation("/path", "rest-project", f"the path spans projects: {spans}")],
            )
        project, (kind, ident) = next(iter(found.items()))
        claimed = request.details.get("projectKey")
        if claimed is not None and claimed != project:
            raise InvalidDetailsError(
                request.action,
                [
                    DetailsViolation(
                        "/projectKey",
                        "rest-project",
                        f"{kind} {ident} is in project {project!r}, not {claimed!r}"
                        if project
                        else f"Jira places {kind} {ident} in no project",
                    )
                ],
            )
        details = {name: value for name, value in request.details.items() if name != "projectKey"}
        if project is not None:
            details["projectKey"] = project
        return dataclasses.replace(request, details=details)

    def _on_cached_site(self, request: ActionRequest) -> ActionRequest:
        """The same check for the synchronous dry run, against the cached metadata only."""
        site = self._adapter.site.cached
        if site is None:
            return request
        violations = site_violations(request.action, request.details, site)
        if violations:
            raise InvalidDetailsError(request.action, violations)
        return _named(request, site)


def _named(request: ActionRequest, site: SiteMetadata | None) -> ActionRequest:
    if site is None:
        return request
    named = with_named_custom_fields(request.details, site)
    return request if named == request.details else dataclasses.replace(request, details=named)

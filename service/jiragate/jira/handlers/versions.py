"""Versions (releases): creating one (found again by its unique name, after a lost answer and
when an attempt resumes one whose outcome was unknown), updating, releasing.

Updating and releasing check first that the version is in the action's project: policies and
reviewers see `projectKey`, but only Jira knows which project `versionId` is in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraLookupError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.shapes import trim_version

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_create_release")
async def create_release(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project_key = details["projectKey"]
    project = await jira.client.get(jira.api(f"/project/{project_key}"))
    body: dict[str, Any] = {"name": details["name"], "projectId": int(project["id"])}
    for name in ("description", "startDate", "releaseDate"):
        if name in details:
            body[name] = details[name]

    async def recover() -> dict[str, Any] | None:
        # Version names are unique per project, so the name identifies a lost create.
        versions = await jira.client.get(jira.api(f"/project/{project_key}/versions"))
        return next((v for v in versions or [] if v.get("name") == details["name"]), None)

    if call.resumed:
        # An earlier attempt's answer was lost, so it may have created the version; Jira
        # would now refuse the name as taken and the action would end failed for work done.
        earlier = await recover()
        if earlier is not None:
            call.result.data = {"version": trim_version(earlier), "createdByEarlierAttempt": True}
            return
    version = await jira.client.post(jira.api("/version"), body, recover=recover)
    call.result.data = {"version": trim_version(version)}


@handles("jira_update_release")
async def update_release(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    body = {
        name: details[name]
        for name in ("name", "description", "startDate", "releaseDate")
        if name in details
    }
    await _check_version_project(jira, details)
    version = await jira.client.put(jira.api(f"/version/{details['versionId']}"), body)
    call.result.data = {"version": trim_version(version)}


@handles("jira_release_version")
async def release_version(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    body = {
        "released": True,
        "releaseDate": details.get("releaseDate") or date.today().isoformat(),
    }
    await _check_version_project(jira, details)
    version = await jira.client.put(jira.api(f"/version/{details['versionId']}"), body)
    call.result.data = {"version": trim_version(version)}


async def _check_version_project(jira: JiraAdapter, details: Mapping[str, Any]) -> None:
    """Refuse a version of another project before changing it: without this an action "about
    ENG" could rename or release a version of a project a rule denies."""
    project_key = details["projectKey"]
    project = await jira.client.get(jira.api(f"/project/{project_key}"))
    version = await jira.client.get(jira.api(f"/version/{details['versionId']}"))
    owner = (version or {}).get("projectId")
    if str(owner) != str((project or {}).get("id")):
        raise JiraLookupError(
            f"version {details['versionId']} is not in project {project_key} (it belongs "
            f"to project id {owner}); an action changes only its own project's versions"
        )

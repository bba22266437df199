"""Versions (releases): creating one (found again by its unique name), updating, releasing."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

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
    version = await jira.client.put(jira.api(f"/version/{details['versionId']}"), body)
    call.result.data = {"version": trim_version(version)}


@handles("jira_release_version")
async def release_version(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    body = {
        "released": True,
        "releaseDate": details.get("releaseDate") or date.today().isoformat(),
    }
    version = await jira.client.put(jira.api(f"/version/{details['versionId']}"), body)
    call.result.data = {"version": trim_version(version)}

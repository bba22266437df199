"""Project administration: releases in batches, archiving, merging and deleting versions,
and components (create, update, delete).

Project scope: policies and reviewers see `projectKey`, but a version or component id is a
bare number only Jira can place. Before any write the adapter reads every id the action names
(the version, the version its issues move to, the component and the one its issues get) and
refuses one of another project (JiraLookupError, nothing written).

Lost answers: versions and components are created under names unique in their project, so a
lost create is found again by its name (`GET /project/{key}/versions`, `.../components`); a
DELETE (or merge, which deletes) answered 404 after a resend counts as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError, JiraLookupError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.shapes import trim_version

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def _project_id(jira: JiraAdapter, key: str) -> str:
    project = await jira.client.get(jira.api(f"/project/{key}")) or {}
    return str(project.get("id"))


async def version_in_project(
    jira: JiraAdapter, project_key: str, version_id: object, project_id: str | None = None
) -> dict[str, Any]:
    """Jira's answer for the version, refused unless it is in `project_key`."""
    project_id = project_id or await _project_id(jira, project_key)
    version = await jira.client.get(jira.api(f"/version/{version_id}")) or {}
    owner = version.get("projectId")
    if str(owner) != project_id:
        raise JiraLookupError(
            f"version {version_id} is not in project {project_key} (it belongs to project "
            f"id {owner}); an action changes only its own project's versions"
        )
    return dict(version)


async def component_in_project(
    jira: JiraAdapter, project_key: str, component_id: object
) -> dict[str, Any]:
    """Jira's answer for the component, refused unless it is in `project_key`."""
    component = await jira.client.get(jira.api(f"/component/{component_id}")) or {}
    owner = component.get("project")
    if owner != project_key:
        raise JiraLookupError(
            f"component {component_id} is not in project {project_key} (it belongs to "
            f"project {owner or 'unknown'}); an action changes only its own project's "
            "components"
        )
    return dict(component)


async def _delete(jira: JiraAdapter, method: str, path: str, **query: Any) -> None:
    """A DELETE-like call; a 404 on a resend means the first, unanswered try did the work."""
    retries_before = jira.client.stats.retries
    try:
        await jira.client.request(method, path, query=query or None)
    except JiraHTTPError as exc:
        if not (exc.status == 404 and jira.client.stats.retries > retries_before):
            raise


# --------------------------------------------------------------------------- versions


@handles("jira_create_releases")
async def create_releases(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    project_key = details["projectKey"]
    project_id = await _project_id(jira, project_key)
    listing = jira.api(f"/project/{project_key}/versions")

    async def named(name: str) -> dict[str, Any] | None:
        versions = await jira.client.get(listing)
        return next((v for v in versions or [] if v.get("name") == name), None)

    existing = {str(v.get("name")).casefold(): v for v in await jira.client.get(listing) or []}
    created: list[dict[str, Any] | None] = []
    for index, item in enumerate(details["versions"]):
        name = item["name"]
        if name.casefold() in existing:
            # Not created twice: the name is taken (by someone, or by an earlier try).
            found = existing[name.casefold()]
            result.fail(
                JiraLookupError(
                    f"version {name!r} already exists in {project_key} (id {found.get('id')}); "
                    "not created again"
                ),
                index=index,
            )
            created.append(None)
            continue
        body: dict[str, Any] = {"name": name, "projectId": int(project_id)}
        body.update({k: item[k] for k in ("description", "startDate", "releaseDate") if k in item})

        async def recover(name: str = name) -> dict[str, Any] | None:
            return await named(name)

        try:
            version = await jira.client.post(jira.api("/version"), body, recover=recover)
        except JiraHTTPError as exc:
            result.fail(exc, index=index)
            created.append(None)
            continue
        result.created.append({"index": index, "key": str(version.get("id"))})
        created.append(trim_version(version))
    result.data = {"versions": created}


@handles("jira_archive_version")
async def archive_version(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    await version_in_project(jira, details["projectKey"], details["versionId"])
    version = await jira.client.put(
        jira.api(f"/version/{details['versionId']}"), {"archived": True}
    )
    call.result.data = {"version": {**(trim_version(version) or {}), "archived": True}}


@handles("jira_merge_versions")
async def merge_versions(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project_key = details["projectKey"]
    project_id = await _project_id(jira, project_key)
    await version_in_project(jira, project_key, details["versionId"], project_id)
    target = await version_in_project(jira, project_key, details["targetVersionId"], project_id)
    await _delete(jira, "PUT", jira.api(f"/version/{details['versionId']}/mergeto/{target['id']}"))
    call.result.data = {"mergedInto": trim_version(target), "deleted": str(details["versionId"])}


@handles("jira_delete_version")
async def delete_version(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project_key = details["projectKey"]
    project_id = await _project_id(jira, project_key)
    version = await version_in_project(jira, project_key, details["versionId"], project_id)
    query = {}
    for name in ("moveFixIssuesTo", "moveAffectedIssuesTo"):
        if name in details:
            await version_in_project(jira, project_key, details[name], project_id)
            query[name] = str(details[name])
    await _delete(jira, "DELETE", jira.api(f"/version/{details['versionId']}"), **query)
    call.result.data = {"version": trim_version(version), "deleted": True, **query}


# --------------------------------------------------------------------------- components


def trim_component(component: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(component, Mapping):
        return None
    out = {
        k: component[k]
        for k in ("id", "name", "description", "project", "assigneeType")
        if k in component
    }
    lead = component.get("lead")
    if isinstance(lead, Mapping):
        out["lead"] = {k: lead[k] for k in ("accountId", "name", "displayName") if k in lead}
    return out


def _component_body(jira: JiraAdapter, details: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: details[k] for k in ("name", "description", "assigneeType") if k in details}
    if "lead" in details:
        # Cloud names users by accountId only; Data Center by user name.
        body["leadAccountId" if jira.config.is_cloud else "leadUserName"] = details["lead"]
    return body


@handles("jira_create_component")
async def create_component(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project_key = details["projectKey"]
    body = {"project": project_key, **_component_body(jira, details)}

    async def recover() -> dict[str, Any] | None:
        # Component names are unique in a project (case-insensitively).
        components = await jira.client.get(jira.api(f"/project/{project_key}/components"))
        wanted = details["name"].strip().casefold()
        return next((c for c in components or [] if str(c.get("name")).casefold() == wanted), None)

    component = await jira.client.post(jira.api("/component"), body, recover=recover)
    call.result.data = {"component": trim_component(component)}


@handles("jira_update_component")
async def update_component(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    await component_in_project(jira, details["projectKey"], details["componentId"])
    component = await jira.client.put(
        jira.api(f"/component/{details['componentId']}"), _component_body(jira, details)
    )
    call.result.data = {"component": trim_component(component)}


@handles("jira_delete_component")
async def delete_component(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project_key = details["projectKey"]
    component = await component_in_project(jira, project_key, details["componentId"])
    query = {}
    if "moveIssuesTo" in details:
        await component_in_project(jira, project_key, details["moveIssuesTo"])
        query["moveIssuesTo"] = str(details["moveIssuesTo"])
    await _delete(jira, "DELETE", jira.api(f"/component/{details['componentId']}"), **query)
    call.result.data = {"component": trim_component(component), "deleted": True, **query}

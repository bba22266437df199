"""Epics: creating one with its children, updating one, linking children (parent on Cloud,
the Epic Link field on Data Center)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraConfigError, JiraLookupError
from jiragate.jira.handlers.base import ActionCall, each, edited_fields, handles
from jiragate.jira.handlers.creating import create_one, issue_fields, keeping_markers
from jiragate.jira.results import ExecutionResult

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def epic_link(jira: JiraAdapter, epic_key: str) -> dict[str, Any]:
    """The `fields` that put an issue under an epic: `parent` on Cloud, the Epic Link field
    on Data Center (jira.epic_link_field, else the site's custom field named "Epic Link")."""
    if jira.config.is_cloud:
        return {"parent": {"key": epic_key}}
    field = jira.config.epic_link_field or await jira.field_named("Epic Link")
    if field is None:
        raise JiraConfigError(
            "linking issues to an epic on Data Center needs the Epic Link field, and this "
            "site has no single custom field named 'Epic Link': set jira.epic_link_field "
            "(JIRAGATE_JIRA__EPIC_LINK_FIELD) (e.g. customfield_10101)"
        )
    return {field: epic_key}


async def epic_name_field(jira: JiraAdapter) -> str:
    """The id of the site's Epic Name field (Data Center's, and older Cloud sites'), found by
    name; refused before anything is sent on a site without one (Cloud's team-managed and
    migrated company-managed epics are named by their summary)."""
    field = await jira.field_named("Epic Name")
    if field is None:
        raise JiraLookupError(
            "this site has no single custom field named 'Epic Name' (an epic there is named "
            "by its summary): leave epicName out"
        )
    return field


async def child_link(jira: JiraAdapter, epic_key: str) -> dict[str, Any]:
    return {"fields": await epic_link(jira, epic_key)}


async def adopt_children(
    jira: JiraAdapter, epic_key: str, children: Sequence[str], result: ExecutionResult
) -> None:
    body = await child_link(jira, epic_key)

    async def adopt(key: str) -> bool:
        await jira.client.put(jira.api(f"/issue/{key}"), body)
        return True

    await each(children, result, adopt)


@handles("jira_create_epic")
async def create_epic(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    children = details.get("childIssueKeys") or []
    if children:
        await child_link(jira, "CHECK-1")  # fail on a missing DC field before creating anything
    fields = issue_fields(
        jira,
        project=details["projectKey"],
        issue_type="Epic",
        summary=details["summary"],
        description=details.get("description"),
        priority=details.get("priority"),
        labels=details.get("labels", ()),
    )
    if not jira.config.is_cloud:
        # Data Center epics carry an Epic Name (required on most sites); Cloud has none.
        name_field = await jira.field_named("Epic Name")
        if name_field is not None:
            fields[name_field] = details.get("epicName") or details["summary"]
    epic = await create_one(jira, fields, call.action_id, result)
    if epic is not None and children:
        await adopt_children(jira, epic, children, result)


@handles("jira_update_epic")
async def update_epic(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    epic = details["epicKey"]
    children = details.get("addChildIssueKeys") or []
    if children:
        await child_link(jira, epic)
    fields = edited_fields(jira, details, ("summary", "labels"))
    if "epicName" in details:
        fields[await epic_name_field(jira)] = details["epicName"]
    if fields:

        async def edit(key: str) -> bool:
            body = await keeping_markers(jira, key, {"fields": fields})
            await jira.client.put(jira.api(f"/issue/{key}"), body)
            return True

        await each([epic], result, edit)
    if children:
        await adopt_children(jira, epic, children, result)

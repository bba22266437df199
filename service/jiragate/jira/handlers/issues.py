"""Issues: creating one or many, editing fields (custom ones by id or name:
custom_fields.py), assigning, story points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.jira.handlers.base import ActionCall, each, edited_fields, handles
from jiragate.jira.handlers.creating import create_all, create_one, issue_fields, keeping_markers
from jiragate.jira.handlers.custom_fields import resolve_custom_fields
from jiragate.jira.handlers.epics import epic_link
from jiragate.jira.handlers.sprints import move_keys, sprint_in_project
from jiragate.jira.shapes import numbered_summary

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


@handles("jira_create_ticket")
async def create_ticket(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    fields = issue_fields(
        jira,
        project=details["projectKey"],
        issue_type=details["issueType"],
        summary=details["summary"],
        description=details.get("description"),
        priority=details.get("priority"),
        labels=details.get("labels", ()),
    )
    if details.get("assignee"):
        fields["assignee"] = jira.user_ref(details["assignee"])
    if details.get("parentKey"):
        fields.update(await parent_link(jira, details["issueType"], details["parentKey"]))
    if details.get("customFields"):
        # The same resolution (and refusal of sprint, epic and rank fields) as an edit's.
        fields.update(await resolve_custom_fields(jira, call.action, details["customFields"]))
    points = None
    if "storyPoints" in details:
        points = await jira.story_points(details["projectKey"])
        fields[points.id] = details["storyPoints"]
    sprint = await sprint_in_project(jira, details) if "sprintId" in details else None
    key = await create_one(jira, fields, call.action_id, result)
    if points is not None:
        result.data = {**(result.data or {}), "storyPointsField": points.as_dict()}
    if key is not None and sprint is not None:
        await move_keys(jira, sprint, [key], result, touch=False)


async def parent_link(jira: JiraAdapter, issue_type: str, parent: str) -> dict[str, Any]:
    """How a new issue goes under `parent`: `parent` on Cloud (epics and sub-tasks alike)
    and for a Data Center sub-task; Data Center puts other issues under an epic with its
    Epic Link field (`parent` there is for sub-tasks only)."""
    if jira.config.is_cloud:
        return {"parent": {"key": parent}}
    site = await jira.site.get()
    if issue_type in site.subtask_types:
        return {"parent": {"key": parent}}
    return await epic_link(jira, parent)


@handles("jira_create_tickets")
async def create_tickets(jira: JiraAdapter, call: ActionCall) -> None:
    details, result = call.details, call.result
    count = int(details["issueCount"])
    given = details.get("tickets") or [
        {"summary": numbered_summary(call.summary, n + 1, count)} for n in range(count)
    ]
    tickets = [
        issue_fields(
            jira,
            project=details["projectKey"],
            issue_type=ticket.get("issueType", details["issueType"]),
            summary=ticket["summary"],
            description=ticket.get("description"),
            priority=ticket.get("priority", details["priority"]),
            labels=ticket.get("labels", details.get("labels", ())),
        )
        for ticket in given[:count]
    ]
    sprint = await sprint_in_project(jira, details) if "sprintId" in details else None
    await create_all(jira, tickets, call.action_id, result)
    if sprint is not None and result.created:
        await move_keys(jira, sprint, result.created_keys, result, touch=False)


@handles("jira_update_story_points")
async def update_story_points(jira: JiraAdapter, call: ActionCall) -> None:
    chosen = await jira.story_points(catalog.project_of(call.details))
    field = chosen.id
    points = {update["issueKey"]: update["storyPoints"] for update in call.details["updates"]}

    async def set_points(key: str) -> bool:
        await jira.client.put(jira.api(f"/issue/{key}"), {"fields": {field: points[key]}})
        return True

    await each(list(points), call.result, set_points)
    call.result.data = {"field": field, "storyPointsField": chosen.as_dict()}


async def edit_body(jira: JiraAdapter, details: Mapping[str, Any]) -> dict[str, Any]:
    given = details.get("fields") or {}
    add = list(details.get("addLabels") or ())
    remove = set(details.get("removeLabels") or ())
    fields = edited_fields(jira, given, ("summary", "duedate"))
    for name in ("components", "fixVersions"):
        if name in given:
            fields[name] = [{"name": value} for value in given[name]]
    for name in ("assignee", "reporter"):
        if name in given:
            fields[name] = jira.user_ref(given[name])
    if "parent" in given:
        fields["parent"] = {"key": given["parent"]} if given["parent"] is not None else None
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


@handles("jira_update_fields")
async def update_fields(jira: JiraAdapter, call: ActionCall) -> None:
    body = await edit_body(jira, call.details)
    if call.details.get("customFields"):
        custom = await resolve_custom_fields(jira, call.action, call.details["customFields"])
        body["fields"] = {**body.get("fields", {}), **custom}

    async def edit(key: str) -> bool:
        await jira.client.put(jira.api(f"/issue/{key}"), await keeping_markers(jira, key, body))
        return True

    await each(call.details["issueKeys"], call.result, edit)


@handles("jira_assign_issues")
async def assign_issues(jira: JiraAdapter, call: ActionCall) -> None:
    body = jira.user_ref(call.details["assignee"])

    async def assign(key: str) -> bool:
        await jira.client.put(jira.api(f"/issue/{key}/assignee"), body)
        return True

    await each(call.details["issueKeys"], call.result, assign)

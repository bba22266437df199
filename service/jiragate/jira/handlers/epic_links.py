"""Putting issues under an epic and taking them out: Cloud sets each issue's `parent`, Data
Center moves them with the Agile API (`POST /rest/agile/1.0/epic/{epic}/issue`, and
`/epic/none/issue` to remove them from their epic).

The epic must be an epic of the action's project, each issue must (still) be in that project,
and an issue is taken out only of the epic the action names (its current epic is read first),
so an action about ENG never changes another project's epic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.errors import JiraConfigError, JiraError, JiraLookupError, JiraTransportError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.scope import ScopedIssue, issue_in_project

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def _epic(jira: JiraAdapter, key: str, project: str) -> ScopedIssue:
    epic = await issue_in_project(jira, key, project, fields=("issuetype",))
    kind = epic.fields.get("issuetype") or {}
    if kind.get("name") != "Epic" and kind.get("hierarchyLevel") != 1:
        raise JiraLookupError(f"{key} is a {kind.get('name') or 'non-epic'}, not an epic")
    return epic


def _current_epic(jira: JiraAdapter, fields: Mapping[str, Any]) -> str | None:
    if jira.config.is_cloud:
        parent = fields.get("parent") or {}
        return str(parent.get("key")) if parent.get("key") else None
    value = fields.get(str(jira.config.epic_link_field))
    return str(value) if value else None


def _epic_fields(jira: JiraAdapter) -> tuple[str, ...]:
    if jira.config.is_cloud:
        return ("parent",)
    if jira.config.epic_link_field is None:
        raise JiraConfigError(
            "taking issues out of an epic on Data Center reads their Epic Link field: set "
            "jira.epic_link_field (JIRAGATE_JIRA__EPIC_LINK_FIELD) (e.g. customfield_10101)"
        )
    return (jira.config.epic_link_field,)


async def _checked(
    jira: JiraAdapter, call: ActionCall, epic: str | None, fields: tuple[str, ...] = ()
) -> list[str]:
    """The issues that pass their checks (each refusal is recorded under its key): in the
    project, and, for `epic`, currently under it."""
    project = str(catalog.project_of(call.details))
    passed: list[str] = []
    for key in call.details["issueKeys"]:
        try:
            issue = await issue_in_project(jira, key, project, fields=fields)
            if epic is not None and _current_epic(jira, issue.fields) != epic:
                raise JiraLookupError(
                    f"{key} is not under epic {epic} (its epic is "
                    f"{_current_epic(jira, issue.fields) or 'none'}); nothing was changed"
                )
        except JiraTransportError:
            raise
        except JiraError as exc:
            call.result.fail(exc, key=key)
            continue
        passed.append(issue.key)
    return passed


async def _apply(jira: JiraAdapter, call: ActionCall, keys: list[str], epic: str | None) -> None:
    if not keys:
        return
    if jira.config.is_cloud:
        parent = {"key": epic} if epic is not None else None
        for key in keys:
            try:
                await jira.client.put(jira.api(f"/issue/{key}"), {"fields": {"parent": parent}})
            except JiraTransportError:
                raise
            except JiraError as exc:
                call.result.fail(exc, key=key)
                continue
            call.result.touch(key)
        return
    target = epic if epic is not None else "none"
    try:
        # Moving issues into the epic they are in changes nothing: safe to resend.
        await jira.client.post(
            jira.agile(f"/epic/{target}/issue"), {"issues": keys}, idempotent=True
        )
    except JiraTransportError:
        raise
    except JiraError as exc:
        for key in keys:
            call.result.fail(exc, key=key)
        return
    for key in keys:
        call.result.touch(key)


@handles("jira_link_to_epic")
async def link_to_epic(jira: JiraAdapter, call: ActionCall) -> None:
    project = str(catalog.project_of(call.details))
    epic = await _epic(jira, call.details["epicKey"], project)
    await _apply(jira, call, await _checked(jira, call, None), epic.key)
    call.result.data = {"epicKey": epic.key}


@handles("jira_unlink_from_epic")
async def unlink_from_epic(jira: JiraAdapter, call: ActionCall) -> None:
    project = str(catalog.project_of(call.details))
    fields = _epic_fields(jira)
    epic = await _epic(jira, call.details["epicKey"], project)
    await _apply(jira, call, await _checked(jira, call, epic.key, fields), None)
    call.result.data = {"epicKey": epic.key}

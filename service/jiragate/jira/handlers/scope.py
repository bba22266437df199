"""Project scope of issue-level writes: the issue, and the id the action names with it.

Policies and reviewers see the project of `issueKey`. A key's prefix is not proof: Jira
answers an old key of an issue moved to another project with that issue. And a comment,
worklog, link, remote link or attachment id names an object that may hang off any issue of
the site. So before writing, the handlers read the issue (its project must be the action's)
and the object (it must be on that issue), and refuse with `JiraLookupError` otherwise: the
action ends `failed` and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.errors import JiraLookupError

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

#: `.../issue/{id or key}/{comment|worklog|remotelink}/...` in an object's `self` URL.
_OWNER = re.compile(r"/issue/([^/]+)/(?:comment|worklog|remotelink)/")


@dataclass(frozen=True, slots=True)
class ScopedIssue:
    """An issue read back from Jira and found in the action's project."""

    id: str
    key: str
    project: str
    fields: Mapping[str, Any]

    def is_named_by(self, ref: object) -> bool:
        return ref is not None and str(ref) in {self.id, self.key}


async def issue_in_project(
    jira: JiraAdapter, key: str, project: str, *, fields: tuple[str, ...] = ()
) -> ScopedIssue:
    """`key` read from Jira, refused unless it is (still) in `project`."""
    answer = (
        await jira.client.get(jira.api(f"/issue/{key}"), query={"fields": ["project", *fields]})
        or {}
    )
    found = answer.get("fields") or {}
    owner = str((found.get("project") or {}).get("key") or "")
    if owner != project:
        raise JiraLookupError(
            f"issue {key} is in project {owner or 'unknown'}, not {project} (was it moved?); "
            "an action writes only to its own project's issues"
        )
    return ScopedIssue(str(answer.get("id")), str(answer.get("key")), owner, found)


async def action_issue(
    jira: JiraAdapter, details: Mapping[str, Any], *, fields: tuple[str, ...] = ()
) -> ScopedIssue:
    """The action's `issueKey`, checked against the action's project."""
    project = catalog.project_of(details)
    if project is None:  # every issue-level write names an issue; defensive
        raise JiraLookupError("the action names no project to check its issue against")
    return await issue_in_project(jira, details["issueKey"], project, fields=fields)


def check_owner(issue: ScopedIssue, what: str, ident: str, obj: Mapping[str, Any]) -> None:
    """Refuse `obj` (a comment, worklog or remote link) unless Jira says it is on `issue`:
    its `issueId`, else the issue in its `self` URL."""
    owner: object = obj.get("issueId")
    if owner is None:
        found = _OWNER.search(str(obj.get("self") or ""))
        owner = found.group(1) if found else None
    if not issue.is_named_by(owner):
        raise JiraLookupError(
            f"{what} {ident} is not on issue {issue.key} (Jira puts it on "
            f"{owner or 'an unknown issue'}); an action changes only its own issue's {what}s"
        )

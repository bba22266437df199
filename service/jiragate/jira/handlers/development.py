"""The development panel of issues: branches, pull requests, commits, repositories.

Jira's dev-status API is not in its public REST API, but both Cloud and Data Center serve it
at the site, and it is what the issue view and mcp-atlassian 0.23.1 call
(`mcp_atlassian/jira/development.py`), per issue:

1. `GET /rest/api/{3|2}/issue/{key}?fields=project`: the numeric id dev-status wants — and,
   here, the check that the issue is in the action's project (scope.issue_in_project);
2. `GET /rest/dev-status/1.0/issue/summary?issueId=`: which application types (GitHub,
   GitLab, bitbucket, stash; case-sensitive) have data, per data type — skipped when the
   action names `applicationType`;
3. `GET /rest/dev-status/1.0/issue/detail?issueId=&applicationType=&dataType=` for each
   application type and data type (`pullrequest`, `branch`, `repository`).

An issue whose panel cannot be read (another project, not found, no dev-status on the site)
is that key's failure; the other issues are still read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.jira.handlers.base import ActionCall, each, handles
from jiragate.jira.handlers.listing import pick
from jiragate.jira.handlers.scope import issue_in_project

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

DEV_STATUS = "/rest/dev-status/1.0/issue"
DATA_TYPES = ("pullrequest", "branch", "repository")
_PULL_REQUEST = ("id", "name", "status", "url", "lastUpdate")
_COMMIT = ("id", "displayId", "message", "authorTimestamp", "url")


def _name(item: Any) -> Any:
    return item.get("name") if isinstance(item, Mapping) else None


def _application_types(summary: Any, data_types: tuple[str, ...]) -> list[str]:
    """The application types with at least one item of the data types, sorted."""
    sections = (summary or {}).get("summary") or {}
    found: set[str] = set()
    for data_type in data_types:
        for app, counted in ((sections.get(data_type) or {}).get("byInstanceType") or {}).items():
            if isinstance(counted, Mapping) and int(counted.get("count") or 0) > 0:
                found.add(str(app))
    return sorted(found)


def _collect(panel: dict[str, list[Any]], entry: Mapping[str, Any]) -> None:
    """One `detail` entry's items, trimmed, added to the issue's panel."""
    instance = _name(entry.get("_instance"))
    for pr in entry.get("pullRequests") or []:
        panel["pullRequests"].append(
            {
                **pick(pr, *_PULL_REQUEST),
                "source": (pr.get("source") or {}).get("branch"),
                "destination": (pr.get("destination") or {}).get("branch"),
                "repository": _name((pr.get("source") or {}).get("repository")),
                "author": _name(pr.get("author")),
                "reviewers": [_name(r) for r in pr.get("reviewers") or []],
                "instance": instance,
            }
        )
    for branch in entry.get("branches") or []:
        panel["branches"].append(
            {
                **pick(branch, "name", "url"),
                "repository": _name(branch.get("repository")),
                "instance": instance,
            }
        )
    for repo in entry.get("repositories") or []:
        shown = {**pick(repo, "name", "url"), "instance": instance}
        if shown not in panel["repositories"]:
            panel["repositories"].append(shown)
        for commit in repo.get("commits") or []:
            panel["commits"].append(
                {
                    **pick(commit, *_COMMIT),
                    "author": _name(commit.get("author")),
                    "repository": repo.get("name"),
                }
            )


@handles("jira_get_development_info")
async def get_development_info(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project = catalog.project_of(details)
    assert project is not None  # issueKeys are required
    data_types = (details["dataType"],) if "dataType" in details else DATA_TYPES
    panels: dict[str, Any] = {}

    async def read(key: str) -> bool:
        issue = await issue_in_project(jira, key, project)
        if "applicationType" in details:
            apps = [details["applicationType"]]
        else:
            summary = await jira.client.get(f"{DEV_STATUS}/summary", query={"issueId": issue.id})
            apps = _application_types(summary, data_types)
        panel: dict[str, list[Any]] = {
            "pullRequests": [],
            "branches": [],
            "commits": [],
            "repositories": [],
        }
        for app in apps:
            for data_type in data_types:
                answer = await jira.client.get(
                    f"{DEV_STATUS}/detail",
                    query={"issueId": issue.id, "applicationType": app, "dataType": data_type},
                )
                for entry in (answer or {}).get("detail") or []:
                    if isinstance(entry, Mapping):
                        _collect(panel, entry)
        panels[issue.key] = {"applicationTypes": apps, **panel}
        return False  # a read touches nothing

    await each(details["issueKeys"], call.result, read)
    call.result.data = {"issues": panels}

"""Cross-project dependencies: the links from a project's issues to other projects' issues.

mcp-atlassian 0.23.1's `jira_get_cross_project_dependencies`
(`mcp_atlassian/jira/project_analysis.py`) searches `project = "<KEY>" ORDER BY updated DESC`
with the `issuelinks` field and groups the links whose other end is in another project. This
does the same search, restricted to the action's project and built by `jiragate.jql`, and
reads nothing else: Jira already puts the linked issue's key, summary, status and type on
each link (`IssueLink.inwardIssue` / `outwardIssue`, `LinkedIssue.fields`), so the other
project's issues are never read. What a project's own issues show is what the agent sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate import jql
from jiragate.catalog.panel_actions import DEFAULT_SCAN
from jiragate.jira.handlers.base import ActionCall, handles

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

_DIRECTIONS = (("inwardIssue", "inward"), ("outwardIssue", "outward"))


def _named(value: Any) -> Any:
    return value.get("name") if isinstance(value, Mapping) else None


def _other_ends(issue: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(direction, link type, linked issue) of each of an issue's links."""
    ends = []
    for link in (issue.get("fields") or {}).get("issuelinks") or []:
        for name, direction in _DIRECTIONS:
            other = link.get(name)
            if isinstance(other, Mapping) and other.get("key"):
                ends.append((direction, link.get("type") or {}, other))
    return ends


@handles("jira_get_cross_project_links")
async def get_cross_project_links(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    project = str(details["projectKey"])
    wanted = set(details.get("linkedProjectKeys") or ())
    sent = f"project = {jql.quote(project)} ORDER BY updated DESC"
    issues, _ = await jira.search_issues(
        sent, fields=["summary", "issuelinks"], limit=details.get("maxResults", DEFAULT_SCAN)
    )
    by_project: dict[str, list[dict[str, Any]]] = {}
    for issue in issues:
        for direction, link_type, other in _other_ends(issue):
            other_project = str(other["key"]).rsplit("-", 1)[0]
            if other_project == project or (wanted and other_project not in wanted):
                continue
            fields = other.get("fields") or {}
            by_project.setdefault(other_project, []).append(
                {
                    "issueKey": issue.get("key"),
                    # "ENG-10 is blocked by OPS-2": the type's wording for this direction.
                    "relation": link_type.get(direction),
                    "linkType": link_type.get("name"),
                    "direction": direction,
                    "linkedIssue": {
                        "key": other["key"],
                        "summary": fields.get("summary"),
                        "status": _named(fields.get("status")),
                        "issueType": _named(fields.get("issuetype")),
                    },
                }
            )
    call.result.data = {
        "projectKey": project,
        "jql": sent,
        "issuesScanned": len(issues),
        "totalLinks": sum(len(links) for links in by_project.values()),
        "byProject": {key: by_project[key] for key in sorted(by_project)},
    }

"""Jira's limits and the shapes the adapter hands back (issues, versions), shared by handlers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jiragate.jira.adf import adf_to_text

# Atlassian: "The maximum number of issues that can be created in each call is 50"
# (POST /rest/api/3/issue/bulk) and "A maximum of 50 issues can be moved in one operation"
# (POST /rest/agile/1.0/sprint/{sprintId}/issue); archive takes "up to 1000 issues".
BULK_CREATE_LIMIT = 50
SPRINT_MOVE_LIMIT = 50
ARCHIVE_LIMIT = 1000
SEARCH_PAGE = 100
SPRINT_PAGE = 50
SUMMARY_LIMIT = 255
COMMENT_PAGE = 100

DEFAULT_READ_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "labels",
    "parent",
    "description",
    "created",
    "updated",
)


def chunked(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def numbered_summary(summary: str, number: int, total: int) -> str:
    suffix = f" ({number}/{total})"
    return summary[: SUMMARY_LIMIT - len(suffix)].rstrip() + suffix


def trim_issue(issue: Mapping[str, Any]) -> dict[str, Any]:
    """An issue as an agent needs it: key, id and flattened fields (ADF → text, objects → names)."""
    fields = issue.get("fields") or {}
    return {
        "key": issue.get("key"),
        "id": issue.get("id"),
        "fields": {name: _trim_value(name, value) for name, value in fields.items()},
    }


def _trim_value(name: str, value: Any) -> Any:
    if name in ("description", "environment") or (
        isinstance(value, dict) and value.get("type") == "doc"
    ):
        return adf_to_text(value) if value is not None else None
    if isinstance(value, list):
        return [_trim_value("", item) for item in value]
    if isinstance(value, dict):
        kept = {
            k: value[k] for k in ("key", "name", "displayName", "accountId", "value") if k in value
        }
        return kept or value
    return value


def trim_version(version: Any) -> dict[str, Any] | None:
    if not isinstance(version, Mapping):
        return None
    return {
        k: version.get(k)
        for k in ("id", "name", "description", "released", "releaseDate", "startDate")
        if k in version
    }

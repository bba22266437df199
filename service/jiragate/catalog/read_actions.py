"""The read actions beyond issues and search: projects, boards and their issues, metadata,
users, an issue's watchers, worklogs, history, attachments and remote links (issue 12).

Every one is a READ (the default policies allow reads; a policy may still deny one by
`project`, `count` or name). What policies see:

- `project`: the `projectKey` (required wherever Jira's answer belongs to one project), or
  the project of `issueKey`/`issueKeys`. A board or sprint id is checked against that project
  by the handler before anything is read (jira/handlers/listing.py), so "about ENG" never
  reads an OPS board. Site-wide metadata (projects, fields, statuses, priorities, issue
  types, resolutions, link types, users, the service account) is about no project.
- `count`: the issues a list may return (`maxResults`, default 50), the issues of a
  changelog batch, 1 for one issue's extras, 0 for metadata.

Edit rules: a reviewer may only ask for less (`maxResults` narrow_count, `fields` and
`issueKeys` subset); the ids, the project and the JQL are fixed.
"""

from __future__ import annotations

from collections.abc import Callable

from jiragate.catalog.rules import EditRule, FieldRule
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, register

#: Jira caps a page at 50 for these lists (Agile, users, projects) and the catalog with it.
DEFAULT_PAGE = 50


def _none(details: Details) -> int:
    return 0


def _one(details: Details) -> int:
    return 1


def _page(details: Details) -> int:
    return int(details.get("maxResults", DEFAULT_PAGE))


def _keys(details: Details) -> int:
    return len(details["issueKeys"])


_NARROW: dict[str, FieldRule] = {"maxResults": EditRule.NARROW_COUNT}
_ISSUE_LIST: dict[str, FieldRule] = {"maxResults": EditRule.NARROW_COUNT, "fields": EditRule.SUBSET}

_READS: tuple[tuple[str, Callable[[Details], int], dict[str, FieldRule]], ...] = (
    ("jira_list_projects", _none, {}),
    ("jira_search_projects", _none, _NARROW),
    ("jira_list_components", _none, {}),
    ("jira_list_versions", _none, {}),
    ("jira_list_boards", _none, _NARROW),
    ("jira_get_board_issues", _page, _ISSUE_LIST),
    ("jira_get_sprint_issues", _page, _ISSUE_LIST),
    ("jira_get_backlog_issues", _page, _ISSUE_LIST),
    ("jira_list_fields", _none, {}),
    ("jira_get_field_options", _none, {}),
    ("jira_get_create_meta", _none, {}),
    ("jira_get_edit_meta", _one, {}),
    ("jira_search_users", _none, _NARROW),
    ("jira_get_assignable_users", _none, _NARROW),
    ("jira_get_myself", _none, {}),
    ("jira_list_link_types", _none, {}),
    ("jira_get_watchers", _one, {}),
    ("jira_get_worklogs", _one, _NARROW),
    ("jira_get_changelogs", _keys, {"issueKeys": EditRule.SUBSET, **_NARROW}),
    ("jira_get_attachments", _one, {}),
    ("jira_get_remote_links", _one, {}),
    ("jira_list_statuses", _none, {}),
    ("jira_list_priorities", _none, {}),
    ("jira_list_issue_types", _none, {}),
    ("jira_list_resolutions", _none, {}),
)

READ_ACTIONS: tuple[ActionSpec, ...] = tuple(
    ActionSpec(name, ActionKind.READ, idempotent=True, count=count, edit_rules=rules)
    for name, count, rules in _READS
)


def register_read_actions() -> None:
    for spec in READ_ACTIONS:
        register(spec)

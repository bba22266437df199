"""The Jira handlers, one per catalog action, in small modules by topic.

- `reads`: jira_get_issue, jira_get_transitions
- `search`: jira_search
- `issues`: jira_create_ticket, jira_create_tickets, jira_update_fields,
  jira_assign_issues, jira_update_story_points
- `transitions`: jira_transition_issues
- `sprints`: jira_list_sprints, jira_move_to_sprint
- `comments`: jira_add_comment
- `epics`: jira_create_epic, jira_update_epic
- `versions`: jira_create_release, jira_update_release, jira_release_version
- `destructive`: jira_delete_issues, jira_archive_issues
- `agile`: jira_create_sprint, jira_update_sprint, jira_start_sprint, jira_close_sprint,
  jira_delete_sprint, jira_move_to_backlog, jira_rank_issues
- `project_admin`: jira_create_releases, jira_archive_version, jira_merge_versions,
  jira_delete_version, jira_create_component, jira_update_component, jira_delete_component
- issue-level writes (issue 12; `scope` checks their issue and ids against the project):
  `comment_edits` (jira_edit_comment, jira_delete_comment), `worklogs`, `watchers`, `links`
  (issue and remote links), `epic_links` (jira_link_to_epic, jira_unlink_from_epic),
  `attachments`
- `listing`: the declarative reads (one `Read` each: path, query, project check, shape):
  projects, components, versions, boards and board/backlog/sprint issues, fields, edit
  metadata, users, the service account, link types, watchers, worklogs, attachments,
  statuses, priorities, issue types, resolutions
- `metadata`: the reads that differ by flavour or take several calls: project search,
  create metadata, field options, changelogs
- `rest`: jira_rest_read, jira_rest_write (the proxy's generic actions)
- beside an issue's fields: `forms` (jira_get_forms, jira_get_form, jira_update_form_answers),
  `development` (jira_get_development_info), `dependencies` (jira_get_cross_project_links)
- `moves`: jira_move_issue (Cloud's asynchronous bulk move; refused on Data Center)
- `service_desk`: Jira Service Management (jira_get_service_desk, jira_list_queues,
  jira_get_queue_issues, jira_list_request_types, jira_get_request_type_fields,
  jira_get_issue_sla, jira_create_customer_request: raised exactly once, marked after Jira
  answers)

`creating` holds exactly-once issue creation (markers) for issues and epics; `base` the
registry (`@handles`), `ActionCall` and the per-issue loop. Importing this package imports
every topic module, so every handler is registered.
"""

from __future__ import annotations

from jiragate.jira.handlers import (
    agile,
    attachments,
    comment_edits,
    comments,
    dependencies,
    destructive,
    development,
    epic_links,
    epics,
    forms,
    issues,
    links,
    listing,
    metadata,
    moves,
    project_admin,
    reads,
    rest,
    search,
    service_desk,
    sprints,
    transitions,
    versions,
    watchers,
    worklogs,
)
from jiragate.jira.handlers.base import (
    HANDLERS,
    ActionCall,
    Handler,
    handler_for,
    handles,
    missing_handlers,
    registered,
)

TOPICS = (
    reads,
    search,
    issues,
    transitions,
    sprints,
    comments,
    epics,
    versions,
    destructive,
    agile,
    project_admin,
    comment_edits,
    worklogs,
    watchers,
    links,
    epic_links,
    attachments,
    listing,
    metadata,
    rest,
    forms,
    development,
    dependencies,
    moves,
    service_desk,
)

__all__ = [
    "HANDLERS",
    "TOPICS",
    "ActionCall",
    "Handler",
    "handler_for",
    "handles",
    "missing_handlers",
    "registered",
]

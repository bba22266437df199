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
- `rest`: jira_rest_read, jira_rest_write (the proxy's generic actions)

`creating` holds exactly-once issue creation (markers) for issues and epics; `base` the
registry (`@handles`), `ActionCall` and the per-issue loop. Importing this package imports
every topic module, so every handler is registered.
"""

from __future__ import annotations

from jiragate.jira.handlers import (
    comments,
    destructive,
    epics,
    issues,
    reads,
    rest,
    search,
    sprints,
    transitions,
    versions,
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

TOPICS = (reads, search, issues, transitions, sprints, comments, epics, versions, destructive, rest)

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

"""Issue-level writes (issue 12): comments, worklogs, watchers, links, remote links, epic
membership and attachments, one `ActionSpec` each, registered after the built-ins.

Project scope: every action names an `issueKey` (or an `epicKey` and `issueKeys`), so its
`project` fact is that issue's project; `otherIssueKey` of a link must be in the same project
(the single-project invariant of catalog/details.py). An id the action also names (comment,
worklog, link, remote link, attachment) is checked by its handler against that issue before
anything is written (jira/handlers/scope.py).

Edit rules: a reviewer may reword the texts an action writes (a comment, a worklog's comment,
a link's title and summary) and drop issues from an epic (un)linking, nothing else; an
attachment is fixed whole (a reviewer cannot narrow bytes).
"""

from __future__ import annotations

from jiragate.catalog.actions import counts, counts_items
from jiragate.catalog.rules import EditRule
from jiragate.catalog.spec import ActionKind, ActionSpec, register

WRITE, DESTRUCTIVE = ActionKind.WRITE, ActionKind.DESTRUCTIVE
_TEXT, _SUBSET = EditRule.TEXT, EditRule.SUBSET

ISSUE_ACTIONS: tuple[ActionSpec, ...] = (
    # comments
    ActionSpec(
        "jira_edit_comment", WRITE, idempotent=True, count=counts(1), edit_rules={"body": _TEXT}
    ),
    ActionSpec("jira_delete_comment", DESTRUCTIVE, idempotent=True, count=counts(1)),
    # worklogs: a new worklog carries a marker property, so a retry finds it (not idempotent
    # in Jira, made safe by the adapter)
    ActionSpec(
        "jira_add_worklog",
        WRITE,
        idempotent=False,
        count=counts(1),
        edit_rules={"comment": _TEXT},
    ),
    ActionSpec(
        "jira_update_worklog",
        WRITE,
        idempotent=True,
        count=counts(1),
        edit_rules={"comment": _TEXT},
    ),
    ActionSpec("jira_delete_worklog", DESTRUCTIVE, idempotent=True, count=counts(1)),
    # watchers
    ActionSpec("jira_add_watcher", WRITE, idempotent=True, count=counts(1)),
    ActionSpec("jira_remove_watcher", WRITE, idempotent=True, count=counts(1)),
    # issue links touch both issues; Jira keeps one link per type and pair, so resending is safe
    ActionSpec("jira_create_issue_link", WRITE, idempotent=True, count=counts(2)),
    ActionSpec("jira_remove_issue_link", WRITE, idempotent=True, count=counts(2)),
    # remote links: the globalId makes a resend update the link it created
    ActionSpec(
        "jira_create_remote_link",
        WRITE,
        idempotent=True,
        count=counts(1),
        edit_rules={"title": _TEXT, "summary": _TEXT},
    ),
    ActionSpec("jira_remove_remote_link", WRITE, idempotent=True, count=counts(1)),
    # epics
    ActionSpec(
        "jira_link_to_epic",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
    ),
    ActionSpec(
        "jira_unlink_from_epic",
        WRITE,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": _SUBSET},
    ),
    # attachments
    ActionSpec("jira_add_attachment", WRITE, idempotent=False, count=counts(1)),
    ActionSpec("jira_delete_attachment", DESTRUCTIVE, idempotent=True, count=counts(1)),
)


def register_issue_actions() -> None:
    for spec in ISSUE_ACTIONS:
        register(spec)

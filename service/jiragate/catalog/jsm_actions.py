"""Jira Service Management (issue 12): a project's service desk, its queues and request types,
an issue's SLAs, and raising a customer request — one `ActionSpec` each.

Project scope: every action names the project it is about (`projectKey`, or the `issueKey`
of an SLA read), so policies and agent scopes see it like any other action. The service desk
is never the agent's word alone: the handlers (jira/handlers/service_desk.py) find the desk
*of that project* in Jira, and an optional `serviceDeskId` must be that desk (a desk id of
another project is refused before anything is read or raised). Queue and request-type ids
are read under that desk's path, so another desk's queue or request type is not found; the
issues a queue lists must be in the project too (a queue whose JQL reaches past it is
refused rather than trimmed, so a reviewer of "OPS" never sees HR's requests).

Kinds follow mcp-atlassian's hints: the six reads are READs, raising a request is a WRITE.
`count`: the issues an answer may hold (a queue page's `maxResults`, 1 for one request's SLAs,
1 for the request raised) and 0 for the desk's configuration (desk, queues, request types and
their fields: metadata, as in catalog/read_actions.py).

Edit rules of `jira_create_customer_request`: a reviewer may reword the summary and the
description and drop request participants (fewer people notified); the request type, the
customer it is raised for (`raiseOnBehalfOf`) and every other field value are fixed — a
reviewer who wants another customer or type rejects with a note.
"""

from __future__ import annotations

from collections.abc import Iterator

from jiragate.catalog.actions import counts
from jiragate.catalog.rules import EditRule
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, register
from jiragate.errors import DetailsViolation

READ, WRITE = ActionKind.READ, ActionKind.WRITE
#: JSM pages its lists at 50 (`limit`); a queue read asks for this many when not told.
DEFAULT_QUEUE_PAGE = 50
#: Field ids the create action sets from its own properties, not from `fields`.
OWN_FIELDS = frozenset({"summary", "description"})


def _queue_page(details: Details) -> int:
    return int(details.get("maxResults", DEFAULT_QUEUE_PAGE))


def _fields_not_doubled(details: Details) -> Iterator[DetailsViolation]:
    """`summary` and `description` are the action's own properties (reviewers edit them
    there, policies match them there); the same field again in `fields` would let one text
    be reviewed and another sent."""
    for name in sorted(OWN_FIELDS & set(details.get("fields") or {})):
        yield DetailsViolation(
            f"/fields/{name}",
            "own-property",
            f"{name} is set by the action's own {name!r}, not in fields",
        )


def _participants_once(details: Details) -> Iterator[DetailsViolation]:
    behalf = details.get("raiseOnBehalfOf")
    for index, who in enumerate(details.get("requestParticipants") or ()):
        if who == behalf:
            yield DetailsViolation(
                f"/requestParticipants/{index}",
                "not-the-customer",
                f"{who} is the customer the request is raised for, not a participant",
            )


JSM_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("jira_get_service_desk", READ, idempotent=True, count=counts(0)),
    ActionSpec("jira_list_queues", READ, idempotent=True, count=counts(0)),
    ActionSpec(
        "jira_get_queue_issues",
        READ,
        idempotent=True,
        count=_queue_page,
        edit_rules={"maxResults": EditRule.NARROW_COUNT, "fields": EditRule.SUBSET},
    ),
    ActionSpec("jira_list_request_types", READ, idempotent=True, count=counts(0)),
    ActionSpec("jira_get_request_type_fields", READ, idempotent=True, count=counts(0)),
    ActionSpec("jira_get_issue_sla", READ, idempotent=True, count=counts(1)),
    # JSM's POST /request is not idempotent: the handler marks what it created and finds it
    # again after a lost answer (jira/handlers/service_desk.py), so a retry raises nothing new.
    ActionSpec(
        "jira_create_customer_request",
        WRITE,
        idempotent=False,
        count=counts(1),
        edit_rules={
            "summary": EditRule.TEXT,
            "description": EditRule.TEXT,
            "requestParticipants": EditRule.SUBSET,
        },
        invariants=(_fields_not_doubled, _participants_once),
    ),
)


def register_jsm_actions() -> None:
    for spec in JSM_ACTIONS:
        register(spec)

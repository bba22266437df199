"""What a proposed change would do, as a reviewer needs to see it, read live from Jira.

`build_preview(gateway, record, effective)` answers per preview kind, which each action's
spec declares (`ActionSpec.preview`, `preview_heading`):

- bulk creation: the tickets that would be created, and which the reviewer's edit drops;
- transitions: each issue's current status → target, and whether Jira offers that move;
- reassignments: current assignee → new assignee;
- sprint moves: current sprint → target sprint;
- story points: current points → new points;
- deletes/archives: the issues with their summary and status;
- anything else: the issues it touches (if any) and a readable key/value view.

Jira is read through the adapter's read helpers only. When Jira cannot be reached (or is
slow: the whole preview has a time limit) the preview says so in `jira_error` and the page
still shows the details, so a reviewer is never left with a blank page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiragate.catalog import (
    JIRA_PRIORITIES,
    PriorityOrder,
    get_spec,
    issue_keys_of,
    kept_items,
)
from jiragate.errors import JiraError
from jiragate.gateway import Gateway
from jiragate.gateway.records import ActionRecord, numbered_summary

log = logging.getLogger("jiragate.web")

#: Readable names for the details keys reviewers see most.
FIELD_LABELS = {
    "projectKey": "Project",
    "issueCount": "Number of tickets",
    "issueType": "Issue type",
    "priority": "Priority",
    "labels": "Labels",
    "sprintId": "Sprint",
    "tickets": "Tickets",
    "issueKeys": "Issues",
    "issueKey": "Issue",
    "targetStatus": "Target status",
    "resolution": "Resolution",
    "comment": "Comment",
    "assignee": "Assignee",
    "deleteSubtasks": "Also delete sub-tasks",
    "epicKey": "Epic",
    "childIssueKeys": "Child issues",
    "addChildIssueKeys": "Add child issues",
    "parentKey": "Parent",
    "storyPoints": "Story points",
    "updates": "Updates",
    "fields": "Fields",
    "addLabels": "Add labels",
    "removeLabels": "Remove labels",
    "versionId": "Version",
    "releaseDate": "Release date",
    "startDate": "Start date",
    "name": "Name",
    "description": "Description",
    "summary": "Summary",
    "body": "Comment",
    "jql": "JQL",
    "maxResults": "Max results",
    "boardId": "Board",
    "state": "State",
    # audit event data, on the timeline
    "modified_details": "Edits",
    "effective_details": "Approved payload",
    "verdict": "Verdict",
    "note": "Note",
    "error": "Error",
    "attempt": "Attempt",
    "reviewer": "Reviewer",
    "agent": "Agent",
    "created": "Created",
    "updated": "Updated",
    "retry_at": "Next try",
}

#: Per preview kind (the action spec's `preview`): heading, before and after column labels.
HEADINGS: dict[str, tuple[str, str, str]] = {
    "tickets": ("Tickets that would be created", "", ""),
    "transition": ("Status changes", "Current status", "Target status"),
    "assign": ("Reassignments", "Current assignee", "New assignee"),
    "sprint": ("Sprint moves", "Current sprint", "Target sprint"),
    "points": ("Story point changes", "Current points", "New points"),
    "remove": ("Issues that would be removed", "", ""),
    "generic": ("Issues this action touches", "", ""),
}


def label_for(key: str) -> str:
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    # camelCase and snake_case alike: "retryAt" and "retry_at" both read "Retry at".
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in key).replace("_", " ")
    spaced = " ".join(spaced.split())
    return spaced[:1].upper() + spaced[1:]


def display_value(value: Any) -> str:
    """A details value as plain text (the template escapes it)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        if all(isinstance(item, str | int | float) for item in value):
            return ", ".join(str(item) for item in value) or "—"
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "; ".join(f"{label_for(k)}: {display_value(v)}" for k, v in value.items()) or "—"
    return str(value)


@dataclass(slots=True)
class TicketRow:
    number: int
    summary: str
    priority: str
    issue_type: str
    dropped: bool = False
    #: The proposed ticket's summary when the reviewer reworded it ("" otherwise).
    proposed_summary: str = ""
    #: The priority the agent proposed for this ticket (its own, else the bulk one).
    proposed_priority: str = ""
    #: The Jira key once it exists ("" before execution, or if it was not created).
    key: str = ""
    #: The site's priorities, highest first (`Gateway.priority_order`).
    priorities: PriorityOrder = JIRA_PRIORITIES

    @property
    def priority_options(self) -> list[str]:
        """What a reviewer may set this ticket's priority to: the proposed one or lower in
        the site's order; one the order does not know only stays as it is."""
        lower = self.priorities.at_or_below(self.proposed_priority)
        return list(lower) if lower else [self.priority]


@dataclass(slots=True)
class IssueRow:
    key: str
    found: bool = True
    summary: str = ""
    status: str = ""
    issue_type: str = ""
    before: str = ""
    after: str = ""
    #: For transitions: True available, False not offered by Jira, None unknown.
    available: bool | None = None
    note: str = ""
    dropped: bool = False


@dataclass(slots=True)
class Preview:
    kind: str  # tickets | transition | assign | sprint | points | remove | generic
    heading: str
    before_label: str = ""
    after_label: str = ""
    tickets: list[TicketRow] = field(default_factory=list)
    issues: list[IssueRow] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    jira_error: str | None = None
    live: bool = False

    @property
    def kept_tickets(self) -> int:
        return sum(1 for t in self.tickets if not t.dropped)

    @property
    def dropped_count(self) -> int:
        return sum(1 for t in self.tickets if t.dropped) + sum(1 for i in self.issues if i.dropped)


def facts_of(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(label_for(k), display_value(v)) for k, v in details.items() if k != "tickets"]


def ticket_rows(
    record: ActionRecord,
    original: Mapping[str, Any],
    effective: Mapping[str, Any],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> list[TicketRow]:
    """Every ticket the original request asked for, marked when the edit drops it, with its
    Jira key once created.

    Kept rows show what would really be created: the reviewer's summary and priority; with
    only a count, the adapter titles tickets after the request's summary numbered against
    the *effective* count."""
    total = int(original.get("issueCount") or 0)
    given: Sequence[Mapping[str, Any]] | None = original.get("tickets")
    effective_tickets: list[Any] = list(effective.get("tickets") or [])
    kept = int(effective.get("issueCount") or 0)
    # Which proposed ticket each effective one is (the reviewer may keep any of them).
    aligned = kept_items(record.action, "tickets", original, effective) if given else None
    if aligned is None:
        aligned = list(range(min(kept, total)))
    position = {proposed: made for made, proposed in enumerate(aligned)}
    keys = _created_keys(record)
    rows: list[TicketRow] = []
    for index in range(total):
        made = position.get(index)
        dropped = made is None
        proposed = given[index] if given else {}
        source = (
            effective_tickets[made] if made is not None and made < len(effective_tickets) else {}
        )
        bulk = original if dropped else effective
        proposed_priority = proposed.get("priority", original.get("priority"))
        if given:
            summary = str(source.get("summary", proposed.get("summary", "")))
        else:
            summary = numbered_summary(record.summary, index + 1, total if dropped else kept)
        priority = source.get("priority", proposed_priority if dropped else None) or bulk.get(
            "priority"
        )
        issue_type = source.get("issueType", proposed.get("issueType")) or bulk.get("issueType")
        rows.append(
            TicketRow(
                number=index + 1,
                summary=summary,
                priority=str(priority or "—"),
                issue_type=str(issue_type or "—"),
                dropped=dropped,
                proposed_summary=str(proposed.get("summary", ""))
                if given and summary != proposed.get("summary")
                else "",
                proposed_priority=str(proposed_priority or ""),
                key="" if made is None else keys.get(made, ""),
                priorities=priorities,
            )
        )
    return rows


def _created_keys(record: ActionRecord) -> dict[int, str]:
    """The created issues' keys by their index in the effective tickets (after execution)."""
    created = (record.result_json or {}).get("created") or []
    return {
        int(item["index"]): str(item["key"])
        for item in created
        if isinstance(item, Mapping) and isinstance(item.get("index"), int) and item.get("key")
    }


async def build_preview(
    gateway: Gateway | None,
    record: ActionRecord,
    effective: Mapping[str, Any],
    *,
    live: bool = True,
    timeout: float = 5.0,
) -> Preview:
    """The preview of `record` as `effective` would run it (the details, or an edit of them).
    Without a gateway (tools, tests of an action's spec) it is the offline preview in Jira's
    default priorities: nothing is read from Jira."""
    original = record.details
    order = gateway.priority_order() if gateway is not None else JIRA_PRIORITIES
    preview = _skeleton(record, original, effective, order)
    if not live or gateway is None:
        return preview
    try:
        await asyncio.wait_for(_fill_from_jira(gateway, record, effective, preview), timeout)
        preview.live = True
    except TimeoutError:
        preview.jira_error = f"Jira did not answer within {timeout:g} seconds."
    except JiraError as exc:
        log.warning("inbox preview of %s: Jira failed: %s", record.id, exc)
        preview.jira_error = f"Jira could not be read: {exc}"
    return preview


def _skeleton(
    record: ActionRecord,
    original: Mapping[str, Any],
    effective: Mapping[str, Any],
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> Preview:
    spec = get_spec(record.action)
    kind = spec.preview
    heading, before, after = HEADINGS[kind]
    heading = spec.preview_heading or heading
    facts = facts_of(effective)
    if kind == "tickets":
        return Preview(
            kind=kind,
            heading=heading,
            tickets=ticket_rows(record, original, effective, priorities),
            facts=facts,
        )
    keys = _issue_keys(kind, original)
    kept = set(_issue_keys(kind, effective))
    requested = _requested_targets(kind, effective)
    # The requested target is known without Jira: shown even when Jira is not read (a decided
    # action, Jira down), so a rejected transition's table says what was asked, not dashes.
    issues = [
        IssueRow(key=key, dropped=key not in kept, after=requested.get(key, "")) for key in keys
    ]
    return Preview(
        kind=kind,
        heading=heading,
        before_label=before,
        after_label=after,
        issues=issues,
        facts=facts,
    )


def _requested_targets(kind: str, details: Mapping[str, Any]) -> dict[str, str]:
    """Per issue, what the action asks for it (target status, sprint, assignee, points)."""
    keys = _issue_keys(kind, details)
    if kind == "points":
        return {str(u["issueKey"]): f"{u['storyPoints']:g}" for u in details.get("updates") or ()}
    target = {
        "transition": details.get("targetStatus"),
        "sprint": details.get("sprintId"),
        "assign": _assignee_label(details.get("assignee"), {}) if "assignee" in details else None,
    }.get(kind)
    return {key: str(target) for key in keys} if target is not None else {}


def _issue_keys(kind: str, details: Mapping[str, Any]) -> list[str]:
    if kind == "points":  # the issues are in `updates`, in their order
        return [str(u["issueKey"]) for u in details.get("updates") or ()]
    if isinstance(details.get("issueKeys"), list):
        return [str(k) for k in details["issueKeys"]]
    return sorted(issue_keys_of(details))


def _name(value: Any, *names: str) -> str:
    if isinstance(value, Mapping):
        for name in names:
            if value.get(name):
                return str(value[name])
    return ""


async def _fill_from_jira(
    gateway: Gateway, record: ActionRecord, effective: Mapping[str, Any], preview: Preview
) -> None:
    if preview.kind == "tickets":
        sprint = effective.get("sprintId")
        if sprint is not None:
            preview.facts = [
                (label, await _sprint_label(gateway, sprint) if label == "Sprint" else value)
                for label, value in preview.facts
            ]
        return
    if not preview.issues:
        return
    sprint_field = gateway.settings.jira.sprint_field
    fields = ["summary", "status", "issuetype", "assignee", sprint_field]
    points_field = None
    if preview.kind == "points":
        points_field = await gateway.story_points_field()
        fields.append(points_field)
    found = await gateway.get_issues([row.key for row in preview.issues], fields)
    target_sprint = (
        await _sprint_label(gateway, effective["sprintId"]) if preview.kind == "sprint" else ""
    )
    new_points = {str(u["issueKey"]): u["storyPoints"] for u in effective.get("updates") or ()}
    names: dict[str, str] = {}
    for issue in found.values():
        assignee = ((issue or {}).get("fields") or {}).get("assignee")
        if isinstance(assignee, Mapping) and assignee.get("accountId"):
            names[str(assignee["accountId"])] = _name(assignee, "displayName")
    new_assignee = effective.get("assignee") if preview.kind == "assign" else None
    if isinstance(new_assignee, str) and new_assignee != "-1" and new_assignee not in names:
        # The new assignee by name, so the reviewer does not have to decode an account id.
        user = await gateway.get_user(new_assignee)
        if user is not None and user.get("displayName"):
            names[new_assignee] = str(user["displayName"])
    for row in preview.issues:
        issue = found.get(row.key)
        if issue is None:
            row.found = False
            row.note = "Not found in Jira"
            continue
        values = issue.get("fields") or {}
        row.summary = str(values.get("summary") or "")
        row.status = _name(values.get("status"), "name")
        row.issue_type = _name(values.get("issuetype"), "name")
        if preview.kind == "transition":
            await _transition_row(gateway, row, str(effective["targetStatus"]))
        elif preview.kind == "assign":
            row.before = _name(values.get("assignee"), "displayName", "accountId") or "Unassigned"
            row.after = _assignee_label(effective.get("assignee"), names)
        elif preview.kind == "sprint":
            sprints = values.get(sprint_field) or []
            current = sprints[-1] if isinstance(sprints, list) and sprints else sprints
            row.before = _name(current, "name") or "No sprint (backlog)"
            row.after = target_sprint
        elif preview.kind == "points" and points_field is not None:
            before = values.get(points_field)
            row.before = "—" if before is None else f"{before:g}"
            after = new_points.get(row.key)
            row.after = "—" if after is None else f"{after:g}"


async def _transition_row(gateway: Gateway, row: IssueRow, target: str) -> None:
    row.before = row.status
    row.after = target
    if row.status == target:  # exact, as the adapter matches
        row.available = True
        row.note = f"Already {row.status}; nothing changes"
        return
    transitions = await gateway.get_transitions(row.key)
    reachable = [str((t.get("to") or {}).get("name")) for t in transitions]
    row.available = target in reachable
    if row.available:
        row.note = "Transition available"
    else:
        options = ", ".join(reachable) or "none"
        row.note = f"Not available from {row.status} (can go to: {options})"


def _assignee_label(value: Any, names: Mapping[str, str]) -> str:
    if value is None:
        return "Unassigned"
    if value == "-1":
        return "Project default assignee"
    known = names.get(str(value))
    return f"{known} ({value})" if known else str(value)


async def _sprint_label(gateway: Gateway, ref: Any) -> str:
    """`sprint_42 (active)` for an id or a name, or the reference itself if Jira has no such."""
    board = gateway.settings.jira.board_id
    if board is None:
        return str(ref)
    sprints = await gateway.list_sprints(board)
    for sprint in sprints:
        if str(sprint.get("id")) == str(ref) or str(sprint.get("name", "")) == str(ref):
            return f"{sprint.get('name')} ({sprint.get('state')})"
    return f"{ref} (not found on board {board})"

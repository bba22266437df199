"""The reviewer's queue and history as rows: what each pending action is, at a glance.

Filtering and sorting happen here on the records `InboxBackend.pending_for` returns (a
reviewer's queue is small: at most a few hundred items), so the page works without any
JavaScript: the filters are plain query parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jiragate.catalog import count_of, project_of
from jiragate.gateway.records import ActionRecord, ActionStatus

SORTS = {
    "oldest": "Oldest first",
    "newest": "Newest first",
    "expiry": "Expires soonest",
    "count": "Most issues",
}
DECIDED = [
    ActionStatus.APPROVED,
    ActionStatus.EXECUTING,
    ActionStatus.EXECUTED,
    ActionStatus.PARTIALLY_EXECUTED,
    ActionStatus.FAILED,
    ActionStatus.REJECTED,
    ActionStatus.EXPIRED,
]
#: Status → (text label, tone for the badge colour). The label is always shown.
STATUS_BADGES = {
    ActionStatus.PENDING_APPROVAL: ("Waiting for review", "pending"),
    ActionStatus.APPROVED: ("Approved, queued", "info"),
    ActionStatus.EXECUTING: ("Running in Jira", "info"),
    ActionStatus.EXECUTED: ("Executed", "ok"),
    ActionStatus.PARTIALLY_EXECUTED: ("Partly executed", "warn"),
    ActionStatus.FAILED: ("Failed", "bad"),
    ActionStatus.REJECTED: ("Rejected", "bad"),
    ActionStatus.EXPIRED: ("Expired", "muted"),
    ActionStatus.DENIED: ("Denied by policy", "bad"),
}


def action_title(action: str) -> str:
    """`jira_create_tickets` → `Create tickets`."""
    words = action.removeprefix("jira_").replace("_", " ")
    return words[:1].upper() + words[1:]


def duration(seconds: float) -> str:
    """A short, human duration: `45 s`, `12 min`, `2 h 05 min`, `3 d 4 h`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: str
    agent: str
    action: str
    title: str
    summary: str
    project: str
    count: int
    priority: str
    group: str
    rule: str
    reason: str
    created_at: datetime
    expires_at: datetime | None
    age: str
    time_left: str
    urgent: bool  # less than a quarter of an hour left
    status: str
    status_label: str
    status_tone: str
    decided_at: datetime | None = None
    reviewers: str = ""
    note: str = ""
    outcome: str = ""


def row_of(record: ActionRecord, now: datetime) -> QueueRow:
    decision: Mapping[str, Any] = record.decision_json or {}
    details = record.effective_details or record.details
    try:
        count = count_of(record.action, details)
    except (KeyError, TypeError, ValueError):
        count = 0
    left = (record.expires_at - now).total_seconds() if record.expires_at else None
    label, tone = STATUS_BADGES.get(record.status, (record.status.value, "muted"))
    return QueueRow(
        id=record.id,
        agent=record.agent,
        action=record.action,
        title=action_title(record.action),
        summary=record.summary,
        project=project_of(details) or "",
        count=count,
        priority=str(details.get("priority") or ""),
        group=record.review_group or "",
        rule=record.determining_rule or "defaults",
        reason=str((decision.get("reasons") or [""])[0]),
        created_at=record.created_at,
        expires_at=record.expires_at,
        age=duration((now - record.created_at).total_seconds()),
        time_left="no limit" if left is None else duration(left),
        urgent=left is not None and left < 15 * 60,
        status=record.status.value,
        status_label=label,
        status_tone=tone,
        decided_at=record.decided_at,
        reviewers=", ".join(record.reviewers or []),
        note=record.decision_note or "",
        outcome=outcome_of(record),
    )


def outcome_of(record: ActionRecord) -> str:
    """What happened in Jira, in one line (created keys, updated issues, the error)."""
    result: Mapping[str, Any] = record.result_json or {}
    created = [str(c.get("key")) for c in result.get("created") or [] if isinstance(c, Mapping)]
    updated = [str(k) for k in result.get("updated") or []]
    parts = []
    if created:
        parts.append(f"Created {', '.join(created)}")
    if updated:
        parts.append(f"Updated {', '.join(updated)}")
    failures = result.get("failures") or []
    if failures:
        parts.append(f"{len(failures)} failed")
    if record.error and not failures:
        parts.append(record.error)
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """The queue's query parameters, checked: unknown values fall back to "all"."""

    group: str = ""
    action: str = ""
    project: str = ""
    sort: str = "oldest"
    #: Free-text search: every word must appear in the summary, agent, action, project,
    #: group, rule, reason or id (case-insensitive).
    q: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> QueueQuery:
        sort = params.get("sort", "oldest")
        return cls(
            group=params.get("group", "")[:200],
            action=params.get("action", "")[:100],
            project=params.get("project", "")[:20],
            sort=sort if sort in SORTS else "oldest",
            q=" ".join(params.get("q", "").split())[:200],
        )

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "group": self.group,
            "action": self.action,
            "project": self.project,
            "sort": self.sort,
            "q": self.q,
            **changes,
        }
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "oldest")}

    @property
    def filtered(self) -> bool:
        return bool(self.group or self.action or self.project or self.q)


def apply_query(rows: Iterable[QueueRow], query: QueueQuery) -> list[QueueRow]:
    kept = [
        row
        for row in rows
        if (not query.group or row.group == query.group)
        and (not query.action or row.action == query.action)
        and (not query.project or row.project == query.project)
        and matches(row, query.q)
    ]
    if query.sort == "newest":
        kept.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    elif query.sort == "expiry":
        kept.sort(key=lambda r: (r.expires_at is None, r.expires_at or r.created_at, r.id))
    elif query.sort == "count":
        kept.sort(key=lambda r: (-r.count, r.created_at, r.id))
    else:
        kept.sort(key=lambda r: (r.created_at, r.id))
    return kept


def matches(row: QueueRow, search: str) -> bool:
    """Whether every word of `search` is in the row's searchable text (empty: everything)."""
    words = search.casefold().split()
    if not words:
        return True
    fields = (row.summary, row.agent, row.action, row.title, row.project, row.group, row.rule)
    text = " ".join((*fields, row.reason, row.id, row.reviewers, row.note)).casefold()
    return all(word in text for word in words)


def fingerprint(rows: Sequence[QueueRow]) -> str:
    """Changes when an item arrives, leaves, or changes status: what the poller compares."""
    text = "|".join(f"{r.id}:{r.status}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

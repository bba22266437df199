"""Attachment owners: the issue each attachment was on when Jiragate last saw it listed.

Jira's attachment metadata (`GET /attachment/{id}`) names no issue, and attachment ids are
sequential, so the proxy cannot ask Jira which project `/attachment/{id}` belongs to. The
gateway learns it instead from what it hands agents (an issue or search answer listing the
issue's `fields.attachment`) and records it here; `/attachment/{id}` is then scoped by that
project, and an id never seen is refused (gateway/attachments.py). One row per attachment,
the newest sighting wins (an issue moved to another project is seen under its new key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from jiragate.store.dberrors import database_errors
from jiragate.store.models import AttachmentOwner

#: Rows per INSERT: well under SQLite's 32766 bound parameters (5 a row).
_CHUNK = 500


def _table() -> sa.Table:
    table = AttachmentOwner.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


@dataclass(frozen=True, slots=True)
class SeenAttachment:
    """An attachment as an issue listed it: its id and the issue's id, key and project."""

    attachment_id: str
    issue_id: str
    issue_key: str
    project_key: str


def learn(engine: Engine, rows: Iterable[SeenAttachment], now: datetime) -> int:
    """Record (or refresh) each attachment's owner; the number of distinct rows written."""
    latest = {row.attachment_id: row for row in rows}  # the last sighting in one answer wins
    if not latest:
        return 0
    values = [
        {
            "attachment_id": row.attachment_id,
            "issue_id": row.issue_id,
            "issue_key": row.issue_key,
            "project_key": row.project_key,
            "seen_at": now,
        }
        for row in latest.values()
    ]
    table = _table()
    dialect = engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with database_errors(), engine.begin() as connection:
        for start in range(0, len(values), _CHUNK):
            statement = insert(table).values(values[start : start + _CHUNK])
            excluded = statement.excluded
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.attachment_id],
                    set_={
                        "issue_id": excluded.issue_id,
                        "issue_key": excluded.issue_key,
                        "project_key": excluded.project_key,
                        "seen_at": excluded.seen_at,
                    },
                )
            )
    return len(values)


def owner(engine: Engine, attachment_id: str) -> SeenAttachment | None:
    """The issue attachment `attachment_id` was last seen on, or None if never seen."""
    table = _table()
    query = sa.select(
        table.c.attachment_id, table.c.issue_id, table.c.issue_key, table.c.project_key
    ).where(table.c.attachment_id == attachment_id)
    with database_errors(), engine.connect() as connection:
        found = connection.execute(query).first()
    return SeenAttachment(*found) if found is not None else None


def forget(engine: Engine, attachment_id: str) -> None:
    """Drop an attachment's row (Jira no longer lists it on that issue)."""
    table = _table()
    with database_errors(), engine.begin() as connection:
        connection.execute(table.delete().where(table.c.attachment_id == attachment_id))

"""Attachment owners: the issue each attachment was on when Jiragate last saw it listed.

Jira's attachment metadata (`GET /attachment/{id}`) names no issue, and attachment ids are
sequential, so the proxy cannot ask Jira which project `/attachment/{id}` belongs to. The
gateway learns it instead from what it hands agents (an issue or search answer listing the
issue's `fields.attachment`) and records it here; `/attachment/{id}` is then scoped by that
project, and an id never seen is refused (gateway/attachments.py). One row per attachment,
the newest sighting wins (an issue moved to another project is seen under its new key).

Most sightings change nothing (every read of an issue, every download confirming its
owner), so `learn` reads the rows first, without the write lock (SQLite's `BEGIN DEFERRED`),
and writes only the attachments whose owner differs; the upsert repeats the test (`ON
CONFLICT ... DO UPDATE ... WHERE` a column differs), so a concurrent identical sighting
rewrites nothing either. `seen_at` is when the row's current owner was first recorded.
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


def _reading(engine: Engine) -> Engine:
    """The engine for a read: on SQLite a deferred BEGIN, which takes no write lock."""
    return engine.execution_options(sqlite_begin="DEFERRED")


def _stored(engine: Engine, idents: list[str]) -> dict[str, SeenAttachment]:
    table = _table()
    found: dict[str, SeenAttachment] = {}
    columns = (table.c.attachment_id, table.c.issue_id, table.c.issue_key, table.c.project_key)
    with database_errors(), _reading(engine).connect() as connection:
        for start in range(0, len(idents), _CHUNK):
            chunk = idents[start : start + _CHUNK]
            query = sa.select(*columns).where(table.c.attachment_id.in_(chunk))
            for row in connection.execute(query):
                found[row[0]] = SeenAttachment(*row)
    return found


def learn(engine: Engine, rows: Iterable[SeenAttachment], now: datetime) -> int:
    """Record each attachment's owner where it is new or changed; the number of rows
    written (0, with no write transaction at all, when every owner is as stored)."""
    latest = {row.attachment_id: row for row in rows}  # the last sighting in one answer wins
    if not latest:
        return 0
    stored = _stored(engine, list(latest))
    changed = [row for ident, row in latest.items() if stored.get(ident) != row]
    if not changed:
        return 0
    values = [
        {
            "attachment_id": row.attachment_id,
            "issue_id": row.issue_id,
            "issue_key": row.issue_key,
            "project_key": row.project_key,
            "seen_at": now,
        }
        for row in changed
    ]
    table = _table()
    dialect = engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with database_errors(), engine.begin() as connection:
        for start in range(0, len(values), _CHUNK):
            statement = insert(table).values(values[start : start + _CHUNK])
            excluded = statement.excluded
            owner_columns = ("issue_id", "issue_key", "project_key")
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.attachment_id],
                    set_={
                        "issue_id": excluded.issue_id,
                        "issue_key": excluded.issue_key,
                        "project_key": excluded.project_key,
                        "seen_at": excluded.seen_at,
                    },
                    # Written meanwhile with the same owner: nothing to rewrite.
                    where=sa.or_(*(table.c[c] != excluded[c] for c in owner_columns)),
                )
            )
    return len(changed)


def owner(engine: Engine, attachment_id: str) -> SeenAttachment | None:
    """The issue attachment `attachment_id` was last seen on, or None if never seen."""
    return _stored(engine, [attachment_id]).get(attachment_id)


def forget(engine: Engine, attachment_id: str) -> None:
    """Drop an attachment's row (Jira no longer lists it on that issue)."""
    table = _table()
    with database_errors(), engine.begin() as connection:
        connection.execute(table.delete().where(table.c.attachment_id == attachment_id))

"""The append-only, hash-chained audit trail.

Each event's `hash = sha256(canonical_json(event without hash) + prev_hash)`, where the first
event's `prev_hash` is 64 zeros. Events are numbered without gaps (`seq` = last + 1, assigned
under a lock), so `verify` can tell an edited, deleted, reordered or inserted event and name
the first bad `seq`. See docs/audit.md.

`append` runs inside the caller's transaction, so a state change and the event that records
it commit (or roll back) together. Appends are serialized across processes: on PostgreSQL by
a transaction-scoped advisory lock, on SQLite by the write lock every `BEGIN IMMEDIATE`
transaction takes (see `db.make_engine`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from jiragate.store.models import AuditEvent, new_id, utcnow

GENESIS_HASH = "0" * 64
# An arbitrary fixed bigint: the key of the PostgreSQL advisory lock that serializes appends.
AUDIT_LOCK_KEY = 0x6A697261_61756474  # "jiraaudt"

_SECRET_KEY_PATTERN = re.compile(
    r"token|secret|passw(or)?d|api[-_]?key|authori[sz]ation|cookie|credential|"
    r"connection[-_]?key|private[-_]?key|signature",
    re.IGNORECASE,
)
REDACTED = "***redacted***"


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An audit event to append along with a repository call (same transaction)."""

    actor: str
    type: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify`. `first_bad_seq` is None when the chain is intact."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.checked} events, head #{self.head_seq} {self.head_hash}"
        return f"audit chain BROKEN at seq {self.first_bad_seq}: {self.problem}"


# --------------------------------------------------------------------------- hashing


def canonical_json(value: Any) -> str:
    """One byte-exact JSON text per value: sorted keys, no spaces, no NaN, UTF-8 kept."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as it will read back from a JSON column, so what we hash is what we store."""
    if not isinstance(data, Mapping):
        raise TypeError(f"audit data must be a mapping, got {type(data).__name__}")
    try:
        loaded: dict[str, Any] = json.loads(canonical_json(dict(data)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"audit data is not JSON-serializable: {exc}") from exc
    return loaded


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """The event without its hash, in the form that is hashed and exported."""
    return {
        "seq": event.seq,
        "id": event.id,
        "at": _iso(event.at),
        "action_id": event.action_id,
        "actor": event.actor,
        "type": event.type,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }


def compute_hash(event: AuditEvent) -> str:
    payload = canonical_json(hashed_fields(event)) + event.prev_hash
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- writing


def insert_row(session: Session, row: SQLModel) -> None:
    """INSERT one table row without the ORM's unit of work: several times cheaper on the hot
    path, and the row object stays a plain (transient) value for the caller."""
    table = row.__table__  # type: ignore[attr-defined]
    # Values go as parameters, not into the statement, so its compiled form is cached.
    session.execute(sa.insert(table), {c.name: getattr(row, c.name) for c in table.columns})


def append(
    session: Session,
    *,
    action_id: str | None,
    actor: str,
    type: str,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction; it commits with the caller's changes."""
    if not actor or not type:
        raise ValueError("an audit event needs a non-empty actor and type")
    if session.get_bind().dialect.name == "postgresql":
        # Held until the caller's transaction ends, so the next appender sees our row.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = session.execute(
        sa.select(col(AuditEvent.seq), col(AuditEvent.hash))
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    ).first()
    event = AuditEvent(
        id=new_id("evt"),  # explicit: see Store.create_action on default factories
        seq=1 if last is None else last.seq + 1,
        at=at or utcnow(),
        action_id=action_id,
        actor=actor,
        type=type,
        data=_jsonable(data or {}),
        prev_hash=GENESIS_HASH if last is None else last.hash,
        hash="",
    )
    event.hash = compute_hash(event)
    insert_row(session, event)
    return event


def append_note(session: Session, action_id: str | None, note: AuditNote | None) -> None:
    if note is not None:
        append(session, action_id=action_id, actor=note.actor, type=note.type, data=note.data)


# --------------------------------------------------------------------------- reading


def _iter_events(engine: Engine, *, after: int = 0) -> Generator[AuditEvent, None, None]:
    with Session(engine.execution_options(sqlite_begin="DEFERRED")) as session:
        result = session.exec(
            select(AuditEvent)
            .where(AuditEvent.seq > after)
            .order_by(AuditEvent.seq)  # type: ignore[arg-type]
            .execution_options(yield_per=500)
        )
        try:
            yield from result
        finally:
            result.close()  # a server-side cursor on PostgreSQL: close it before the session


def verify(engine: Engine, *, expect_head: str | None = None) -> VerifyReport:
    """Walk the chain from the first event; report the first event that breaks it.

    `expect_head` is a head hash recorded earlier outside the database (see docs/audit.md):
    without it, deleting the newest events is indistinguishable from never writing them.
    """
    with closing(_iter_events(engine)) as events:
        return _walk(events, expect_head=expect_head)


def _walk(events: Iterator[AuditEvent], *, expect_head: str | None) -> VerifyReport:
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in events:
        problem: str | None = None
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                problem = f"events {expected_seq}..{event.seq - 1} are missing (deleted?)"
            else:
                problem = f"seq {event.seq} is out of order"
        elif event.prev_hash != prev_hash:
            problem = (
                f"prev_hash does not match the hash of event {expected_seq - 1} "
                "(an event before it was changed, removed or inserted)"
            )
        elif compute_hash(event) != event.hash:
            problem = "its contents do not match its hash (the event was edited)"
        if problem is not None:
            return VerifyReport(
                ok=False,
                checked=checked,
                head_seq=expected_seq - 1,
                head_hash=prev_hash,
                first_bad_seq=expected_seq,
                problem=problem,
            )
        checked += 1
        expected_seq += 1
        prev_hash = event.hash
    head_seq = expected_seq - 1
    if expect_head is not None and expect_head != prev_hash:
        return VerifyReport(
            ok=False,
            checked=checked,
            head_seq=head_seq,
            head_hash=prev_hash,
            first_bad_seq=head_seq + 1,
            problem="the newest event is not the expected head (events were removed at the end)",
        )
    return VerifyReport(ok=True, checked=checked, head_seq=head_seq, head_hash=prev_hash)


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    return {**hashed_fields(event), "hash": event.hash}


def export_jsonl(engine: Engine, fp: IO[str], *, since: int | datetime | None = None) -> int:
    """Write events as JSON lines (hash included), oldest first; return how many.

    `since` is a seq (events after it) or a datetime (events at or after it).
    """
    after = since if isinstance(since, int) else 0
    count = 0
    with closing(_iter_events(engine, after=after)) as events:
        for event in events:
            if isinstance(since, datetime) and event.at < since:
                continue
            fp.write(canonical_json(event_as_dict(event)) + "\n")
            count += 1
    return count


def list_events(
    engine: Engine,
    *,
    action_id: str | None = None,
    limit: int = 100,
    after: int | None = None,
) -> list[AuditEvent]:
    """Events oldest first, optionally for one action, after a seq (for paging)."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000, got {limit}")
    query = select(AuditEvent).order_by(AuditEvent.seq).limit(limit)  # type: ignore[arg-type]
    if action_id is not None:
        query = query.where(AuditEvent.action_id == action_id)
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    with Session(engine.execution_options(sqlite_begin="DEFERRED")) as session:
        return list(session.exec(query))


# --------------------------------------------------------------------------- secrets


def redact(data: Any, *, mask: str = REDACTED) -> Any:
    """A copy of `data` with the values of secret-looking keys masked, at any depth.

    Keys named like token, secret, password, api_key/apiKey, authorization, cookie,
    credential, connection key, private key or signature are masked. Call it on anything
    that may carry credentials before passing it to `append`.
    """
    if isinstance(data, Mapping):
        return {
            key: mask
            if isinstance(key, str) and _SECRET_KEY_PATTERN.search(key)
            else redact(value, mask=mask)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(item, mask=mask) for item in data]
    return data

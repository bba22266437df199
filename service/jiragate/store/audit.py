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

import functools
import hashlib
import json
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from jiragate.redaction import redact_value
from jiragate.store import changes
from jiragate.store.dberrors import database_errors
from jiragate.store.models import AuditEvent, new_id, utcnow
from jiragate.store.rawinsert import insert_many

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


# ASCII digits only: `\d` would take "٣" for 3, and int() would agree.
_ANCHOR = re.compile(r"#?(?P<seq>[0-9]{1,19})(?::|\s+)(?P<hash>[0-9a-fA-F]{64})")
_BARE_HASH = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head recorded outside the database: event `seq` had hash `hash`.

    Written `SEQ:HASH` (what `jiragate audit head` and `verify` print); `#SEQ HASH` is read
    too. A bare `HASH` (seq None) is located by value: every hash commits to the whole chain
    before it, so at most one position can hold it.
    """

    seq: int | None
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        text = text.strip()
        if match := _ANCHOR.fullmatch(text):
            seq, digest = int(match["seq"]), match["hash"].lower()
            if seq == 0 and digest != GENESIS_HASH:
                # Seq 0 is the empty chain, whose only hash is the genesis hash.
                raise ValueError(f"anchor seq 0 is the empty chain; its hash is {GENESIS_HASH}")
            return cls(seq, digest)
        if _BARE_HASH.fullmatch(text):
            return cls(None, text.lower())
        raise ValueError(
            f"expected an anchor SEQ:HASH (e.g. 42:{'ab' * 32}) or a 64-digit hex hash, "
            f"got {text[:80]!r}"
        )

    def __str__(self) -> str:
        return self.hash if self.seq is None else f"{self.seq}:{self.hash}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify`. `first_bad_seq` is None when the chain is intact."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    #: The anchor checked, with the seq it was found at (None: no anchor given).
    anchor: Anchor | None = None

    @property
    def head(self) -> str:
        """The head as an anchor to record: `SEQ:HASH`."""
        return f"{self.head_seq}:{self.head_hash}"

    def __str__(self) -> str:
        if not self.ok:
            return f"audit chain BROKEN at seq {self.first_bad_seq}: {self.problem}"
        line = f"audit chain OK: {self.checked} events, head {self.head}"
        if self.anchor is not None and self.anchor.seq is not None:
            grown = self.head_seq - self.anchor.seq
            line += (
                f"\nanchor {self.anchor.seq}:{self.anchor.hash[:12]}… is still in the chain; "
                f"{grown} event{'s' if grown != 1 else ''} appended since. "
                f"Record the new head: {self.head}"
            )
        return line


# --------------------------------------------------------------------------- hashing


def canonical_json(value: Any) -> str:
    """One byte-exact JSON text per value: sorted keys, no spaces, no NaN, UTF-8 kept."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def payload_hash(details: Mapping[str, Any]) -> str:
    """The hash an approval is bound to: exactly the payload that will run."""
    return hashlib.sha256(canonical_json(dict(details)).encode()).hexdigest()


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


#: An event's fields that are hashed (and exported), in this order; `hash` is not.
_HASHED = ("seq", "id", "at", "action_id", "actor", "type", "data", "prev_hash")


def _hashed(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _iso(row[name]) if name == "at" else row[name] for name in _HASHED}


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """The event without its hash, in the form that is hashed and exported."""
    return _hashed({name: getattr(event, name) for name in _HASHED})


def _chained_hash(fields: Mapping[str, Any]) -> str:
    payload = canonical_json(fields) + fields["prev_hash"]
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def compute_hash(event: AuditEvent) -> str:
    return _chained_hash(hashed_fields(event))


# --------------------------------------------------------------------------- writing


def insert_row(session: Session, row: SQLModel) -> None:
    """INSERT one table row without the ORM: no unit of work and no ORM-enabled INSERT
    (straight to the driver, store/rawinsert.py), and the row object stays a plain
    (transient) value for the caller."""
    insert_rows(session, [row])


@functools.cache
def _column_names(table: sa.Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.columns)


def insert_rows(session: Session, rows: Sequence[SQLModel]) -> None:
    """`insert_row` for several rows of one table, in one statement (executemany)."""
    if rows:
        table = rows[0].__table__  # type: ignore[attr-defined]
        names = _column_names(table)
        insert_many(session, table, [{name: getattr(row, name) for name in names} for row in rows])


_AUDIT_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
# Built once, like the INSERTs: a `.limit(1)` per call is a new construct to cache-key.
_HEAD = (
    sa.select(_AUDIT_TABLE.c.seq, _AUDIT_TABLE.c.hash).order_by(_AUDIT_TABLE.c.seq.desc()).limit(1)
)
# Where a transaction keeps the chain's head once it has read it under the lock: the lock is
# held until the transaction ends, so no other writer can move the head meanwhile, and the
# next append in the same transaction need not read it again. Stored with the transaction it
# belongs to, so a session's next transaction reads the head afresh.
_HEAD_KEY = "jiragate.audit_head"


def _locked_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest event, under the appenders' lock (taken once per
    transaction: PostgreSQL's advisory lock; SQLite's write lock is already held)."""
    transaction = session.get_transaction()
    known = session.info.get(_HEAD_KEY)
    if known is not None and known[0] is transaction:
        return known[1], known[2]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Held until the caller's transaction ends, so the next appender sees our row.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = connection.execute(_HEAD).first()
    return (0, GENESIS_HASH) if last is None else (last.seq, last.hash)


def append(
    session: Session,
    *,
    action_id: str | None,
    actor: str,
    type: str,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction; it commits with the caller's changes."""
    _append_rows(session, [(action_id, actor, type, data, at)])


def append_note(session: Session, action_id: str | None, note: AuditNote | None) -> None:
    if note is not None:
        append(session, action_id=action_id, actor=note.actor, type=note.type, data=note.data)


def append_notes(session: Session, notes: Sequence[tuple[str | None, AuditNote]]) -> None:
    """Append several events, chained in the order given, with one INSERT (a group commit's
    events: one statement instead of one per event)."""
    _append_rows(
        session, [(action_id, note.actor, note.type, note.data, None) for action_id, note in notes]
    )


_EventFields = tuple[str | None, str, str, Mapping[str, Any] | None, datetime | None]


def _append_rows(session: Session, events: Sequence[_EventFields]) -> None:
    if not events:
        return
    for _, actor, type, _, _ in events:
        if not actor or not type:
            raise ValueError("an audit event needs a non-empty actor and type")
    last_seq, prev_hash = _locked_head(session)
    rows: list[dict[str, Any]] = []
    for action_id, actor, type, data, at in events:
        last_seq += 1
        row: dict[str, Any] = {
            "seq": last_seq,
            "id": new_id("evt"),
            "at": at or utcnow(),
            "action_id": action_id,
            "actor": actor,
            "type": type,
            # Masked before hashing, so the chain covers exactly what is stored.
            "data": _jsonable(redact_value(data or {})),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = _chained_hash(_hashed(row))
        rows.append(row)
        # Every change to an action is committed with an event for it: waiters learn of it.
        changes.note_changed(session, action_id)
    insert_many(session, _AUDIT_TABLE, rows)
    session.info[_HEAD_KEY] = (session.get_transaction(), last_seq, prev_hash)


# --------------------------------------------------------------------------- reading


def _iter_events(engine: Engine, *, after: int = 0) -> Generator[AuditEvent, None, None]:
    with database_errors(), Session(engine.execution_options(sqlite_begin="DEFERRED")) as session:
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


def verify(engine: Engine, *, expect_head: Anchor | str | None = None) -> VerifyReport:
    """Walk the chain from the first event; report the first event that breaks it.

    `expect_head` is a head recorded earlier outside the database (see docs/audit.md):
    without it, deleting the newest events is indistinguishable from never writing them. It
    is a prefix check: the chain must still hold that event at that position with that hash;
    events appended since are fine.
    """
    anchor = Anchor.parse(expect_head) if isinstance(expect_head, str) else expect_head
    with closing(_iter_events(engine)) as events:
        return _walk(events, anchor=anchor)


def _walk(events: Iterator[AuditEvent], *, anchor: Anchor | None) -> VerifyReport:
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    anchored_at: int | None = _genesis_position(anchor)
    for event in events:
        problem = _link_problem(event, expected_seq, prev_hash)
        if problem is None and anchor is not None:
            problem = _anchor_problem(event, anchor)
            if event.hash == anchor.hash and problem is None:
                anchored_at = event.seq
        if problem is not None:
            return VerifyReport(
                ok=False,
                checked=checked,
                head_seq=expected_seq - 1,
                head_hash=prev_hash,
                first_bad_seq=expected_seq,
                problem=problem,
                anchor=anchor,
            )
        checked += 1
        expected_seq += 1
        prev_hash = event.hash
    head_seq = expected_seq - 1
    if anchor is not None and anchored_at is None:
        return VerifyReport(
            ok=False,
            checked=checked,
            head_seq=head_seq,
            head_hash=prev_hash,
            first_bad_seq=head_seq + 1,
            problem=_missing_anchor(anchor, head_seq),
            anchor=anchor,
        )
    found = None if anchor is None else Anchor(anchored_at, anchor.hash)
    return VerifyReport(
        ok=True, checked=checked, head_seq=head_seq, head_hash=prev_hash, anchor=found
    )


def _genesis_position(anchor: Anchor | None) -> int | None:
    """0 for the anchor of an empty chain (`0:000…`), which every chain extends."""
    if anchor is not None and anchor.hash == GENESIS_HASH and anchor.seq in (0, None):
        return 0
    return None


def _link_problem(event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        if event.seq > expected_seq:
            return f"events {expected_seq}..{event.seq - 1} are missing (deleted?)"
        return f"seq {event.seq} is out of order"
    if event.prev_hash != prev_hash:
        return (
            f"prev_hash does not match the hash of event {expected_seq - 1} "
            "(an event before it was changed, removed or inserted)"
        )
    if compute_hash(event) != event.hash:
        return "its contents do not match its hash (the event was edited)"
    return None


def _anchor_problem(event: AuditEvent, anchor: Anchor) -> str | None:
    if anchor.seq is not None and event.seq != anchor.seq and event.hash == anchor.hash:
        # The anchor names a position: its hash found elsewhere is not that position.
        return (
            f"the anchored hash {anchor.hash[:12]}… is event {event.seq}'s, not event "
            f"{anchor.seq}'s: the anchor does not describe this chain"
        )
    if anchor.seq is None or event.seq != anchor.seq or event.hash == anchor.hash:
        return None
    return (
        f"event {event.seq} has hash {event.hash[:12]}…, but the anchor {anchor.seq}:"
        f"{anchor.hash[:12]}… says otherwise: the chain was rewritten at or before seq "
        f"{event.seq}"
    )


def _missing_anchor(anchor: Anchor, head_seq: int) -> str:
    if anchor.seq is None:
        return (
            f"the anchored hash {anchor.hash[:12]}… is nowhere in the chain (head is seq "
            f"{head_seq}): events were removed at the end, or the chain was rewritten"
        )
    return (
        f"the chain ends at seq {head_seq}, before the anchored event {anchor.seq}: "
        "events were removed at the end"
    )


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
    with database_errors(), Session(engine.execution_options(sqlite_begin="DEFERRED")) as session:
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

"""Engines, migrations and the repository the gateway calls.

SQLite (the default, `sqlite:///./jiragate.db`) runs in WAL mode and every write transaction
starts with `BEGIN IMMEDIATE`: it takes the database's write lock up front (waiting up to
`busy_timeout`), so a read-then-write transaction can never fail half-way on a lock upgrade,
and SQLite's writers are serialized across processes. PostgreSQL (`postgresql+psycopg://…`)
runs at READ COMMITTED; the claim uses `SELECT … FOR UPDATE SKIP LOCKED` so workers on many
replicas never claim the same action.

Every `Store` method runs in its own short transaction and may take an `audit=AuditNote(...)`
that is appended in that same transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from jiragate.errors import (
    IdempotencyConflictError,
    StoreError,
    StoreIntegrityError,
)
from jiragate.redaction import redact_text, redact_value
from jiragate.store import attachments, audit, budgets, changes
from jiragate.store.audit import AuditNote, canonical_json, insert_row
from jiragate.store.dberrors import database_error_text, database_errors, driver_errors
from jiragate.store.models import (
    ACTIVE_POLICY,
    EXECUTOR_JIRAGATE,
    ActionRecord,
    ActionStatus,
    AuditEvent,
    Execution,
    PolicyState,
    build_row,
    new_action_id,
    new_id,
    utcnow,
)

DEFAULT_URL = "sqlite:///./jiragate.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary fixed bigint: the PostgreSQL advisory lock that serializes migrations, so
# replicas starting together do not race to create the same tables.
MIGRATION_LOCK_KEY = 0x6A697261_6D696772  # "jiramigr"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The WAL size (pages) at which a committing request checkpoints it itself. SQLite's default
#: is 1,000 pages: recording a read writes ~23, so every ~45th read paid a whole checkpoint
#: (copying the WAL into the database and syncing it: p99 of recording 25 ms, against 6 ms
#: without, measured 2026-12-04). Serving processes checkpoint in the background instead
#: (`Store.checkpoint`, run by `Gateway.checkpoint_wal`); this higher bound only keeps the
#: WAL from growing without end if that ever stalls.
SQLITE_REQUEST_CHECKPOINT_PAGES = 20_000

# Columns a transition may set besides status (never the identity or the request itself).
_IMMUTABLE_COLUMNS = frozenset(
    {"id", "created_at", "agent", "action", "details", "idempotency_key", "request_hash"}
)
_SETTABLE_COLUMNS = frozenset(ActionRecord.model_fields) - _IMMUTABLE_COLUMNS - {"status"}


# --------------------------------------------------------------------------- engine


def _normalize_url(url: str) -> str:
    # Bare postgresql:// would pick psycopg2, which is not installed; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite's own BEGIN is DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_REQUEST_CHECKPOINT_PAGES}")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    statement = f"BEGIN {mode}"
    # Straight to the driver: through exec_driver_sql, SQLAlchemy's execution context around
    # this one statement cost more than the rest of an empty transaction (~60 µs of ~270).
    # A failure (a lock held past the busy timeout) is wrapped as SQLAlchemy would wrap it,
    # so the store translates it as before (StoreUnavailableError).
    with driver_errors(statement, (), sqlite3.Error):
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]


def _sqlite_read_only_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # No journal-mode change (that is a write) and every statement refused if it writes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _postgres_read_only_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cursor.close()
    dbapi_connection.commit()


def safe_url(url: str) -> str:
    """`url` as it may be shown: any password replaced (error messages, logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return redact_text(url)


@dataclass(frozen=True, slots=True)
class PoolSize:
    """How many connections one process keeps open (`size`) and may open beyond them at a
    busy moment (`overflow`): SQLAlchemy's QueuePool `pool_size` and `max_overflow`. Every
    process of a deployment holds up to `size + overflow` (plus PostgreSQL's one listener),
    so their sum across replicas and workers must stay under the server's
    `max_connections` (docs/operations.md)."""

    size: int = 5
    overflow: int = 10


def make_engine(
    url: str | None = None,
    *,
    echo: bool = False,
    read_only: bool = False,
    pool: PoolSize | None = None,
) -> Engine:
    """An engine for `url`: SQLite (WAL, busy_timeout, BEGIN IMMEDIATE) or PostgreSQL.

    `read_only=True` (the audit CLI) never creates anything: a missing SQLite file is a
    StoreError instead of a new empty database, and every session refuses writes.
    Error messages show the URL without its password.
    """
    pool = pool or PoolSize()
    pooling = {"pool_size": pool.size, "max_overflow": pool.overflow}
    url = _normalize_url(url or DEFAULT_URL)
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"invalid database URL {safe_url(url)!r}: {type(exc).__name__}") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError(
                "in-memory SQLite is not supported (each connection would see its own "
                "database); use a file, e.g. sqlite:///./jiragate.db"
            )
        if read_only:
            return _sqlite_read_only_engine(parsed, echo=echo)
        # No pool_pre_ping: a file has no connection to drop, and the ping was one more
        # statement before every transaction.
        engine = sa.create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pooling,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise StoreError(f"use the psycopg 3 driver: postgresql+psycopg://… (got {shown!r})")
        engine = sa.create_engine(parsed, echo=echo, pool_pre_ping=True, **pooling)
        if read_only:
            event.listen(engine, "connect", _postgres_read_only_on_connect)
        return engine
    raise StoreError(
        f"unsupported database {backend!r} in {shown!r}: "
        "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
    )


def _sqlite_read_only_engine(parsed: sa.URL, *, echo: bool) -> Engine:
    path = Path(parsed.database or "")
    if not path.is_file():
        raise StoreError(f"no SQLite database at {str(path)!r} (nothing was created)")
    # mode=ro: SQLite itself refuses to create or write the file.
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    engine = sa.create_engine(
        "sqlite://",
        echo=echo,
        poolclass=sa.pool.NullPool,
        creator=lambda: sqlite3.connect(
            uri, uri=True, check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        ),
    )
    event.listen(engine, "connect", _sqlite_read_only_on_connect)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    return engine


def open_engine(url: str, *, pool: PoolSize | None = None) -> Engine:
    """`make_engine` and `init_db`, any failure a StoreError without the URL's password."""
    engine = make_engine(url, pool=pool)
    try:
        init_db(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the database {safe_url(url)}: {database_error_text(exc)}"
        ) from None
    return engine


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (safe to call from every replica at start)."""
    # Here, not at the top: a quarter second of imports that reading the store never needs.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> Callable[[], Session]:
    """Sessions whose objects stay readable after commit (they are handed to the API)."""

    def make_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return make_session


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error.

    `read_only=True` skips SQLite's up-front write lock; never write in such a transaction.
    A database failure, in the block or at commit, leaves as a StoreError (store.dberrors):
    `StoreUnavailableError` when the database is down, unreachable or locked.
    """
    bind = engine.execution_options(sqlite_begin="DEFERRED") if read_only else engine
    with database_errors(), Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
        # Last in the transaction: PostgreSQL sends these only if it commits.
        changes.announce(session, changes.changed_in(session))


# --------------------------------------------------------------------------- helpers


def request_hash(envelope: Mapping[str, Any]) -> str:
    """The fingerprint of a request body, to tell an idempotent replay from a conflict."""
    return hashlib.sha256(canonical_json(dict(envelope)).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """An attempt that already ran, to be recorded along with its action (see create_action)."""

    worker: str
    started_at: datetime
    outcome: str
    status: ActionStatus | str
    result: Mapping[str, Any] | None = None
    error: str | None = None
    audit_note: AuditNote | None = None

    def execution(self, record: ActionRecord) -> Execution:
        """The execution row of `record`, the action this run is recorded with: its result
        and error are the action row's, already masked (`Store._new_record`)."""
        return build_row(
            Execution,
            {
                "id": new_id("exe"),
                "action_id": record.id,
                "attempt": 1,
                "worker": self.worker,
                "started_at": self.started_at,
                "finished_at": record.created_at,
                "outcome": self.outcome,
                "result_json": (
                    dict(record.result_json) if record.result_json is not None else None
                ),
                "error": record.error,
            },
        )


class CreatedAction(NamedTuple):
    action: ActionRecord
    #: False when an earlier request with the same Idempotency-Key won (a replay).
    created: bool


@dataclass(frozen=True, slots=True)
class _NewAction:
    """A built action record and what is written with it, in the caller's transaction."""

    record: ActionRecord
    finished: FinishedRun | None
    audit_note: AuditNote | None

    def write(self, session: Session) -> None:
        record = self.record
        insert_row(session, record)
        audit.append_note(session, record.id, self.audit_note)
        if self.finished is not None:
            insert_row(session, self.finished.execution(record))
            audit.append_note(session, record.id, self.finished.audit_note)


def _write_batch(session: Session, news: Sequence[_NewAction]) -> None:
    """Write a batch as `_NewAction.write` writes each, one statement per table: the
    actions, their executions, then their events, chained in the order of the batch (each
    action's submission before its execution, as one at a time would have it)."""
    audit.insert_rows(session, [new.record for new in news])
    audit.insert_rows(
        session, [new.finished.execution(new.record) for new in news if new.finished is not None]
    )
    notes: list[tuple[str | None, AuditNote]] = []
    for new in news:
        for note in (new.audit_note, new.finished.audit_note if new.finished else None):
            if note is not None:
                notes.append((new.record.id, note))
    audit.append_notes(session, notes)


@dataclass(frozen=True, slots=True)
class ActionPage:
    items: list[ActionRecord]
    #: Pass back as `cursor` for the next page; None on the last page.
    next_cursor: str | None


def _encode_cursor(record: ActionRecord) -> str:
    raw = json.dumps([record.created_at.astimezone(UTC).isoformat(), record.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, action_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(created)
        if at.tzinfo is None or not isinstance(action_id, str):
            raise ValueError("bad fields")
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"invalid cursor {cursor!r}: pass a next_cursor from a listing") from exc
    return at, action_id


def _statuses(values: Collection[ActionStatus | str]) -> list[ActionStatus]:
    try:
        return [ActionStatus(value) for value in values]
    except ValueError as exc:
        known = ", ".join(s.value for s in ActionStatus)
        raise ValueError(f"{exc}; known statuses: {known}") from exc


def _clean_error(error: str | None) -> str | None:
    """An error as stored: it is built from Jira's or Cheqpoint's answers, which an echoing
    upstream can fill with our own credentials."""
    return None if error is None else redact_text(error)


def _clean_result(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    cleaned: dict[str, Any] | None = None if result is None else redact_value(dict(result))
    return cleaned


def compare_and_set_status(
    session: Session,
    action_id: str,
    *,
    from_statuses: Collection[ActionStatus | str],
    to_status: ActionStatus | str,
    expect_claimed_by: str | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> bool:
    """Move an action to `to_status` only if it is in one of `from_statuses` (in `session`).

    The single UPDATE is the compare-and-set: of two racing callers, exactly one sees a row
    updated. `expect_claimed_by` also requires the caller to still hold the lease.
    """
    unknown = sorted(set(fields) - _SETTABLE_COLUMNS)
    if unknown:
        raise ValueError(
            f"cannot set {', '.join(unknown)} on an action; settable: "
            f"{', '.join(sorted(_SETTABLE_COLUMNS))}"
        )
    if "error" in fields:
        fields["error"] = _clean_error(fields["error"])
    if "result_json" in fields:
        fields["result_json"] = _clean_result(fields["result_json"])
    allowed = _statuses(from_statuses)
    if not allowed:
        raise ValueError("from_statuses must name at least one status")
    target = ActionStatus(to_status)
    conditions = [ActionRecord.id == action_id, ActionRecord.status.in_(allowed)]  # type: ignore[attr-defined]
    if expect_claimed_by is not None:
        conditions.append(ActionRecord.claimed_by == expect_claimed_by)
    statement = (
        sa.update(ActionRecord)
        .where(*conditions)
        .values(status=target, updated_at=now or utcnow(), **fields)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- repository


class Store:
    """The repository: one short transaction per call. Build one per engine (no globals)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        #: Wakes this process's waiters when a transaction here (or, on PostgreSQL, in any
        #: replica: store.changes.listen_for_changes) commits a change to their action.
        self.changes = changes.ActionChanges()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        with transaction(self.engine, read_only=read_only) as session:
            yield session
            changed = changes.changed_in(session)
        if changed:  # committed: the waiters re-read and see it
            self.changes.notify(changed)

    def checkpoint(self) -> tuple[int, int]:
        """Copy what the SQLite WAL holds into the database file without blocking readers
        or writers (`PRAGMA wal_checkpoint(PASSIVE)`): (frames in the WAL, frames
        checkpointed). When all are, the next writer starts the WAL afresh. (0, 0) on
        PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return 0, 0
        with database_errors():
            # The driver's own connection, in autocommit: through SQLAlchemy, the statement
            # would run inside a BEGIN IMMEDIATE and take the write lock for nothing.
            connection = self.engine.raw_connection()
            statement = "PRAGMA wal_checkpoint(PASSIVE)"
            try:
                with driver_errors(statement, (), sqlite3.Error):
                    cursor = connection.cursor()
                    busy, frames, checkpointed = cursor.execute(statement).fetchone()
                    cursor.close()
            finally:
                connection.close()
        del busy  # PASSIVE never waits: a busy database just leaves frames for next time
        return int(frames), int(checkpointed)

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers a trivial query now."""
        with self.transaction(read_only=True) as session:
            session.execute(sa.text("SELECT 1"))

    def has_audit_trail(self) -> bool:
        """Whether the database holds the audit table (a read-only engine may face any
        file or database); a failure to tell is a StoreError."""
        with database_errors():
            return sa.inspect(self.engine).has_table("audit_events")

    # ----------------------------------------------------------------- actions

    def create_action(
        self,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        finished: FinishedRun | None = None,
        audit_note: AuditNote | None = None,
        session: Session | None = None,
        **fields: Any,
    ) -> CreatedAction:
        """Insert a new action; with an Idempotency-Key, a replay returns the first one.
        `fields` are the record's (`_new_record` names them: agent, action, summary, …).

        `claimed_by` creates it already `executing` under that worker's lease (an action
        allowed at once is claimed in the same transaction that records it). `finished`
        records an action that already ran (a read): its final status, its execution row and
        both audit events in one transaction.
        Raises IdempotencyConflictError when the key was used with a different body.
        With `session` (a `budget_transaction`'s) the action is recorded in that transaction,
        committed with it; a duplicate key then raises StoreIntegrityError from it.
        """
        if idempotency_key is not None and request_hash is None:
            raise ValueError("an idempotency_key needs the request_hash of its body")
        if idempotency_key is not None:
            existing = self.find_by_idempotency_key(
                agent=fields["agent"], key=idempotency_key, request_hash=request_hash
            )
            if existing is not None:
                return CreatedAction(existing, created=False)
        record = self._new_record(
            **fields, idempotency_key=idempotency_key, request_hash=request_hash, finished=finished
        )
        new = _NewAction(record, finished, audit_note)
        if session is not None:
            new.write(session)
            return CreatedAction(new.record, created=True)
        try:
            with self.transaction() as own:
                new.write(own)
        except StoreIntegrityError:
            if idempotency_key is None:
                raise
            # Another replica inserted the same (agent, key) between our check and insert.
            existing = self.find_by_idempotency_key(
                agent=fields["agent"], key=idempotency_key, request_hash=request_hash
            )
            if existing is None:
                raise
            return CreatedAction(existing, created=False)
        return CreatedAction(new.record, created=True)

    def create_actions(self, batch: Sequence[Mapping[str, Any]]) -> list[ActionRecord]:
        """Insert several new actions in one transaction (one commit: a group commit), each
        given as `create_action`'s keyword arguments without `idempotency_key` or `session`
        (a replay check or a foreign transaction has no place in a batch). All or none are
        recorded; their audit events are chained in the order given."""
        news = []
        for fields in batch:
            if fields.get("idempotency_key") is not None or "session" in fields:
                raise ValueError("a batch records actions without an idempotency key or session")
            args = dict(fields)
            finished, note = args.pop("finished", None), args.pop("audit_note", None)
            news.append(_NewAction(self._new_record(**args, finished=finished), finished, note))
        with self.transaction() as session:
            _write_batch(session, news)
        return [new.record for new in news]

    def _new_record(
        self,
        *,
        agent: str,
        action: str,
        summary: str,
        details: Mapping[str, Any],
        kind: str,
        decision: str,
        status: ActionStatus | str,
        justification: str | None = None,
        review_group: str | None = None,
        determining_rule: str | None = None,
        decision_json: Mapping[str, Any] | None = None,
        policy_revision: str | None = None,
        effective_details: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        executor: str = EXECUTOR_JIRAGATE,
        claimed_by: str | None = None,
        claim_lease_seconds: float | None = None,
        action_id: str | None = None,
        finished: FinishedRun | None = None,
    ) -> ActionRecord:
        if (claimed_by is None) != (claim_lease_seconds is None):
            raise ValueError("claimed_by and claim_lease_seconds go together")
        now = self.clock()
        claimed = claimed_by is not None and claim_lease_seconds is not None
        if finished is not None:
            status = finished.status
        elif claimed:
            status = ActionStatus.EXECUTING
        # Every column given, built in one step (models.build_row): no field is set twice
        # and no per-field instrumented __setattr__ runs on the request path.
        return build_row(
            ActionRecord,
            {
                "id": action_id or new_action_id(),
                "created_at": now,
                "updated_at": now,
                "agent": agent,
                "action": action,
                "summary": summary,
                "justification": justification,
                "details": dict(details),
                "effective_details": (
                    dict(effective_details) if effective_details is not None else None
                ),
                "kind": str(kind),
                "decision": str(decision),
                "review_group": review_group,
                "determining_rule": determining_rule,
                "decision_json": dict(decision_json or {}),
                "policy_revision": policy_revision,
                "status": ActionStatus(status),
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
                "approval_backend": None,
                "approval_ref": None,
                "min_approvals": 1,
                "reviewers": [],
                "decision_note": None,
                "expires_at": None,
                "decided_at": None,
                "binding": None,
                "executor": executor,
                "claimed_by": claimed_by if claimed else None,
                "claim_expires_at": (
                    now + timedelta(seconds=claim_lease_seconds)
                    if claimed and claim_lease_seconds is not None
                    else None
                ),
                "attempts": 1 if claimed or finished is not None else 0,
                "result_json": _clean_result(finished.result) if finished is not None else None,
                "error": _clean_error(finished.error) if finished is not None else None,
            },
        )

    # ----------------------------------------------------------------- budgets

    @contextmanager
    def budget_transaction(self, keys: Collection[tuple[str, str]]) -> Iterator[Session]:
        """A write transaction holding the lock of each (budget, scope) in `keys`: count
        with `counted_actions(session=…)` and record with `create_action(session=…)` inside
        it (jiragate.store.budgets)."""
        with self.transaction() as session:
            budgets.lock_scopes(session, keys, self.clock())
            yield session

    def counted_actions(
        self,
        *,
        actions: Sequence[str],
        since: datetime,
        agent: str | None = None,
        until: datetime | None = None,
        session: Session | None = None,
    ) -> list[budgets.CountedAction]:
        """The actions a budget counts (jiragate.store.budgets.counted_actions); in
        `session` when given, else in a read-only transaction of its own."""
        if session is not None:
            return budgets.counted_actions(
                session, actions=actions, since=since, agent=agent, until=until
            )
        with self.transaction(read_only=True) as own:
            return budgets.counted_actions(
                own, actions=actions, since=since, agent=agent, until=until
            )

    def iter_actions(
        self, *, since: datetime | None = None, batch: int = 500
    ) -> Iterator[ActionRecord]:
        """Every action created from `since` on, oldest first, read in keyset pages (each
        its own short transaction, so a long replay holds no snapshot open)."""
        after: tuple[datetime, str] | None = None
        while True:
            query = select(ActionRecord)
            if since is not None:
                query = query.where(ActionRecord.created_at >= since)
            if after is not None:
                query = query.where(
                    sa.tuple_(col(ActionRecord.created_at), col(ActionRecord.id)) > after
                )
            query = query.order_by(col(ActionRecord.created_at), col(ActionRecord.id))
            with self.transaction(read_only=True) as session:
                page = list(session.exec(query.limit(batch)))
            yield from page
            if len(page) < batch:
                return
            after = (page[-1].created_at, page[-1].id)

    def recent_decisions(self, revision: str, *, limit: int = 1000) -> list[ActionRecord]:
        """The last `limit` actions decided by policy `revision`, newest first."""
        with self.transaction(read_only=True) as session:
            return list(
                session.exec(
                    select(ActionRecord)
                    .where(ActionRecord.policy_revision == revision)
                    .order_by(col(ActionRecord.created_at).desc(), col(ActionRecord.id).desc())
                    .limit(limit)
                )
            )

    def get_action(self, action_id: str) -> ActionRecord | None:
        with self.transaction(read_only=True) as session:
            return session.get(ActionRecord, action_id)

    def find_by_approval_ref(self, approval_ref: str) -> ActionRecord | None:
        """The action waiting on an external approval (`approval_ref` is indexed)."""
        with self.transaction(read_only=True) as session:
            return session.exec(
                select(ActionRecord).where(ActionRecord.approval_ref == approval_ref)
            ).first()

    def find_by_idempotency_key(
        self, *, agent: str, key: str, request_hash: str | None = None
    ) -> ActionRecord | None:
        """The action this agent created with `key`; a different `request_hash` is a conflict."""
        with self.transaction(read_only=True) as session:
            record = session.exec(
                select(ActionRecord).where(
                    ActionRecord.agent == agent, ActionRecord.idempotency_key == key
                )
            ).first()
        if record is not None and request_hash is not None and record.request_hash != request_hash:
            raise IdempotencyConflictError(key)
        return record

    def list_actions(
        self,
        *,
        status: ActionStatus | str | Collection[ActionStatus | str] | None = None,
        agent: str | None = None,
        action: str | None = None,
        group: str | Collection[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActionPage:
        """Newest first, keyset-paged on (created_at, id): stable while rows are added."""
        if not 1 <= limit <= 500:
            raise ValueError(f"limit must be between 1 and 500, got {limit}")
        query = select(ActionRecord)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(ActionRecord.status.in_(_statuses(wanted)))  # type: ignore[attr-defined]
        if agent is not None:
            query = query.where(ActionRecord.agent == agent)
        if action is not None:
            query = query.where(ActionRecord.action == action)
        if isinstance(group, str):
            query = query.where(ActionRecord.review_group == group)
        elif group is not None:
            query = query.where(ActionRecord.review_group.in_(sorted(group)))  # type: ignore[union-attr]
        if cursor is not None:
            at, last_id = _decode_cursor(cursor)
            query = query.where(
                sa.or_(
                    col(ActionRecord.created_at) < at,
                    sa.and_(col(ActionRecord.created_at) == at, col(ActionRecord.id) < last_id),
                )
            )
        query = query.order_by(
            ActionRecord.created_at.desc(),  # type: ignore[attr-defined]
            ActionRecord.id.desc(),  # type: ignore[attr-defined]
        ).limit(limit + 1)
        with self.transaction(read_only=True) as session:
            rows = list(session.exec(query))
        items = rows[:limit]
        next_cursor = _encode_cursor(items[-1]) if len(rows) > limit else None
        return ActionPage(items=items, next_cursor=next_cursor)

    def transition_status(
        self,
        action_id: str,
        *,
        from_statuses: Collection[ActionStatus | str],
        to_status: ActionStatus | str,
        expect_claimed_by: str | None = None,
        audit_note: AuditNote | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the status (and `fields`); False if the action was not in
        `from_statuses` (someone else moved it first). The audit note is appended only
        when the transition happened."""
        with self.transaction() as session:
            moved = compare_and_set_status(
                session,
                action_id,
                from_statuses=from_statuses,
                to_status=to_status,
                expect_claimed_by=expect_claimed_by,
                now=self.clock(),
                **fields,
            )
            if moved:
                audit.append_note(session, action_id, audit_note)
        return moved

    def lease_approval_request(self, action_id: str, *, holder: str, seconds: float) -> bool:
        """Take the right to create a pending action's external approval request for
        `seconds`: True for exactly one caller while no request id is recorded and nobody
        else's lease is running. So replicas that find an approval without a request never
        open two (the lease is released when the create ends, and runs out if its holder
        dies). The same claim columns as an execution lease: a pending action has none."""
        now = self.clock()
        lease_free = sa.or_(
            col(ActionRecord.claimed_by).is_(None), col(ActionRecord.claim_expires_at) <= now
        )
        with self.transaction() as session:
            result = session.execute(
                sa.update(ActionRecord)
                .where(
                    col(ActionRecord.id) == action_id,
                    col(ActionRecord.status) == ActionStatus.PENDING_APPROVAL,
                    col(ActionRecord.approval_ref).is_(None),
                    lease_free,
                )
                .values(claimed_by=holder, claim_expires_at=now + timedelta(seconds=seconds))
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- workers

    def claim_next_approved(
        self, *, worker_id: str, lease_seconds: float, actor: str | None = None
    ) -> ActionRecord | None:
        """Atomically take the oldest approved action: it becomes `executing`, leased to
        `worker_id` for `lease_seconds`. None when nothing is waiting."""
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds}")
        with self.transaction() as session:
            # SKIP LOCKED on PostgreSQL: rows other workers are claiming are passed over.
            # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already serializes claimers.
            record = session.exec(
                select(ActionRecord)
                .where(
                    ActionRecord.status == ActionStatus.APPROVED,
                    ActionRecord.executor == EXECUTOR_JIRAGATE,
                )
                .order_by(ActionRecord.updated_at, ActionRecord.id)  # type: ignore[arg-type]
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if record is None:
                return None
            now = self.clock()
            record.status = ActionStatus.EXECUTING
            record.claimed_by = worker_id
            record.claim_expires_at = now + timedelta(seconds=lease_seconds)
            record.attempts += 1
            record.updated_at = now
            session.add(record)
            session.flush()
            audit.append(
                session,
                action_id=record.id,
                actor=actor or worker_id,
                type="action.claimed",
                data={"worker": worker_id, "attempt": record.attempts},
            )
        return record

    def extend_lease(self, action_id: str, *, worker_id: str, lease_seconds: float) -> bool:
        """Heartbeat: push the lease out; False if the worker no longer holds it."""
        with self.transaction() as session:
            result = session.execute(
                sa.update(ActionRecord)
                .where(
                    col(ActionRecord.id) == action_id,
                    col(ActionRecord.status) == ActionStatus.EXECUTING,
                    col(ActionRecord.claimed_by) == worker_id,
                )
                .values(claim_expires_at=self.clock() + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _sweep(
        self,
        *,
        status: ActionStatus,
        deadline_column: Any,
        now: datetime,
        to_status: ActionStatus,
        event_type: str,
        fields: Mapping[str, Any],
    ) -> list[str]:
        with self.transaction() as session:
            ids = list(
                session.exec(
                    select(ActionRecord.id)
                    .where(ActionRecord.status == status, deadline_column <= now)
                    .order_by(col(ActionRecord.id))
                    .with_for_update(skip_locked=True)
                )
            )
            moved: list[str] = []
            for action_id in ids:
                if compare_and_set_status(
                    session,
                    action_id,
                    from_statuses=[status],
                    to_status=to_status,
                    now=now,
                    **fields,
                ):
                    audit.append(
                        session,
                        action_id=action_id,
                        actor="system",
                        type=event_type,
                        data={"from": status.value, "to": to_status.value},
                    )
                    moved.append(action_id)
        return moved

    def reclaim_expired_leases(self, *, now: datetime | None = None) -> list[str]:
        """`executing` actions whose lease ran out go back to `approved` (their worker died).

        Re-execution is safe because the Jira adapter marks what it created.
        """
        return self._sweep(
            status=ActionStatus.EXECUTING,
            deadline_column=ActionRecord.claim_expires_at,
            now=now or self.clock(),
            to_status=ActionStatus.APPROVED,
            event_type="action.lease_expired",
            fields={"claimed_by": None, "claim_expires_at": None},
        )

    def expire_overdue(self, *, now: datetime | None = None) -> list[str]:
        """Pending approvals past `expires_at` become `expired` (fail closed: never run)."""
        at = now or self.clock()
        return self._sweep(
            status=ActionStatus.PENDING_APPROVAL,
            deadline_column=ActionRecord.expires_at,
            now=at,
            to_status=ActionStatus.EXPIRED,
            event_type="action.expired",
            fields={"decided_at": at, "decision_note": "no decision before the approval expired"},
        )

    # ----------------------------------------------------------------- executions

    def record_execution(
        self,
        *,
        action_id: str,
        attempt: int,
        worker: str,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        outcome: str | None = None,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Execution:
        """Record one attempt (call at start, then `finish_execution`; or once when done)."""
        execution = Execution(
            action_id=action_id,
            attempt=attempt,
            worker=worker,
            started_at=started_at or self.clock(),
            finished_at=finished_at,
            outcome=outcome,
            result_json=_clean_result(result),
            error=_clean_error(error),
        )
        with self.transaction() as session:
            session.add(execution)
        return execution

    def finish_execution(
        self,
        execution_id: str,
        *,
        outcome: str,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        with self.transaction() as session:
            updated = session.execute(
                sa.update(Execution)
                .where(col(Execution.id) == execution_id, col(Execution.finished_at).is_(None))
                .values(
                    finished_at=self.clock(),
                    outcome=outcome,
                    result_json=_clean_result(result),
                    error=_clean_error(error),
                )
                .execution_options(synchronize_session=False)
            )
        return bool(updated.rowcount == 1)  # type: ignore[attr-defined]

    def complete_execution(
        self,
        action_id: str,
        *,
        execution_id: str,
        worker: str,
        outcome: str,
        to_status: ActionStatus | str,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        audit_note: AuditNote | None = None,
    ) -> ActionRecord | None:
        """One transaction for the end of an attempt: its execution row finished, the move
        from `executing` to `to_status` (only while `worker` still holds the lease) and the
        audit event. Returns the updated action, or None when the worker had lost its claim
        (the execution row is finished anyway: it happened)."""
        now = self.clock()
        result_json, error = _clean_result(result), _clean_error(error)
        with self.transaction() as session:
            session.execute(
                sa.update(Execution)
                .where(Execution.id == execution_id)  # type: ignore[arg-type]
                .values(finished_at=now, outcome=outcome, result_json=result_json, error=error)
                .execution_options(synchronize_session=False)
            )
            moved = compare_and_set_status(
                session,
                action_id,
                from_statuses=[ActionStatus.EXECUTING],
                to_status=to_status,
                expect_claimed_by=worker,
                now=now,
                claimed_by=None,
                claim_expires_at=None,
                result_json=result_json,
                error=error,
            )
            if not moved:
                return None
            audit.append_note(session, action_id, audit_note)
            return session.get(ActionRecord, action_id, populate_existing=True)

    def list_executions(self, action_id: str) -> list[Execution]:
        with self.transaction(read_only=True) as session:
            return list(
                session.exec(
                    select(Execution)
                    .where(Execution.action_id == action_id)
                    .order_by(Execution.attempt, Execution.started_at)  # type: ignore[arg-type]
                )
            )

    # ----------------------------------------------------------------- policies

    def active_policy_revision(self) -> str | None:
        """The policy revision every deciding process must run (None: none recorded yet)."""
        with self.transaction(read_only=True) as session:
            row = session.get(PolicyState, ACTIVE_POLICY)
            return row.revision if row is not None else None

    def activate_policy_revision(
        self,
        revision: str,
        *,
        actor: str,
        audit_note: Callable[[str | None], AuditNote | None],
    ) -> str | None:
        """Make `revision` the active one and return the one it replaced (None: none yet).

        `audit_note(previous)` builds the audit event appended in the same transaction (or
        None for no event), so the trail says who moved the cluster from what to what. The
        row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE), so two
        processes activating at once are serialized and each sees the other's result."""
        now = self.clock()
        with self.transaction() as session:
            row = session.exec(
                select(PolicyState).where(PolicyState.name == ACTIVE_POLICY).with_for_update()
            ).first()
            previous = row.revision if row is not None else None
            if row is None:  # only if someone deleted the row the migration created
                row = PolicyState(name=ACTIVE_POLICY)
            if previous != revision:
                row.revision, row.activated_at, row.activated_by = revision, now, actor
                session.add(row)
                session.flush()
            audit.append_note(session, None, audit_note(previous))
        return previous

    # ----------------------------------------------------------------- audit

    def audit_events(
        self, *, action_id: str | None = None, after: int | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Audit events oldest first (see `audit.list_events`)."""
        return audit.list_events(self.engine, action_id=action_id, after=after, limit=limit)

    def verify_audit(self) -> audit.VerifyReport:
        return audit.verify(self.engine)

    def export_audit(self, fp: IO[str], *, since: int | datetime | None = None) -> int:
        return audit.export_jsonl(self.engine, fp, since=since)

    def append_audit(
        self,
        *,
        action_id: str | None,
        actor: str,
        type: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one audit event on its own (prefer `audit_note=` on a state change)."""
        with self.transaction() as session:
            audit.append(session, action_id=action_id, actor=actor, type=type, data=data)

    # ----------------------------------------------------------------- attachment owners

    def learn_attachments(self, rows: Sequence[attachments.SeenAttachment]) -> int:
        """Record the issue each attachment was listed on (store.attachments)."""
        return attachments.learn(self.engine, rows, self.clock())

    def attachment_owner(self, attachment_id: str) -> attachments.SeenAttachment | None:
        return attachments.owner(self.engine, attachment_id)

    def forget_attachment(self, attachment_id: str) -> None:
        attachments.forget(self.engine, attachment_id)

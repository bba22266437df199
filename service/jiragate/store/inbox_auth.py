"""The inbox's sign-in state, shared by every replica: sessions and failed sign-ins.

Sessions: a signed-in reviewer's cookie carries a random session id; the table keeps only its
SHA-256, the reviewer, when it was opened and when it was last used. A session ends when its
row is deleted (sign-out, on every replica at once), when it has not been used for the idle
timeout, or when it is older than its lifetime, whichever comes first.

Throttling: every sign-in attempt is counted against two keys, `account:<name>` and
`client:<address>`, *before* the password is checked, so a burst of concurrent guesses cannot
all slip past the count; the row is removed again when the password was right. An attempt is
refused while either key has `max_failures` failures in the last `window` (a sliding window:
the refusal lasts until enough of them have aged out). Refused attempts are not counted, and
the first refusal of a key in a window is audited once (a flood of refusals would otherwise
flood the audit trail). The count is read and written under a lock per key (PostgreSQL: an
advisory lock; SQLite: the write lock every transaction takes), so replicas agree.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from jiragate.store import audit
from jiragate.store.audit import AuditNote
from jiragate.store.db import transaction
from jiragate.store.models import InboxSession, SignInAttempt, utcnow

FAILURE = "failure"
NOTICE = "notice"
#: `last_seen_at` is written at most this often per session (and at least ten times per idle
#: timeout), so page views do not each cost a write; the lag only ever ends a session early.
TOUCH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    max_failures: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt that may go ahead; it counts as a failure unless `succeeded`."""

    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Throttled:
    """A refused attempt: which keys are over the limit, and for how long (whole seconds)."""

    keys: tuple[str, ...]
    retry_after: int


def session_id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _lock_id(key: str) -> int:
    # A signed 64-bit advisory lock key per throttle key (collisions only serialize more).
    digest = hashlib.sha256(b"jiragate-signin:" + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class InboxAuthStore:
    """Sessions and sign-in throttling over one engine. Build one per engine (no globals)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    # ----------------------------------------------------------------- sessions

    def open_session(
        self,
        reviewer: str,
        limits: SessionLimits,
        *,
        replacing: str | None = None,
        audit_note: AuditNote | None = None,
    ) -> str:
        """A new session for `reviewer`; returns its id (to put in the cookie, never stored).
        `replacing` (the visitor's previous session, if any) ends in the same transaction."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with transaction(self.engine) as session:
            if replacing is not None:
                self._delete(session, replacing)
            # Housekeeping, cheap on the indexes: sessions nobody can use any more.
            session.execute(
                sa.delete(InboxSession).where(
                    sa.or_(
                        col(InboxSession.created_at) <= now - limits.lifetime,
                        col(InboxSession.last_seen_at) <= now - limits.idle,
                    )
                )
            )
            audit.insert_row(
                session,
                InboxSession(
                    id_hash=session_id_hash(session_id),
                    reviewer=reviewer,
                    created_at=now,
                    last_seen_at=now,
                ),
            )
            audit.append_note(session, None, audit_note)
        return session_id

    def session_reviewer(self, session_id: str, limits: SessionLimits) -> str | None:
        """The reviewer of a live session, or None (unknown, signed out, idle or too old)."""
        now = self.clock()
        id_hash = session_id_hash(session_id)
        with transaction(self.engine, read_only=True) as session:
            row = session.get(InboxSession, id_hash)
        if row is None:
            return None
        if now - row.created_at >= limits.lifetime or now - row.last_seen_at >= limits.idle:
            self.close_session(session_id)
            return None
        touch_after = min(TOUCH_SECONDS, limits.idle.total_seconds() / 10)
        if (now - row.last_seen_at).total_seconds() >= touch_after:
            with transaction(self.engine) as session:
                session.execute(
                    sa.update(InboxSession)
                    .where(col(InboxSession.id_hash) == id_hash)
                    .values(last_seen_at=now)
                    .execution_options(synchronize_session=False)
                )
        return row.reviewer

    def close_session(self, session_id: str, *, audit_note: AuditNote | None = None) -> bool:
        """End a session; False when it had already ended. The note is audited only when
        this call ended it."""
        with transaction(self.engine) as session:
            closed = self._delete(session, session_id)
            if closed:
                audit.append_note(session, None, audit_note)
        return closed

    def live_sessions(self, reviewer: str) -> int:
        """How many sessions `reviewer` has open (expired ones not yet purged included)."""
        with transaction(self.engine, read_only=True) as session:
            count = session.execute(
                select(sa.func.count())
                .select_from(InboxSession)
                .where(col(InboxSession.reviewer) == reviewer)
            ).scalar_one()
        return int(count)

    @staticmethod
    def _delete(session: Session, session_id: str) -> bool:
        result = session.execute(
            sa.delete(InboxSession).where(col(InboxSession.id_hash) == session_id_hash(session_id))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- throttling

    def begin_attempt(
        self,
        keys: Sequence[str],
        rule: ThrottleRule,
        *,
        throttled_note: Callable[[Throttled], AuditNote],
    ) -> Attempt | Throttled:
        """Count one attempt against every key, or refuse it when a key is over the limit.

        `throttled_note` builds the audit event of a refusal; it is appended (in the same
        transaction) only for the first refusal of a key within the window.
        """
        wanted = sorted(set(keys))
        now = self.clock()
        since = now - rule.window
        with transaction(self.engine) as session:
            self._lock(session, wanted)
            # A failure counts for `window` and no longer (Retry-After is exact).
            session.execute(sa.delete(SignInAttempt).where(col(SignInAttempt.at) <= since))
            rows = session.execute(
                select(SignInAttempt.key, SignInAttempt.kind, SignInAttempt.at)
                .where(col(SignInAttempt.key).in_(wanted))
                .order_by(col(SignInAttempt.at), col(SignInAttempt.id))
            ).all()
            failures: dict[str, list[datetime]] = {key: [] for key in wanted}
            noticed: set[str] = set()
            for key, kind, at in rows:
                if kind == FAILURE:
                    failures[key].append(at)
                else:
                    noticed.add(key)
            over = [key for key in wanted if len(failures[key]) >= rule.max_failures]
            if over:
                refused = Throttled(tuple(over), _retry_after(failures, over, rule, now))
                first = [key for key in over if key not in noticed]
                if first:
                    for key in first:
                        session.add(SignInAttempt(key=key, kind=NOTICE, at=now))
                    audit.append_note(session, None, throttled_note(refused))
                return refused
            attempts = [SignInAttempt(key=key, kind=FAILURE, at=now) for key in wanted]
            session.add_all(attempts)
            session.flush()
            return Attempt(tuple(a.id for a in attempts if a.id is not None))

    def end_attempt(self, attempt: Attempt, *, succeeded: bool, forget: Sequence[str] = ()) -> None:
        """A wrong password leaves the attempt counted. A right one removes it, and the
        earlier failures of the keys in `forget` (the reviewer's own name)."""
        if not succeeded:
            return
        with transaction(self.engine) as session:
            session.execute(sa.delete(SignInAttempt).where(col(SignInAttempt.id).in_(attempt.ids)))
            if forget:
                session.execute(
                    sa.delete(SignInAttempt).where(
                        col(SignInAttempt.key).in_(list(forget)),
                        col(SignInAttempt.kind) == FAILURE,
                    )
                )

    @staticmethod
    def _lock(session: Session, keys: Sequence[str]) -> None:
        # SQLite's BEGIN IMMEDIATE already holds the database's write lock here.
        if session.get_bind().dialect.name == "postgresql":
            for key in keys:  # sorted by the caller: no two attempts lock in opposite orders
                session.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(key)})


def _retry_after(
    failures: dict[str, list[datetime]], over: Sequence[str], rule: ThrottleRule, now: datetime
) -> int:
    """Seconds until every key in `over` is back under the limit: for a key with n failures
    in the window, its (n - limit + 1) oldest ones must age out."""
    until = max(failures[key][len(failures[key]) - rule.max_failures] for key in over)
    return max(1, math.ceil((until + rule.window - now).total_seconds()))

"""Telling waiters that an action changed, without polling the database.

Every change of an action's state is committed together with an audit event for it
(store.audit.append), so the audit append is where a transaction learns which actions it
changed. After the commit:

- **in this process**, `ActionChanges.notify` wakes every coroutine waiting on those actions
  (from whichever thread committed: the wake-up is handed to the waiter's own event loop);
- **across replicas** (PostgreSQL), the transaction also sent `NOTIFY jiragate_actions` with
  the ids, which PostgreSQL delivers to every listener only if and when it commits;
  `listen_for_changes` holds one `LISTEN` connection per process and feeds what arrives
  into the same `notify`.

Waiters still re-read the row when woken (a notification carries no state) and keep a slow
safety poll (`SAFETY_POLL_SECONDS`), so a notification lost with a dropped listener
connection, or a change made by another process on a shared SQLite file (SQLite has no
NOTIFY), delays a waiter by at most that long, never forever.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger("jiragate.store")

#: The PostgreSQL channel on which committed action changes are announced.
CHANNEL = "jiragate_actions"
#: The key under which a session collects the ids of the actions it changed.
_CHANGED = "jiragate_changed_actions"
#: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; ids are ~36 bytes.
_MAX_PAYLOAD = 7000
#: How long a waiter sleeps at most between re-reads when no notification comes.
SAFETY_POLL_SECONDS = 1.0


def note_changed(session: Session, action_id: str | None) -> None:
    """Remember, in the transaction, that it changed `action_id` (called by audit.append)."""
    if action_id is not None:
        session.info.setdefault(_CHANGED, set()).add(action_id)


def changed_in(session: Session) -> set[str]:
    changed: set[str] = session.info.get(_CHANGED, set())
    return changed


def announce(session: Session, action_ids: Iterable[str]) -> None:
    """Queue NOTIFYs for `action_ids` in the transaction (PostgreSQL delivers them on commit,
    and drops them on rollback); a no-op on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for payload in _payloads(sorted(action_ids)):
        session.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))


def _payloads(ids: list[str]) -> Iterator[str]:
    batch: list[str] = []
    size = 0
    for action_id in ids:
        if batch and size + len(action_id) + 1 > _MAX_PAYLOAD:
            yield ",".join(batch)
            batch, size = [], 0
        batch.append(action_id)
        size += len(action_id) + 1
    if batch:
        yield ",".join(batch)


class ActionChanges:
    """Waiters per action id, woken from any thread after a commit that changed the action."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    @contextmanager
    def watching(self, action_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `action_id` changes while the block runs (clear it after
        each wake-up, then re-read the action)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(action_id, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiting = self._waiters.get(action_id)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiters[action_id]

    def notify(self, action_ids: Iterable[str]) -> None:
        with self._lock:
            entries = [entry for i in action_ids for entry in self._waiters.get(i, ())]
        for loop, event in entries:
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def waiting(self) -> int:
        """How many waiters are registered (tests check that none leak)."""
        with self._lock:
            return sum(len(entries) for entries in self._waiters.values())


async def listen_for_changes(
    engine: Engine, changes: ActionChanges, stop: asyncio.Event, *, retry_seconds: float = 1.0
) -> None:
    """Until `stop`: LISTEN on PostgreSQL and pass what other processes committed to
    `changes`. A lost connection is reopened after `retry_seconds`; meanwhile waiters fall
    back to their safety poll. Returns at once on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    import psycopg

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    # Bounded, so `stop` is seen within half a second (psycopg >= 3.2).
                    async for notice in conn.notifies(timeout=0.5):
                        changes.notify(notice.payload.split(","))
        except (OSError, psycopg.Error) as exc:
            log.warning("listening for action changes failed (%s); retrying", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry_seconds)

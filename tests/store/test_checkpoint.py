"""SQLite's request-path transactions on a real file: WAL checkpoints happen in the
background, not in a request's commit (store/db.py, SQLITE_REQUEST_CHECKPOINT_PAGES;
gateway/worker.py, `checkpoint_wal`), and the BEGIN sent straight to the driver still fails
as the store's own error."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest

from jiragate.errors import StoreUnavailableError
from jiragate.gateway import worker
from jiragate.gateway.worker import WorkerMixin
from jiragate.store import Store
from jiragate.store.db import SQLITE_REQUEST_CHECKPOINT_PAGES
from tests.store.helpers_store import new_action

SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000


def _sqlite_only(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("a WAL is SQLite's")


def test_a_request_connection_leaves_the_checkpoint_to_the_background(store: Store) -> None:
    _sqlite_only(store)
    connection = store.engine.raw_connection()
    try:
        (pages,) = connection.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()
    finally:
        connection.close()
    assert pages == SQLITE_REQUEST_CHECKPOINT_PAGES > SQLITE_DEFAULT_CHECKPOINT_PAGES


def test_writes_past_sqlites_default_bound_wait_for_the_checkpoint(store: Store) -> None:
    _sqlite_only(store)
    for _ in range(150):  # well past 1,000 WAL pages: SQLite's own bound would have fired
        new_action(store)
    frames, checkpointed = store.checkpoint()
    assert frames > SQLITE_DEFAULT_CHECKPOINT_PAGES and checkpointed == frames
    new_action(store)  # the next writer starts the checkpointed WAL afresh
    frames, checkpointed = store.checkpoint()
    assert 0 < frames < 200 and checkpointed == frames


def test_a_reader_holding_a_snapshot_never_blocks_a_checkpoint_or_loses_a_row(
    store: Store, db_url: str
) -> None:
    _sqlite_only(store)
    first = new_action(store)
    reader = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM actions").fetchone() == (1,)
        later = new_action(store)
        frames, checkpointed = store.checkpoint()  # PASSIVE: returns at once
        assert checkpointed <= frames
        assert reader.execute("SELECT count(*) FROM actions").fetchone() == (1,)
        reader.execute("COMMIT")
    finally:
        reader.close()
    store.checkpoint()
    assert {store.get_action(first.id).id, store.get_action(later.id).id} == {first.id, later.id}


def test_postgresql_has_nothing_to_checkpoint(store: Store) -> None:
    if store.engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's")
    assert store.checkpoint() == (0, 0)


class _Checkpointing(WorkerMixin):
    """Just the part of a gateway `checkpoint_wal` uses: its store."""

    def __init__(self, store: Any) -> None:
        self._store = store


class _FlakyStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine
        self.calls = 0
        self._store = store

    def checkpoint(self) -> tuple[int, int]:
        self.calls += 1
        if self.calls == 1:
            raise StoreUnavailableError("the database is locked")
        return self._store.checkpoint()


def test_the_background_loop_checkpoints_again_after_a_failure(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _sqlite_only(store)
    monkeypatch.setattr(worker, "CHECKPOINT_SECONDS", 0.01)
    flaky = _FlakyStore(store)
    for _ in range(5):
        new_action(store)

    async def scenario() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(_Checkpointing(flaky).checkpoint_wal(stop))
        while flaky.calls < 3:
            await asyncio.sleep(0.01)
        stop.set()
        await loop

    with caplog.at_level(logging.WARNING, logger="jiragate.gateway"):
        asyncio.run(asyncio.wait_for(scenario(), timeout=10))
    assert "checkpointing the SQLite WAL failed" in caplog.text
    frames, checkpointed = store.checkpoint()
    assert checkpointed == frames  # the loop's later rounds did it


def test_a_write_lock_held_past_the_busy_timeout_is_the_stores_unavailable_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN IMMEDIATE goes straight to the driver (store/db.py, _sqlite_on_begin): a lock it
    cannot get is still StoreUnavailableError, and the store works once the lock is gone."""
    from jiragate.store import db, init_db, make_engine

    path = tmp_path / "locked.db"
    init_db(make_engine(f"sqlite:///{path}"))
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = Store(make_engine(f"sqlite:///{path}"))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailableError, match="nothing was changed, retry"):
            new_action(store)
        holder.execute("COMMIT")
    finally:
        holder.close()
    assert store.get_action(new_action(store).id) is not None

"""Database failures leave the store as StoreErrors, never as SQLAlchemy exceptions.

The database really goes away: PostgreSQL behind a TCP proxy that is cut, SQLite whose
directory is moved so no new connection can open the file. Every repository and audit call
then raises StoreUnavailableError (the edges answer 503 on it, and import no SQLAlchemy to do
so); once the database is back, the same store works again.
"""

from __future__ import annotations

import io
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from jiragate.errors import StoreError, StoreIntegrityError, StoreUnavailableError
from jiragate.store import ActionStatus, Store, init_db, make_engine
from jiragate.store.audit import export_jsonl, list_events, verify
from jiragate.store.dberrors import translate
from tests.faults.tcp_proxy import TcpProxy
from tests.store.helpers_store import new_action


@contextmanager
def breakable(
    db_url: str, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A URL for the test's database plus `cut()` and `restore()` that take it away for real."""
    if db_url.startswith("sqlite"):
        home = tmp_path / "db"
        home.mkdir()
        url = f"sqlite:///{home / 'jiragate.db'}"
        aside = tmp_path / "moved"
        yield url, lambda: home.rename(aside), lambda: aside.rename(home)
        return
    parsed = make_url(db_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        through = parsed.set(host="127.0.0.1", port=proxy.port)
        yield through.render_as_string(hide_password=False), proxy.cut, proxy.restore
    finally:
        proxy.close()


def every_store_call(store: Store, action_id: str) -> dict[str, Callable[[], Any]]:
    return {
        "ping": store.ping,
        "get_action": lambda: store.get_action(action_id),
        "list_actions": lambda: store.list_actions(limit=5),
        "create_action": lambda: new_action(store),
        "transition_status": lambda: store.transition_status(
            action_id, from_statuses=[ActionStatus.APPROVED], to_status=ActionStatus.REJECTED
        ),
        "claim_next_approved": lambda: store.claim_next_approved(worker_id="w1", lease_seconds=30),
        "active_policy_revision": store.active_policy_revision,
        "list_events": lambda: list_events(store.engine, limit=5),
        "verify": lambda: verify(store.engine),
        "has_audit_trail": store.has_audit_trail,
    }


def test_a_lost_database_is_a_store_unavailable_error_everywhere(
    db_url: str, tmp_path: Path
) -> None:
    with breakable(db_url, tmp_path) as (url, cut, restore):
        engine = make_engine(url)
        init_db(engine)
        store = Store(engine)
        action = new_action(store)
        cut()
        engine.dispose()  # pooled connections would otherwise hide the cut from SQLite
        for name, call in every_store_call(store, action.id).items():
            with pytest.raises(StoreUnavailableError) as raised:
                call()
            assert isinstance(raised.value, StoreError), name
            assert "the database is unavailable" in str(raised.value), name
            assert raised.value.__cause__ is None, name  # the driver's text is not chained
        restore()
        store.ping()
        after = store.get_action(action.id)
        assert after is not None and after.status is action.status  # nothing was changed
        engine.dispose()


def test_the_unavailable_message_names_no_host_and_no_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    engine = make_engine(f"postgresql+psycopg://bot:{password}@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(StoreUnavailableError) as raised:
            Store(engine).ping()
    finally:
        engine.dispose()
    assert raised.value.kind == "OperationalError"
    assert "127.0.0.1" not in str(raised.value) and password not in str(raised.value)
    assert password not in raised.value.detail
    # The operator's log has the driver's words (where it failed), still without the password.
    logged = [r.getMessage() for r in caplog.records if r.name == "jiragate.store"]
    assert logged and logged[-1].startswith("database unavailable: OperationalError: ")
    assert "port 9" in logged[-1] and password not in caplog.text


def test_other_database_errors_are_store_errors_too(store: Store) -> None:
    refused = pytest.raises(StoreError, match=r"ProgrammingError|OperationalError")
    with refused as raised, store.transaction() as session:
        session.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, StoreIntegrityError)
    unique = sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed"))
    assert isinstance(translate(unique), StoreIntegrityError)


def test_export_of_a_lost_database_is_a_store_error(db_url: str, tmp_path: Path) -> None:
    with breakable(db_url, tmp_path) as (url, cut, restore):
        engine = make_engine(url)
        init_db(engine)
        cut()
        engine.dispose()
        with pytest.raises(StoreUnavailableError):
            export_jsonl(engine, io.StringIO())
        restore()
        engine.dispose()

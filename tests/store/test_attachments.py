"""The attachment owners table (store.attachments) on a real SQLite file and PostgreSQL:
rows upserted (the newest sighting wins, one answer's repeats collapse), looked up, dropped;
the migration creates it, and a large answer is written in chunks."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.store import Store, attachments
from jiragate.store.attachments import SeenAttachment
from tests.store.helpers_store import T0, FakeClock


def seen(ident: str, key: str = "ENG-3", issue_id: str = "10003") -> SeenAttachment:
    return SeenAttachment(ident, issue_id, key, key.rsplit("-", 1)[0])


def test_the_migration_creates_the_table(engine):
    columns = {c["name"] for c in sa.inspect(engine).get_columns("attachment_owners")}
    assert columns == {"attachment_id", "issue_id", "issue_key", "project_key", "seen_at"}
    assert sa.inspect(engine).get_pk_constraint("attachment_owners")["constrained_columns"] == [
        "attachment_id"
    ]


def test_learn_then_look_up(store: Store):
    assert store.attachment_owner("10042") is None
    assert store.learn_attachments([seen("10042"), seen("10043")]) == 2
    assert store.attachment_owner("10042") == seen("10042")
    assert store.attachment_owner("10043") == seen("10043")
    assert store.attachment_owner("10044") is None
    assert store.learn_attachments([]) == 0


def test_the_newest_sighting_wins(engine):
    clock = FakeClock(T0)
    store = Store(engine, clock=clock)
    store.learn_attachments([seen("10042", "ENG-3")])
    clock.advance(60)
    # The issue moved to OPS (its key changed with it), and one answer listed it twice.
    store.learn_attachments([seen("10042", "ENG-3"), seen("10042", "OPS-9")])
    assert store.attachment_owner("10042") == seen("10042", "OPS-9")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT seen_at FROM attachment_owners")).all()
    assert len(rows) == 1
    seen_at = rows[0][0]
    if isinstance(seen_at, str):  # SQLite hands back text through a raw query
        assert seen_at.startswith(str((T0 + timedelta(seconds=60)).replace(tzinfo=None)))
    else:
        assert seen_at.replace(tzinfo=None) == (T0 + timedelta(seconds=60)).replace(tzinfo=None)


def test_forget_drops_the_row(store: Store):
    store.learn_attachments([seen("10042")])
    store.forget_attachment("10042")
    assert store.attachment_owner("10042") is None
    store.forget_attachment("10042")  # nothing left: no error


def test_a_large_answer_is_written_in_chunks(store: Store):
    rows = [seen(str(20000 + n), f"ENG-{1 + n % 7}") for n in range(1234)]
    assert store.learn_attachments(rows) == 1234
    assert store.attachment_owner("21233") == rows[-1]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**12).map(str),
            st.sampled_from(["ENG-1", "ENG-3", "OPS-1", "OPS-20", "SUP_1-7"]),
        ),
        max_size=20,
    )
)
def test_lookups_give_the_last_sighting_of_each(store: Store, sightings):
    store.learn_attachments([seen(ident, key, "1") for ident, key in sightings])
    last = {ident: key for ident, key in sightings}
    for ident, key in last.items():
        assert store.attachment_owner(ident) == seen(ident, key, "1")


def test_the_longest_key_fits_where_no_issue_id_was_given(store: Store):
    """jira_get_attachments names its issue by key only: the key stands in for its id."""
    longest = SeenAttachment(
        "10042", "ABCDEFGHIJ-1234567890", "ABCDEFGHIJ-1234567890", "ABCDEFGHIJ"
    )
    store.learn_attachments([longest])
    assert store.attachment_owner("10042") == longest


class Writes:
    """The statements the store sends on `engine` (SQLAlchemy's cursor events) and whether
    a write transaction was begun (on SQLite, `BEGIN IMMEDIATE`, which takes the lock)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self.immediate = 0

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement.split(None, 1)[0].upper())

    def _begin(self, conn) -> None:
        if conn.get_execution_options().get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE":
            self.immediate += 1

    def __enter__(self) -> Writes:
        sa.event.listen(self.engine, "before_cursor_execute", self._statement)
        sa.event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._statement)
        sa.event.remove(self.engine, "begin", self._begin)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if s in ("INSERT", "UPDATE", "DELETE")]


@pytest.fixture
def row_version(engine: sa.Engine) -> Iterator[Callable[[str], object]]:
    """What changes whenever a row is written, even to the same values: PostgreSQL's `xmin`
    (the transaction that wrote this tuple version); on SQLite, `PRAGMA data_version` read
    on a connection of its own (it changes when another connection commits a change to the
    file). With the row's `seen_at`."""
    if engine.dialect.name == "postgresql":

        def postgres(ident: str) -> object:
            query = "SELECT xmin::text, seen_at FROM attachment_owners WHERE attachment_id = :a"
            with engine.connect() as connection:
                return tuple(connection.execute(sa.text(query), {"a": ident}).one())

        yield postgres
        return
    raw = sqlite3.connect(str(engine.url.database))

    def sqlite(ident: str) -> object:
        query = "SELECT seen_at FROM attachment_owners WHERE attachment_id = ?"
        version = raw.execute("PRAGMA data_version").fetchone()[0]
        return version, raw.execute(query, (ident,)).fetchone()[0]

    yield sqlite
    raw.close()


def test_an_unchanged_owner_is_not_written_again(engine, row_version):
    """Every read of an issue, every download confirming its owner, sees the same owner:
    nothing is written (no INSERT, no write transaction, the row's version unchanged);
    a changed owner still is, and only its own row."""
    clock = FakeClock(T0)
    store = Store(engine, clock=clock)
    assert store.learn_attachments([seen("10042"), seen("10043")]) == 2
    before = row_version("10042")
    clock.advance(60)
    with Writes(engine) as sent:
        assert store.learn_attachments([seen("10042"), seen("10043")]) == 0
        assert store.learn_attachments([seen("10042")] * 3) == 0
    assert sent.writes == [] and sent.immediate == 0, sent.statements
    assert sent.statements == ["SELECT", "SELECT"]
    assert row_version("10042") == before  # not rewritten, seen_at kept
    with Writes(engine) as sent:  # one moved, one not: one row written
        assert store.learn_attachments([seen("10042", "OPS-9", "10099"), seen("10043")]) == 1
    assert sent.writes == ["INSERT"], sent.statements
    assert store.attachment_owner("10042") == seen("10042", "OPS-9", "10099")
    assert store.attachment_owner("10043") == seen("10043")
    assert row_version("10042") != before
    with Writes(engine) as sent:  # a look-up takes no write lock either
        assert store.attachment_owner("10043") == seen("10043")
    assert sent.writes == [] and sent.immediate == 0


def test_a_concurrent_identical_sighting_rewrites_nothing(engine, row_version, monkeypatch):
    """The upsert repeats the comparison: a row written with the same owner between
    `learn`'s read and its write is not rewritten."""
    clock = FakeClock(T0)
    store = Store(engine, clock=clock)
    store.learn_attachments([seen("10042")])
    before = row_version("10042")
    clock.advance(60)  # a rewrite would move seen_at
    # As if read before the row was written: the owner looks new, so the upsert is sent.
    monkeypatch.setattr(attachments, "_stored", lambda engine, idents: {})
    assert store.learn_attachments([seen("10042")]) == 1
    assert row_version("10042") == before

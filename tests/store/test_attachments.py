"""The attachment owners table (store.attachments) on a real SQLite file and PostgreSQL:
rows upserted (the newest sighting wins, one answer's repeats collapse), looked up, dropped;
the migration creates it, and a large answer is written in chunks."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.store import Store
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

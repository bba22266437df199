"""store/rawinsert.py stores exactly what SQLAlchemy Core stores, on SQLite and PostgreSQL,
and its driver errors leave as the store's own errors."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from jiragate.errors import StoreIntegrityError
from jiragate.store import ActionStatus
from jiragate.store.models import ActionRecord, AuditEvent, Execution
from jiragate.store.rawinsert import compiled_insert, insert_many
from tests.store.test_build_row import action_values

ACTIONS: sa.Table = ActionRecord.__table__  # type: ignore[attr-defined]
EXECUTIONS: sa.Table = Execution.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
_ids = itertools.count()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=12).filter(lambda text: "\x00" not in text),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6).filter(lambda t: "\x00" not in t), inner, max_size=3)
    ),
    max_leaves=12,
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _read(engine: sa.Engine, table: sa.Table, key: str, value: Any) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(sa.select(table).where(table.c[key] == value)).mappings().one()
    return dict(row)


def _both_ways(engine: sa.Engine, table: sa.Table, key: str, core: dict, raw: dict) -> None:
    """Insert one row through Core and its twin through the driver: they read back alike."""
    with Session(engine) as session, session.begin():
        session.connection().execute(table.insert(), [core])
        insert_many(session, table, [raw])
    read_core, read_raw = _read(engine, table, key, core[key]), _read(engine, table, key, raw[key])
    differing = {name for name in core if name != key and core[name] != raw[name]}
    for row in (read_core, read_raw):
        del row[key]
        for name in differing:  # the key columns of twins differ by construction
            del row[name]
    assert read_raw == read_core


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    details=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    result=st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    created=moments,
    status=st.sampled_from(list(ActionStatus)),
    summary=st.text(max_size=60).filter(lambda text: "\x00" not in text),
)
def test_an_action_row_reads_back_as_core_stores_it(
    engine, details, result, created, status, summary
) -> None:
    number = next(_ids)
    values = action_values(
        details=details,
        result_json=result,
        created_at=created,
        updated_at=created + timedelta(microseconds=1),
        status=status,
        summary=summary,
        claim_expires_at=None if result is None else created,
    )
    values.pop("id")
    core = {**values, "id": f"act_core_{number}"}
    raw = {**values, "id": f"act_raw_{number}"}
    _both_ways(engine, ACTIONS, "id", core, raw)
    loaded = _read(engine, ACTIONS, "id", raw["id"])
    assert loaded["status"] is status and loaded["details"] == details
    assert loaded["created_at"] == created  # UTC back, to the microsecond


def test_executions_and_audit_events_read_back_as_core_stores_them(engine) -> None:
    with Session(engine) as session, session.begin():
        for suffix in ("core", "raw"):
            session.connection().execute(
                ACTIONS.insert(), [action_values(id=f"act_parent_{suffix}")]
            )
    at = datetime(2026, 12, 4, 2, 0, 0, 123456, tzinfo=UTC)
    execution = {
        "attempt": 1,
        "worker": "w",
        "started_at": at,
        "finished_at": None,
        "outcome": "succeeded",
        "result_json": {"issue": {"key": "ENG-1"}},
        "error": None,
    }
    _both_ways(
        engine,
        EXECUTIONS,
        "id",
        {**execution, "id": "exe_core", "action_id": "act_parent_core"},
        {**execution, "id": "exe_raw", "action_id": "act_parent_raw"},
    )
    event = {"at": at, "action_id": None, "actor": "a", "type": "t", "data": {"n": [1, "ü"]}}
    event |= {"prev_hash": "0" * 64, "hash": "1" * 64}
    _both_ways(
        engine,
        EVENTS,
        "seq",
        {**event, "seq": 10_001, "id": "evt_core"},
        {**event, "seq": 10_002, "id": "evt_raw"},
    )


def test_a_duplicate_key_is_the_stores_integrity_error_and_nothing_is_kept(store) -> None:
    row = action_values(id="act_twice")
    with pytest.raises(StoreIntegrityError), store.transaction() as session:
        insert_many(session, ACTIONS, [row, row])
    with store.transaction(read_only=True) as session:
        assert session.get(ActionRecord, "act_twice") is None


def test_a_row_without_a_column_is_a_programming_error_not_a_null(engine) -> None:
    row = action_values(id="act_short")
    del row["summary"]
    with pytest.raises(KeyError, match="summary"), Session(engine) as session, session.begin():
        insert_many(session, ACTIONS, [row])


def test_the_statement_takes_exactly_the_tables_columns(engine) -> None:
    for table in (ACTIONS, EXECUTIONS, EVENTS):
        statement = compiled_insert(table, engine.dialect)
        assert sorted(statement.names) == sorted(column.name for column in table.columns)

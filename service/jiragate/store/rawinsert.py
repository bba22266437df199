"""INSERTs of many rows straight through the driver, for the request path's writes.

Recording an allowed read is three INSERTs (the action, its execution, its audit events) in
one transaction, and SQLAlchemy Core spends ~150-200 µs per statement here building an
execution context around a driver call that takes a fraction of that (bench/read_path.py;
measured 2026-12-04: the same rows through sqlite3 alone cost a quarter of the Core path).
So the hot INSERTs are compiled once per table and dialect by SQLAlchemy itself (its SQL
text, its parameter order, its type processors: what is stored is exactly what Core would
store) and handed to the driver's `executemany` on the transaction's own connection.

What Core would add around it is kept: the statement runs in the caller's transaction, and
a driver error leaves as SQLAlchemy's own wrapped exception (`DBAPIError.instance`), so
`dberrors.database_errors` translates it like any other (a lock timeout is
StoreUnavailableError, a duplicate key StoreIntegrityError).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from jiragate.store.dberrors import driver_errors

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class CompiledInsert:
    """An INSERT of every column of a table, as one dialect's driver takes it."""

    sql: str
    #: The columns in the order the statement takes its parameters.
    names: tuple[str, ...]
    #: Each column's bind processor (None: the value goes as it is).
    processors: tuple[Processor | None, ...]
    positional: bool

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The rows as the driver's parameter sets (tuples, or dicts for named styles)."""
        pairs = tuple(zip(self.names, self.processors, strict=True))
        if self.positional:
            return [
                tuple(row[name] if p is None else p(row[name]) for name, p in pairs) for row in rows
            ]
        return [
            {name: row[name] if p is None else p(row[name]) for name, p in pairs} for row in rows
        ]


@functools.cache
def compiled_insert(table: sa.Table, dialect: Dialect) -> CompiledInsert:
    columns = {column.name: column for column in table.columns}
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    if set(names) != set(columns):
        raise RuntimeError(f"the INSERT of {table.name} takes {names}, not exactly its columns")
    processors = tuple(
        columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return CompiledInsert(compiled.string, names, processors, compiled.positional)


def insert_many(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (a value for every column of `table`) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    statement = compiled_insert(table, dialect)
    parameters = statement.parameters(rows)
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("the session's connection has no driver connection")
    cursor = driver.cursor()
    try:
        with driver_errors(statement.sql, parameters, dialect.loaded_dbapi.Error, dialect):
            cursor.executemany(statement.sql, parameters)
    finally:
        cursor.close()

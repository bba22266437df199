"""Database errors become StoreErrors here, at the store's boundary.

Everything above the store (the gateway, approvals, the API, the inbox, MCP, the CLI) sees
`StoreUnavailableError` (the database cannot be reached, dropped the connection, timed out or
is locked: retry), `StoreIntegrityError` (a constraint refused a write) or `StoreError`
(anything else), never a SQLAlchemy exception, so no edge imports SQLAlchemy to answer 503.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from jiragate.errors import StoreError, StoreIntegrityError, StoreUnavailableError
from jiragate.redaction import redact_text

log = logging.getLogger("jiragate.store")

# Transient by nature: the server is down or unreachable, the connection dropped, the pool
# or a lock timed out. (SQLite's "database is locked" is an OperationalError too.)
_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
)


def database_error_text(exc: BaseException) -> str:
    """A database driver's complaint in one line, with any credential masked: the driver's
    message names the host and user, and a DSN may carry a password."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return redact_text(first)


def translate(exc: sa.exc.SQLAlchemyError) -> StoreError:
    """The StoreError that says what `exc` means to the caller."""
    kind = type(exc).__name__
    detail = database_error_text(exc)
    invalidated = isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    if isinstance(exc, _UNAVAILABLE) or invalidated:
        # The edges answer 503 with the class name only; the operator reads the driver's
        # words (host, port, what failed) here.
        log.warning("database unavailable: %s: %s", kind, detail)
        return StoreUnavailableError(kind, detail)
    if isinstance(exc, sa.exc.IntegrityError):
        return StoreIntegrityError(f"the database refused the write ({kind}): {detail}")
    return StoreError(f"database error ({kind}): {detail}")


@contextmanager
def database_errors() -> Iterator[None]:
    """Run the block with SQLAlchemy's exceptions translated (see the module docstring).

    The driver's exception is not chained (`from None`): its text names hosts and users,
    and `detail` already keeps its first line, masked."""
    try:
        yield
    except sa.exc.StatementError as exc:
        if not isinstance(exc, sa.exc.DBAPIError) and isinstance(exc.orig, Exception):
            # Our own code refused a value while the statement was built (e.g. a naive
            # datetime): a caller's bug, not the database's; it leaves as what it is.
            raise exc.orig from None
        raise translate(exc) from None
    except sa.exc.SQLAlchemyError as exc:
        raise translate(exc) from None


@contextmanager
def driver_errors(
    statement: str, parameters: Any, error: type[Exception], dialect: Any = None
) -> Iterator[None]:
    """Run a call made straight to the driver (beside SQLAlchemy, on the hot path) with its
    `error`s wrapped as SQLAlchemy wraps its own (`DBAPIError.instance`), so that
    `database_errors` translates them like any other statement's."""
    try:
        yield
    except error as exc:
        wrapped = sa.exc.DBAPIError.instance(statement, parameters, exc, error, dialect=dialect)
        raise wrapped from exc

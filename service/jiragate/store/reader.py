"""The audit trail read on its own, for `jiragate audit`: read-only, never migrating.

A verifier that created an empty database would report an empty, valid chain, so this opens
the database read-only and refuses one without an audit trail (StoreError, naming it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import sqlalchemy as sa

from jiragate.errors import StoreError
from jiragate.store.audit import Anchor, VerifyReport, export_jsonl, verify
from jiragate.store.db import database_error_text, make_engine, safe_url

__all__ = ["Anchor", "AuditReader"]


class AuditReader:
    """One database's audit trail, read-only. Use as a context manager."""

    def __init__(self, url: str) -> None:
        self.shown = safe_url(url)
        self._engine = make_engine(url, read_only=True)  # StoreError if it cannot open

    def __enter__(self) -> AuditReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._engine.dispose()

    def verify(self, *, expect_head: Anchor | None = None) -> VerifyReport:
        with self._reading():
            return verify(self._engine, expect_head=expect_head)

    def export(self, fp: IO[str], *, since: int | None = None) -> int:
        with self._reading():
            return export_jsonl(self._engine, fp, since=since)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """The trail must exist; database errors become StoreError naming what failed."""
        try:
            if not sa.inspect(self._engine).has_table("audit_events"):
                raise StoreError(f"{self.shown} has no audit trail (no audit_events table)")
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot read the audit trail: {database_error_text(exc)}") from None

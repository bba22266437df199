"""The audit trail read on its own, for `jiragate audit` (the store's read-only reader):
the command reaches it through the gateway like every edge, without building a Gateway (a
verifier must never migrate or create the database it checks)."""

from __future__ import annotations

from jiragate.store.audit import Anchor
from jiragate.store.reader import AuditReader

__all__ = ["Anchor", "AuditReader"]

"""The notification outbox, shared by every replica (table `notifications`).

Planning inserts rows under a unique key (action, channel, event) with "insert unless it
exists": any number of replicas may plan the same reminder at once and one row results, and
only the replica whose insert took writes the audit event (same transaction). Sending claims a
due row with a compare-and-set on its lease: one replica wins, sends, and records the outcome
only while it still holds the claim. A sender that dies mid-send leaves a lease that runs out;
the row is claimed again (at-least-once for a crash at that instant, exactly once otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from jiragate.store import audit
from jiragate.store.db import transaction
from jiragate.store.models import (
    ActionRecord,
    ActionStatus,
    Notification,
    SlackRequestSeen,
    utcnow,
)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Planned:
    """A notification to exist: (action, channel, event), and the audit event to write when
    this call is the one that created it."""

    action_id: str
    channel: str
    kind: str
    event: str
    audit_type: str | None = None
    audit_data: Mapping[str, Any] | None = None


class Outbox:
    """The outbox over one engine. Build one per engine (no globals)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def _insert_ignoring_duplicates(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        # RETURNING tells whether the row was inserted (psycopg's rowcount is -1 here).
        return (
            dialect.insert(Notification.__table__)  # type: ignore[attr-defined]
            .on_conflict_do_nothing(index_elements=["action_id", "channel", "event"])
            .returning(sa.literal_column("id"))
        )

    def plan(self, planned: Iterable[Planned], *, actor: str) -> int:
        """Create the rows that do not exist yet; how many this call created."""
        created = 0
        now = self.clock()
        wanted = list(planned)
        if not wanted:
            return 0
        # One read skips what exists (the common case, every round); the insert's conflict
        # clause still settles a race with another replica.
        ids = sorted({item.action_id for item in wanted})
        with transaction(self.engine, read_only=True) as session:
            existing = {
                (a, c, e)
                for a, c, e in session.execute(
                    sa.select(
                        col(Notification.action_id),
                        col(Notification.channel),
                        col(Notification.event),
                    ).where(col(Notification.action_id).in_(ids))
                )
            }
        for item in wanted:
            if (item.action_id, item.channel, item.event) in existing:
                continue
            with transaction(self.engine) as session:
                result = session.execute(
                    self._insert_ignoring_duplicates(),
                    {
                        "action_id": item.action_id,
                        "channel": item.channel,
                        "kind": item.kind,
                        "event": item.event,
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    },
                )
                if result.first() is not None:
                    created += 1
                    if item.audit_type:
                        audit.append(
                            session,
                            action_id=item.action_id,
                            actor=actor,
                            type=item.audit_type,
                            data=item.audit_data,
                        )
        return created

    def claim_due(
        self,
        *,
        worker: str,
        lease_seconds: float,
        limit: int = 50,
        exclude: Collection[int] = (),
    ) -> list[Notification]:
        """Claim up to `limit` due rows for `worker`, leaving out the ids in `exclude`."""
        now = self.clock()
        free = (col(Notification.lease_until).is_(None)) | (col(Notification.lease_until) <= now)
        with transaction(self.engine, read_only=True) as session:
            candidates = list(
                session.exec(
                    select(Notification.id)
                    .where(
                        Notification.status == PENDING,
                        col(Notification.next_attempt_at) <= now,
                        free,
                        col(Notification.id).not_in(list(exclude)),
                    )
                    .order_by(col(Notification.next_attempt_at), col(Notification.id))
                    .limit(limit)
                )
            )
        if not candidates:
            return []
        # One statement claims the batch: a row another replica took in between no longer
        # matches `free` (PostgreSQL re-checks the condition on the locked row), so it is
        # simply not returned here.
        table = Notification.__table__  # type: ignore[attr-defined]
        with transaction(self.engine) as session:
            result = session.execute(
                table.update()
                .where(
                    table.c.id.in_(candidates),
                    table.c.status == PENDING,
                    sa.or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
                )
                .values(
                    claimed_by=worker,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=table.c.attempts + 1,
                )
                .returning(*table.c)
            )
            claimed = [Notification.model_validate(dict(row._mapping)) for row in result]
        claimed.sort(key=lambda row: (row.next_attempt_at, row.id or 0))
        return claimed

    def finish(
        self,
        row: Notification,
        *,
        worker: str,
        status: str,
        outcome: str,
        retry_at: datetime | None = None,
        ref: Mapping[str, Any] | None = None,
        audit_type: str | None = None,
        audit_data: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record an attempt's outcome while `worker` still holds the claim: `sent`,
        `failed`, or back to `pending` until `retry_at`. False: the claim was lost."""
        now = self.clock()
        values: dict[str, Any] = {"status": status, "outcome": outcome, "lease_until": None}
        if status == SENT:
            values["sent_at"] = now
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        if ref is not None:
            values["ref"] = dict(ref)
        with transaction(self.engine) as session:
            moved = session.execute(
                sa.update(Notification)
                .where(
                    col(Notification.id) == row.id,
                    col(Notification.claimed_by) == worker,
                    col(Notification.status) == PENDING,
                )
                .values(**values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if audit_type:
                audit.append(
                    session,
                    action_id=row.action_id,
                    actor=worker,
                    type=audit_type,
                    data=audit_data,
                )
        return True

    # ----------------------------------------------------------------- reading

    def for_action(self, action_id: str) -> list[Notification]:
        with transaction(self.engine, read_only=True) as session:
            return list(
                session.exec(
                    select(Notification)
                    .where(Notification.action_id == action_id)
                    .order_by(col(Notification.id))
                )
            )

    def decided_without(
        self, channels: Sequence[str], *, event: str, limit: int = 100
    ) -> list[tuple[Notification, ActionRecord]]:
        """Announced actions (a sent `request` on one of `channels`) that are no longer
        pending and have no `event` row on that channel yet: what needs a decision update."""
        if not channels:
            return []
        later = aliased(Notification)
        query = (
            select(Notification, ActionRecord)
            .join(ActionRecord, col(ActionRecord.id) == col(Notification.action_id))
            .where(
                Notification.event == "request",
                col(Notification.channel).in_(list(channels)),
                ActionRecord.status != ActionStatus.PENDING_APPROVAL,
                ~sa.exists().where(
                    col(later.action_id) == col(Notification.action_id),
                    col(later.channel) == col(Notification.channel),
                    col(later.event) == event,
                ),
            )
            .order_by(col(Notification.id))
            .limit(limit)
        )
        with transaction(self.engine, read_only=True) as session:
            return [(n, a) for n, a in session.exec(query)]

    def request_ref(self, action_id: str, channel: str) -> dict[str, Any] | None:
        """What the channel answered to the action's first message (Slack: where it is)."""
        with transaction(self.engine, read_only=True) as session:
            row = session.exec(
                select(Notification).where(
                    Notification.action_id == action_id,
                    Notification.channel == channel,
                    Notification.event == "request",
                )
            ).first()
        return row.ref if row is not None else None

    # ----------------------------------------------------------------- Slack replays

    def first_sight(self, signature: str, *, window: timedelta) -> bool:
        """True the first time a (verified) request signature is seen within `window`; False
        for a replay, on any replica. Old entries are pruned on the way."""
        now = self.clock()
        key = hashlib.sha256(signature.encode()).hexdigest()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with transaction(self.engine) as session:
            session.execute(
                sa.delete(SlackRequestSeen).where(col(SlackRequestSeen.seen_at) < now - window)
            )
            inserted = session.execute(
                dialect.insert(SlackRequestSeen.__table__)  # type: ignore[attr-defined]
                .on_conflict_do_nothing(index_elements=["signature_hash"])
                .values(signature_hash=key, seen_at=now)
                .returning(sa.literal_column("signature_hash"))
            )
            return inserted.first() is not None

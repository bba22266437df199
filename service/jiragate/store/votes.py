"""Inbox votes in the database: the reads, and one action's votes under its row lock.

The inbox backend (`approvals/inbox.py`) decides what a vote means (quorum, one reject,
matching edits); this module is the SQL it needs, so every query stays inside the store.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from jiragate.errors import ApprovalError
from jiragate.store import audit
from jiragate.store.db import Store, compare_and_set_status
from jiragate.store.models import ActionRecord, ActionStatus, ApprovalVote, Verdict


class VoteTransaction:
    """One action's row, locked for the transaction (PostgreSQL `FOR UPDATE`; SQLite's write
    lock), so two last approvals arriving together cannot each see one vote short."""

    def __init__(self, session: Session, record: ActionRecord, now: datetime) -> None:
        self._session = session
        self.record = record
        self.now = now

    def vote_by(self, reviewer: str) -> ApprovalVote | None:
        return self._session.exec(
            select(ApprovalVote).where(
                ApprovalVote.action_id == self.record.id, ApprovalVote.reviewer == reviewer
            )
        ).first()

    def voters(self) -> list[str]:
        """Every reviewer account that voted on this action."""
        return list(
            self._session.exec(
                select(ApprovalVote.reviewer).where(ApprovalVote.action_id == self.record.id)
            ).all()
        )

    def add_vote(
        self,
        *,
        reviewer: str,
        verdict: Verdict,
        modified_details: dict[str, Any] | None,
        note: str | None,
    ) -> None:
        """Store the vote and its audit event (`approval.vote`)."""
        self._session.add(
            ApprovalVote(
                action_id=self.record.id,
                reviewer=reviewer,
                verdict=verdict.value,
                modified_details=modified_details,
                note=note,
                created_at=self.now,
            )
        )
        self._session.flush()
        audit.append(
            self._session,
            action_id=self.record.id,
            actor=reviewer,
            type="approval.vote",
            data={"verdict": verdict.value, "modified_details": modified_details, "note": note},
        )

    def approvals(self) -> list[ApprovalVote]:
        return list(
            self._session.exec(
                select(ApprovalVote).where(
                    ApprovalVote.action_id == self.record.id,
                    ApprovalVote.verdict == Verdict.APPROVE,
                )
            ).all()
        )

    def move(
        self,
        to_status: ActionStatus,
        *,
        actor: str,
        event: str,
        data: Mapping[str, Any],
        **fields: Any,
    ) -> bool:
        """Compare-and-set from `pending_approval`; the audit event only if it moved."""
        moved = compare_and_set_status(
            self._session,
            self.record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=to_status,
            now=self.now,
            **fields,
        )
        if moved:
            audit.append(
                self._session, action_id=self.record.id, actor=actor, type=event, data=data
            )
        return moved


@contextmanager
def voting(store: Store, action_id: str) -> Iterator[VoteTransaction]:
    """A transaction over one action's votes; ApprovalError if there is no such action."""
    with store.transaction() as session:
        record = session.exec(
            select(ActionRecord).where(ActionRecord.id == action_id).with_for_update()
        ).first()
        if record is None:
            raise ApprovalError(f"no action {action_id!r}")
        yield VoteTransaction(session, record, store.clock())


def votes(store: Store, action_id: str) -> list[ApprovalVote]:
    with store.transaction(read_only=True) as session:
        return list(
            session.exec(
                select(ApprovalVote)
                .where(ApprovalVote.action_id == action_id)
                .order_by(ApprovalVote.id)  # type: ignore[arg-type]
            )
        )


def pending_in_groups(
    store: Store, backend: str, groups: Collection[str], *, limit: int
) -> list[ActionRecord]:
    """Unexpired `backend` approvals waiting in any of `groups`, oldest first."""
    if not groups:
        return []
    now = store.clock()
    query = (
        select(ActionRecord)
        .where(
            ActionRecord.status == ActionStatus.PENDING_APPROVAL,
            ActionRecord.approval_backend == backend,
            ActionRecord.review_group.in_(sorted(groups)),  # type: ignore[union-attr]
            (ActionRecord.expires_at.is_(None)) | (ActionRecord.expires_at > now),  # type: ignore[union-attr,operator]
        )
        .order_by(ActionRecord.created_at, ActionRecord.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    with store.transaction(read_only=True) as session:
        return list(session.exec(query))


def back_to_review(
    store: Store,
    action_id: str,
    *,
    worker: str,
    binding: Mapping[str, Any],
    expires_at: datetime,
    audit_data: Mapping[str, Any],
) -> bool:
    """An approved action whose targets changed goes back to its reviewers, in one
    transaction: `executing` (our claim) → `pending_approval` with the new snapshot, and the
    earlier votes void (deleted; the audit trail keeps them as `approval.vote` events), so
    every reviewer decides again on what Jira is now. False if we no longer held the claim."""
    with store.transaction() as session:
        moved = compare_and_set_status(
            session,
            action_id,
            from_statuses=[ActionStatus.EXECUTING],
            to_status=ActionStatus.PENDING_APPROVAL,
            expect_claimed_by=worker,
            now=store.clock(),
            claimed_by=None,
            claim_expires_at=None,
            attempts=0,
            reviewers=[],
            decided_at=None,
            decision_note=None,
            effective_details=None,
            expires_at=expires_at,
            binding=dict(binding),
        )
        if not moved:
            return False
        session.exec(delete(ApprovalVote).where(col(ApprovalVote.action_id) == action_id))
        audit.append(
            session,
            action_id=action_id,
            actor=worker,
            type="approval.changed_since_approval",
            data=dict(audit_data),
        )
        return True

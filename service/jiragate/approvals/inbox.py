"""The built-in inbox: approvals decided by reviewers through Jiragate, stored in our database.

Rules (PRODUCT.md, "fail closed"):
- one reject rejects the action at once;
- the action is approved when `min_approvals` *distinct* reviewers approved the *same*
  payload. Each approval counts toward the edit it carries (`modified_details`, a partial
  patch; no edit and `{}` are the same "as proposed" payload). If reviewers send different
  edits, their approvals do not add up: the first edit to reach `min_approvals` wins and is
  what runs. A reviewer who wants to back another's edit approves with that same edit;
- a reviewer votes once; the requester never votes on its own action;
- votes on an action that is no longer pending, or whose approval has expired, are refused
  (an expired action is marked `expired` on the spot).

The gateway checks an edit (schema, the catalog's edit rules, policy again) *before* calling
`vote`; the inbox only stores and counts. Each vote and its outcome are audited in the same
transaction as the state change.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jiragate.approvals.backend import ApprovalTerms
from jiragate.errors import ApprovalError, DecisionRefusedError
from jiragate.store import ActionRecord, ActionStatus, ApprovalVote, AuditNote, Store, Verdict
from jiragate.store.audit import canonical_json, payload_hash
from jiragate.store.votes import VoteTransaction, pending_in_groups, votes, voting

BACKEND_NAME = "inbox"

#: (action name, original details, reviewer's patch) -> the payload that will run.
PatchFunction = Callable[[str, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


def shallow_patch(
    action: str, details: Mapping[str, Any], patch: Mapping[str, Any]
) -> dict[str, Any]:
    """Cheqpoint's rule: the original details with the edited keys overridden.

    The gateway passes `jiragate.catalog.apply_patch` in the site's priority order, which
    also trims bulk ticket lists and caps their priorities.
    """
    return {**details, **patch}


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """Where the action stands after a vote."""

    action_id: str
    status: ActionStatus  # PENDING_APPROVAL, APPROVED or REJECTED
    #: Approvals counted toward the payload that leads (or won).
    approvals: int
    required: int
    #: The winning edit when approved (None: approved as proposed).
    modified_details: dict[str, Any] | None = None
    effective_details: dict[str, Any] | None = None

    @property
    def decided(self) -> bool:
        return self.status is not ActionStatus.PENDING_APPROVAL


def _patch_key(patch: Mapping[str, Any] | None) -> str:
    return canonical_json(dict(patch or {}))


class InboxBackend:
    """Approvals through Jiragate's own inbox. Build one per Store (no globals)."""

    name = BACKEND_NAME
    #: Votes arrive in our own database: nothing to fetch.
    polls = False

    def __init__(
        self,
        store: Store,
        *,
        apply_patch: PatchFunction = shallow_patch,
        person_of: Callable[[str], str] = lambda account: account,
    ) -> None:
        self.store = store
        self.apply_patch = apply_patch
        #: The person behind a reviewer account (settings: its `email`): quorum counts
        #: people, so one person's second account neither votes again nor adds an approval.
        self.person_of = person_of

    # ----------------------------------------------------------------- ApprovalBackend

    async def request(self, record: ActionRecord, terms: ApprovalTerms) -> ActionRecord:
        # The store is synchronous: off the event loop, as every store call from async code.
        return await asyncio.to_thread(self._request, record, terms)

    def _request(self, record: ActionRecord, terms: ApprovalTerms) -> ActionRecord:
        self.open(
            record.id,
            group=terms.group,
            min_approvals=terms.min_approvals,
            expires_at=terms.expires_at,
        )
        return self.store.get_action(record.id) or record

    async def refresh(self, record: ActionRecord) -> ActionRecord:
        return record  # decided by votes, in this database

    async def find(self, approval_ref: str) -> ActionRecord | None:
        return None  # inbox approvals have no external reference

    async def housekeeping(self) -> int:
        return 0  # expiry is the store's sweep, shared with every backend

    async def aclose(self) -> None:
        return None

    # ----------------------------------------------------------------- opening

    def open(
        self,
        action_id: str,
        *,
        group: str,
        min_approvals: int = 1,
        expires_at: datetime | None,
        actor: str = "gateway",
    ) -> None:
        """Put a `pending_approval` action in `group`'s inbox until `expires_at`."""
        if not group:
            raise ValueError("an inbox approval needs a review group")
        if min_approvals < 1:
            raise ValueError(f"min_approvals must be at least 1, got {min_approvals}")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware (UTC)")
        opened = self.store.transition_status(
            action_id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_backend=BACKEND_NAME,
            review_group=group,
            min_approvals=min_approvals,
            expires_at=expires_at,
            audit_note=AuditNote(
                actor=actor,
                type="approval.opened",
                data={
                    "backend": BACKEND_NAME,
                    "group": group,
                    "min_approvals": min_approvals,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            ),
        )
        if not opened:
            raise ApprovalError(f"cannot open an approval for {action_id}: it is not pending")

    # ----------------------------------------------------------------- reading

    def pending_for(
        self, reviewer_groups: Iterable[str], *, limit: int = 100
    ) -> list[ActionRecord]:
        """Unexpired inbox approvals waiting in any of `reviewer_groups`, oldest first."""
        groups = set(reviewer_groups)
        return pending_in_groups(self.store, BACKEND_NAME, groups, limit=limit)

    def votes(self, action_id: str) -> list[ApprovalVote]:
        return votes(self.store, action_id)

    # ----------------------------------------------------------------- voting

    def vote(
        self,
        action_id: str,
        *,
        reviewer: str,
        verdict: Verdict | str,
        modified_details: Mapping[str, Any] | None = None,
        note: str | None = None,
        requester: str | None = None,
        snapshot: str | None = None,
    ) -> VoteOutcome:
        """Record one reviewer's verdict and return where the action now stands.

        `requester` is whoever asked for the action when it differs from the action's agent
        (e.g. the human behind an agent key); neither may vote on it. `snapshot` is the hash
        of the snapshot the reviewer was shown: a vote on an older one is refused (the targets
        changed and the action was sent back since).
        Raises DecisionRefusedError for a refused vote, ApprovalError for an unknown action.
        """
        try:
            verdict = Verdict(verdict)
        except ValueError:
            raise ValueError(f"verdict must be 'approve' or 'reject', got {verdict!r}") from None
        if not reviewer:
            raise ValueError("a vote needs a reviewer")
        if verdict is Verdict.REJECT and modified_details:
            raise ValueError("a rejection cannot carry modified_details")
        patch = dict(modified_details) if modified_details else None

        expired = False
        # The row lock serializes votes on one action (PostgreSQL), so two last approvals
        # arriving together cannot each see one vote short and leave it pending forever.
        with voting(self.store, action_id) as tx:
            record = tx.record
            if (
                record.status is ActionStatus.PENDING_APPROVAL
                and record.expires_at is not None
                and record.expires_at <= tx.now
            ):
                expired = self._expire(tx, reviewer)
            else:
                self._check_may_vote(tx, reviewer, requester)
                self._check_snapshot(tx, snapshot)
                outcome = self._record_vote(tx, reviewer, verdict, patch, note)
        if expired:
            raise DecisionRefusedError(f"the approval of {action_id} has expired; it was rejected")
        return outcome

    def _check_may_vote(self, tx: VoteTransaction, reviewer: str, requester: str | None) -> None:
        record = tx.record
        if record.approval_backend != BACKEND_NAME:
            backend = record.approval_backend or "no approval backend"
            raise DecisionRefusedError(f"{record.id} is not decided in the inbox ({backend})")
        if record.status is not ActionStatus.PENDING_APPROVAL:
            raise DecisionRefusedError(
                f"{record.id} is {record.status.value}, no longer pending approval"
            )
        person = self.person_of(reviewer)
        if reviewer == record.agent or (requester is not None and person in {requester}):
            raise DecisionRefusedError(f"{reviewer} requested {record.id} and cannot approve it")
        earlier = tx.vote_by(reviewer)
        if earlier is not None:
            raise DecisionRefusedError(f"{reviewer} already voted {earlier.verdict} on {record.id}")
        for other in tx.voters():
            if self.person_of(other) == person:
                raise DecisionRefusedError(
                    f"{reviewer} and {other} are the same person ({person}), who already "
                    f"voted on {record.id}; quorum counts people, not accounts"
                )

    def _check_snapshot(self, tx: VoteTransaction, seen: str | None) -> None:
        current = ((tx.record.binding or {}).get("snapshot") or {}).get("hash")
        if seen is not None and seen != current:
            raise DecisionRefusedError(
                f"stale snapshot: {tx.record.id} changed since you looked (you saw {seen}, "
                f"it is now {current}); reload it and decide again"
            )

    def _record_vote(
        self,
        tx: VoteTransaction,
        reviewer: str,
        verdict: Verdict,
        patch: dict[str, Any] | None,
        note: str | None,
    ) -> VoteOutcome:
        record = tx.record
        tx.add_vote(reviewer=reviewer, verdict=verdict, modified_details=patch, note=note)
        required = record.min_approvals
        if verdict is Verdict.REJECT:
            self._decide(tx, ActionStatus.REJECTED, [reviewer], note)
            return VoteOutcome(record.id, ActionStatus.REJECTED, 0, required)

        approvals = tx.approvals()
        backing = [
            v.reviewer for v in approvals if _patch_key(v.modified_details) == _patch_key(patch)
        ]
        if len({self.person_of(r) for r in backing}) < required:
            leading = max(Counter(_patch_key(v.modified_details) for v in approvals).values())
            return VoteOutcome(record.id, ActionStatus.PENDING_APPROVAL, leading, required)
        effective = self.apply_patch(record.action, record.details, patch or {})
        self._decide(
            tx,
            ActionStatus.APPROVED,
            backing,
            note,
            effective_details=effective,
            data={"modified_details": patch},
        )
        return VoteOutcome(
            record.id, ActionStatus.APPROVED, len(backing), required, patch, effective
        )

    def _decide(
        self,
        tx: VoteTransaction,
        status: ActionStatus,
        reviewers: list[str],
        note: str | None,
        *,
        effective_details: dict[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "reviewers": reviewers,
            "decision_note": note,
            "decided_at": tx.now,
        }
        if effective_details is not None:
            fields["effective_details"] = effective_details
            if tx.record.binding is not None:
                # Bound to exactly this payload: the executor refuses any other.
                fields["binding"] = {
                    **tx.record.binding,
                    "payload_hash": payload_hash(effective_details),
                }
        moved = tx.move(
            status,
            actor=reviewers[-1],
            event=f"approval.{status.value}",
            data={"reviewers": reviewers, "note": note, **(data or {})},
            **fields,
        )
        if not moved:  # cannot happen under the row lock; refuse rather than guess
            raise DecisionRefusedError(f"{tx.record.id} changed while the vote was recorded")

    def _expire(self, tx: VoteTransaction, voter: str) -> bool:
        tx.move(
            ActionStatus.EXPIRED,
            actor="system",
            event="action.expired",
            data={"from": "pending_approval", "to": "expired", "late_voter": voter},
            decided_at=tx.now,
            decision_note="no decision before the approval expired",
        )
        return True

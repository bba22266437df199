"""Approvals decided in Cheqpoint: the `ApprovalBackend` over the Cheqpoint protocol client.

```
request(record, terms)   mark it a Cheqpoint approval, then create the request (trace: our id)
refresh(record)          create it if that failed before, else GET it and apply the decision
apply(record, decision)  only a decision fetched with our own key, never a pushed body
housekeeping()           refresh every pending Cheqpoint approval (outages never lose one)
```

A failed create keeps the action `pending_approval` with no reference, and housekeeping tries
again until the approval expires (fail closed). A reviewer's edit is checked by the gateway's
edit check (narrow only, policy again); a refused edit rejects the action, since Cheqpoint
cannot send it back. A *system* rejection (`retryable`) is resubmitted up to `max_resubmits`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from jiragate.approvals.backend import ApprovalTerms, DecisionObserver, EditCheck
from jiragate.approvals.cheqpoint import CheqpointClient, CheqpointDecision, CheqpointStatus
from jiragate.errors import ApprovalBackendError, ApprovalError, DecisionRefusedError
from jiragate.store import ActionRecord, ActionStatus, AuditNote, Store
from jiragate.store.audit import payload_hash

log = logging.getLogger("jiragate.approvals.cheqpoint")

BACKEND_NAME = "cheqpoint"
#: How many pending Cheqpoint approvals one housekeeping round refreshes.
HOUSEKEEPING_BATCH = 100


class CheqpointApprovals:
    """The Cheqpoint approval backend. `clients` holds one client per distinct Connection
    Key, keyed by review group ("" = the default)."""

    name = BACKEND_NAME
    polls = True

    def __init__(
        self,
        store: Store,
        clients: Mapping[str, CheqpointClient],
        *,
        check_edit: EditCheck,
        on_decided: DecisionObserver,
        on_backend_error: Callable[[], None],
        action_prefix: Callable[[str | None], str],
        webhook_url: str | None,
        max_resubmits: int,
    ) -> None:
        self._store = store
        self._clients = dict(clients)
        self._check_edit = check_edit
        self._on_decided = on_decided
        self._on_backend_error = on_backend_error
        self._action_prefix = action_prefix
        self._webhook_url = webhook_url
        self._max_resubmits = max_resubmits
        #: Who holds a request's create lease (store.lease_approval_request): this backend.
        self._holder = f"cheqpoint-create:{uuid.uuid4().hex[:12]}"

    def _create_lease(self, record: ActionRecord) -> timedelta:
        """How long a create may be in flight: the client's timeout, and a margin."""
        return timedelta(seconds=self._client_for(record.review_group).timeout + 1)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # ----------------------------------------------------------------- ApprovalBackend

    async def request(self, record: ActionRecord, terms: ApprovalTerms) -> ActionRecord:
        # Marked a Cheqpoint approval and leased for the create in one step: another
        # replica's sync loop must not open a second request while this one is in flight.
        await asyncio.to_thread(
            self._store.transition_status,
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_backend=BACKEND_NAME,
            expires_at=terms.expires_at,
            min_approvals=1,
            claimed_by=self._holder,
            claim_expires_at=self._store.clock() + self._create_lease(record),
        )
        await self._create(record, terms.action_prefix, terms.risk_score)
        return await asyncio.to_thread(self._reload, record.id)

    async def refresh(self, record: ActionRecord) -> ActionRecord:
        """Ask Cheqpoint about one pending action (create it first if that failed before)."""
        if record.status is not ActionStatus.PENDING_APPROVAL:
            return record
        if record.approval_ref is None:
            lease = self._create_lease(record).total_seconds()
            leased = await asyncio.to_thread(
                self._store.lease_approval_request, record.id, holder=self._holder, seconds=lease
            )
            if not leased:
                return record  # being created elsewhere (or already created): not twice
            await self._create(record, self._action_prefix(record.review_group), None)
            return await asyncio.to_thread(self._reload, record.id)
        try:
            decision = await self._client_for(record.review_group).get_request(record.approval_ref)
        except ApprovalBackendError as exc:
            self._on_backend_error()
            log.warning("Cheqpoint poll failed for %s: %s", record.id, exc)
            return record
        return await self.apply(record, decision)

    async def find(self, approval_ref: str) -> ActionRecord | None:
        return await asyncio.to_thread(self._store.find_by_approval_ref, approval_ref)

    async def housekeeping(self) -> int:
        page = await asyncio.to_thread(
            self._store.list_actions, status=ActionStatus.PENDING_APPROVAL, limit=HOUSEKEEPING_BATCH
        )
        synced = 0
        for record in page.items:
            if record.approval_backend == BACKEND_NAME:
                await self.refresh(record)
                synced += 1
        return synced

    # ----------------------------------------------------------------- decisions

    async def apply(self, record: ActionRecord, decision: CheqpointDecision) -> ActionRecord:
        """Apply a decision *fetched from Cheqpoint with our own key* (never a pushed body)."""
        if decision.id != record.approval_ref or record.status is not ActionStatus.PENDING_APPROVAL:
            return record
        if decision.status is CheqpointStatus.PENDING:
            return record
        # The rest is store work (and a pure edit check): one thread offload.
        record, resubmitted = await asyncio.to_thread(self._decided, record, decision)
        return await self.refresh(record) if resubmitted else record

    def _decided(
        self, record: ActionRecord, decision: CheqpointDecision
    ) -> tuple[ActionRecord, bool]:
        """(the action once the decision is applied, whether it was resubmitted: a retryable
        rejection, opened again by the next refresh)."""
        now = self._store.clock()
        if record.expires_at is not None and record.expires_at <= now:
            self._store.expire_overdue(now=now)  # a decision after expiry changes nothing
            return self._reload(record.id), False
        reviewer = f"cheqpoint:{decision.id}"
        note = decision.decision_note or decision.response_notes
        if decision.status is CheqpointStatus.REJECTED:
            if decision.retryable and self._resubmits(record) < self._max_resubmits:
                self._store.transition_status(
                    record.id,
                    from_statuses=[ActionStatus.PENDING_APPROVAL],
                    to_status=ActionStatus.PENDING_APPROVAL,
                    approval_ref=None,
                    audit_note=AuditNote(
                        actor="cheqpoint",
                        type="approval.resubmitted",
                        data={"ref": decision.id, "reason": note},
                    ),
                )
                return self._reload(record.id), True
            finished = self._finish(
                record, ActionStatus.REJECTED, reviewer, note, decision.retryable
            )
            return finished, False
        patch = decision.modified_details or {}
        try:
            effective = self._check_edit(record, patch) if patch else dict(record.details)
        except DecisionRefusedError as exc:
            refused = f"the reviewer's edit was refused: {exc}"
            return self._finish(record, ActionStatus.REJECTED, reviewer, refused, False), False
        approved = self._finish(
            record, ActionStatus.APPROVED, reviewer, note, False, effective, patch
        )
        return approved, False

    # ----------------------------------------------------------------- internals

    def _client_for(self, group: str | None) -> CheqpointClient:
        client = self._clients.get(group or "") or self._clients.get("")
        if client is None:
            raise ApprovalBackendError("no Cheqpoint client is configured")
        return client

    async def _create(self, record: ActionRecord, prefix: str, score: float | None) -> bool:
        group_name = record.review_group
        try:
            ref = await self._client_for(group_name).create_request(
                action=f"{prefix}{record.action}",
                summary=record.summary,
                details=record.details,
                justification=record.justification,
                risk_score=score,
                webhook_url=self._webhook_url,
                trace={
                    "jiragateActionId": record.id,
                    "reviewGroup": group_name,
                    "agent": record.agent,
                    "rule": record.determining_rule,
                    "policyRevision": record.policy_revision,
                },
            )
        except ApprovalBackendError as exc:
            # Fail closed but keep the request: it stays pending, and housekeeping tries to
            # create it again (lease released) until the approval expires.
            self._on_backend_error()
            await asyncio.to_thread(self._create_failed, record, exc)
            return False
        await asyncio.to_thread(
            self._store.transition_status,
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_ref=ref,
            claimed_by=None,
            claim_expires_at=None,
            audit_note=AuditNote(
                actor="gateway",
                type="approval.opened",
                data={"backend": BACKEND_NAME, "ref": ref, "group": group_name, "risk": score},
            ),
        )
        return True

    def _create_failed(self, record: ActionRecord, exc: ApprovalBackendError) -> None:
        self._store.transition_status(
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            expect_claimed_by=self._holder,
            claimed_by=None,
            claim_expires_at=None,
        )
        self._store.append_audit(
            action_id=record.id,
            actor="gateway",
            type="approval.backend_error",
            data={"backend": BACKEND_NAME, "error": str(exc)},
        )

    def _resubmits(self, record: ActionRecord) -> int:
        events = self._store.audit_events(action_id=record.id, limit=500)
        return sum(1 for e in events if e.type == "approval.resubmitted")

    def _finish(
        self,
        record: ActionRecord,
        status: ActionStatus,
        reviewer: str,
        note: str | None,
        retryable: bool,
        effective: dict[str, Any] | None = None,
        patch: Mapping[str, Any] | None = None,
    ) -> ActionRecord:
        fields: dict[str, Any] = {
            "reviewers": [reviewer],
            "decision_note": note,
            "decided_at": self._store.clock(),
        }
        if effective is not None:
            fields["effective_details"] = effective
        if status is ActionStatus.APPROVED and record.binding is not None:
            # Bound to exactly this payload, as an inbox approval is (gateway/binding.py).
            runs = effective if effective is not None else record.details
            fields["binding"] = {**record.binding, "payload_hash": payload_hash(runs)}
        moved = self._store.transition_status(
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=status,
            audit_note=AuditNote(
                actor=reviewer,
                type=f"approval.{status.value}",
                data={"note": note, "modified_details": dict(patch or {}), "retryable": retryable},
            ),
            **fields,
        )
        if moved:
            self._on_decided(record, status)
        return self._reload(record.id)

    def _reload(self, action_id: str) -> ActionRecord:
        record = self._store.get_action(action_id)
        if record is None:  # pragma: no cover - rows are never deleted
            raise ApprovalError(f"action {action_id} vanished")
        return record

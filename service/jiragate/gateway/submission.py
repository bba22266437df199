"""Submitting an action: validate, decide (counted against its budgets), record, then execute
an allowed one or open an approval for a gated one, bound to what it was decided on; and the
dry run (`evaluate`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jiragate.approvals.backend import ApprovalTerms
from jiragate.catalog import (
    JIRA_PRIORITIES,
    ActionKind,
    ActionRequest,
    PriorityOrder,
    count_of,
    parse_envelope,
    project_of,
)
from jiragate.errors import StoreIntegrityError
from jiragate.gateway.binding import ON_CHANGE_DEFAULT, read_snapshot
from jiragate.gateway.budgets import lock_keys
from jiragate.gateway.execution import ForwardRequest
from jiragate.gateway.state import GatewayState
from jiragate.jira.client import RawResponse
from jiragate.policy.engine import BudgetUsage, Decision, PolicySet
from jiragate.policy.model import Effect, ReviewGroup
from jiragate.store import (
    ActionRecord,
    ActionStatus,
    AuditNote,
    CreatedAction,
    FinishedRun,
    request_hash,
)
from jiragate.store.budgets import BudgetTransaction
from jiragate.store.models import new_action_id

_DECISION_STATUS = {
    # An allowed action is recorded already executing (a write, claimed) or executed (a read).
    Effect.ALLOW: ActionStatus.EXECUTING,
    Effect.DENY: ActionStatus.DENIED,
    Effect.REQUIRE_APPROVAL: ActionStatus.PENDING_APPROVAL,
}
_EXECUTED = ActionStatus.EXECUTED
#: How long an approval waits when the deciding set does not know its group (a day).
_DEFAULT_APPROVAL_TIMEOUT = 24 * 3600


@dataclass(frozen=True, slots=True)
class Submission:
    """What `submit` did: the stored record, the decision, and whether this call created it."""

    record: ActionRecord
    decision: Decision | None
    created: bool
    #: Jira's own answer to a proxied read (`submit(forward=...)`), when one was sent.
    answer: RawResponse | None = None


def risk_score(
    decision: Decision,
    request: ActionRequest,
    group: ReviewGroup | None,
    priorities: PriorityOrder = JIRA_PRIORITIES,
) -> float:
    """A 0..1 score for Cheqpoint's routing and auto-decision rules: what kind of action,
    how many issues, how urgent. Coarse on purpose; the policy made the real decision."""
    base = {ActionKind.READ: 0.1, ActionKind.WRITE: 0.5, ActionKind.DESTRUCTIVE: 0.8}[request.kind]
    count = count_of(request.action, request.details)
    score = base + min(0.15, count / 200)
    if _urgent(request.details.get("priority"), priorities):
        score += 0.05
    if group is not None and group.cheqpoint.min_risk_score is not None:
        score = max(score, group.cheqpoint.min_risk_score)
    return round(min(score, 1.0), 2)


def _urgent(priority: object, order: PriorityOrder) -> bool:
    """A priority strictly above the middle of the site's order (High and Highest of Jira's
    five, P1 and P2 of four). One the order does not know counts as urgent: it scores no
    lower."""
    if priority is None:
        return False
    level = order.level(priority)
    return level is None or level > (len(order) + 1) / 2


class SubmissionMixin(GatewayState):
    """`submit` and `evaluate`, and the approval terms a gated action opens with."""

    def evaluate(
        self, envelope: Mapping[str, Any], *, agent: str, explain: bool = True
    ) -> Decision:
        """The dry run: the full decision, nothing recorded, nothing executed."""
        request = self._on_cached_site(self._parse(envelope))
        return self._policies.deciding().evaluate(request, agent=agent, explain=explain)

    def _parse(self, envelope: Mapping[str, Any]) -> ActionRequest:
        """The envelope validated by the catalog, and refused if it would write a label that
        imitates the adapter's duplicate-protection markers (hole: forged markers)."""
        request = parse_envelope(envelope)
        self._adapter.check_details(request.action, request.details)
        return request

    async def submit(
        self,
        envelope: Mapping[str, Any],
        *,
        agent: str,
        idempotency_key: str | None = None,
        forward: ForwardRequest | None = None,
    ) -> Submission:
        """Validate, decide, record, and act: execute an allowed action now; open an
        approval for a gated one. With an Idempotency-Key a replay returns the first record
        (and never executes twice); the same key with another body raises a conflict.

        `forward` (the Jira REST proxy, docs/proxy.md) is the client's own request for a
        read: allowed, it is sent instead of the catalog handler and recorded without the
        key (a read is never replayed from the record: the agent gets Jira's answer now);
        a replayed read that was approved and executed is sent again the same way."""
        request = await self._on_site(self._parse(envelope))
        policies = self._policies.deciding()
        body_hash = request_hash(request.as_dict()) if idempotency_key else None
        answer: RawResponse | None = None
        budgets = policies.budgets_for(request.action)
        if budgets and request.kind is not ActionKind.READ:
            # Counted, decided and recorded in one transaction under the budgets' locks, so
            # concurrent decisions on any replica never overrun a budget together.
            created, decision = await asyncio.to_thread(
                self._submit_counted, request, agent, policies, idempotency_key, body_hash
            )
            if forward is not None:
                self.metrics.proxy_decisions.labels(decision.decision.value, request.action).inc()
            if not created.created:
                return Submission(created.action, None, created=False)
        else:
            decision = policies.evaluate(request, agent=agent, explain=False)
            self._observe(decision)
            if forward is not None:
                self.metrics.proxy_decisions.labels(decision.decision.value, request.action).inc()
            if forward is not None and decision.allowed and request.kind is ActionKind.READ:
                # The client's own read, sent now: never replayed from a record.
                idempotency_key = None
                body_hash = None
            finished: FinishedRun | None = None
            action_id: str | None = None
            if decision.allowed and request.kind is ActionKind.READ and forward is not None:
                action_id = new_action_id()
                finished, answer = await self._executor.run_forward(request, action_id, forward)
                await self._learn_from_answer(forward.path, answer)
            elif decision.allowed and request.kind is ActionKind.READ:
                # A read changes nothing in Jira, so it runs first and is recorded once, with
                # its result, in one transaction (no claim, no lease: re-running it is
                # harmless).
                if idempotency_key is not None:
                    replay = await asyncio.to_thread(
                        self._store.find_by_idempotency_key,
                        agent=agent,
                        key=idempotency_key,
                        request_hash=body_hash,
                    )
                    if replay is not None:
                        return Submission(replay, None, created=False)
                action_id = new_action_id()
                finished = await self._executor.run_read(request, action_id)
                await self._learn_from_result(request, finished)
            fields = self._action_fields(
                request, decision, agent, idempotency_key, body_hash, claim=finished is None
            )
            if finished is not None and idempotency_key is None:
                # A finished read: recorded off the event loop, in a group commit with the
                # reads that finished alongside it (gateway/recording.py).
                recorded = await self._reads.record(
                    {**fields, "action_id": action_id, "finished": finished}
                )
                created = CreatedAction(recorded, created=True)
            else:
                created = await asyncio.to_thread(
                    self._store.create_action, **fields, action_id=action_id, finished=finished
                )
        claim = decision.allowed and request.kind is not ActionKind.READ
        record = created.action
        if not created.created:
            if forward is not None and record.kind == "read" and record.status is _EXECUTED:
                # An approved read a worker ran: the client wants Jira's answer, now.
                replayed, answer = await self._executor.run_forward(request, record.id, forward)
                await self._learn_from_answer(forward.path, answer)
                del replayed  # the action's own execution stays its record
            return Submission(record, None, created=False, answer=answer)
        self.metrics.statuses.labels(record.status.value).inc()
        if claim:
            record = await self._executor.execute(record)
        elif decision.needs_approval:
            # Before the approval opens (no vote can count until then): what it is bound to.
            await self._bind(record, request, decision, policies)
            record = await self._open_approval(record, request, decision, policies)
        return Submission(record, decision, created=True, answer=answer)

    @contextlib.contextmanager
    def _counted(
        self, request: ActionRequest, agent: str, policies: PolicySet
    ) -> Iterator[tuple[BudgetTransaction | None, dict[str, BudgetUsage] | None]]:
        """(a budget transaction, the usage) for an action some budget counts: decide and
        record inside it; (None, None) for any other action (no lock, no transaction)."""
        budgets = policies.budgets_for(request.action)
        if not budgets or request.kind is ActionKind.READ:
            yield None, None
            return
        keys = lock_keys(budgets, agent, project_of(request.details))
        with self._store.budget_transaction(keys) as session:
            usage = self._budget_counter.usage(
                policies,
                action=request.action,
                details=request.details,
                agent=agent,
                now=self._store.clock(),
                session=session,
            )
            yield session, usage

    def _submit_counted(
        self,
        request: ActionRequest,
        agent: str,
        policies: PolicySet,
        idempotency_key: str | None,
        body_hash: str | None,
    ) -> tuple[CreatedAction, Decision]:
        try:
            with self._counted(request, agent, policies) as (session, usage):
                decision = policies.evaluate(request, agent=agent, explain=False, usage=usage)
                created = self._store.create_action(
                    **self._action_fields(request, decision, agent, idempotency_key, body_hash),
                    session=session,
                )
        except StoreIntegrityError:
            if idempotency_key is None:
                raise
            # The same (agent, key) was recorded by another request while we waited.
            replay = self._store.find_by_idempotency_key(
                agent=agent, key=idempotency_key, request_hash=body_hash
            )
            if replay is None:
                raise
            return CreatedAction(replay, created=False), decision
        if created.created:
            self._observe(decision)
        return created, decision

    def _observe(self, decision: Decision) -> None:
        """A decision's metrics: its outcome, its budgets, its shadow outcome."""
        self.metrics.decisions.labels(decision.decision.value, decision.action).inc()
        for check in decision.budgets:
            self.metrics.budget_limit.labels(check.budget).set(check.limit)
            if decision.agent is not None:
                used = check.used + (check.units if _counts(decision) else 0)
                self.metrics.budget_used.labels(check.budget, decision.agent).set(used)
            if check.over:
                self.metrics.budget_exceeded.labels(check.budget, decision.decision.value).inc()
        shadow = decision.shadow
        if shadow is not None:
            self.metrics.shadow_outcomes.labels(
                shadow.determining_rule or "", shadow.decision.value, str(shadow.disagrees).lower()
            ).inc()

    def _action_fields(
        self,
        request: ActionRequest,
        decision: Decision,
        agent: str,
        idempotency_key: str | None,
        body_hash: str | None,
        *,
        claim: bool = True,
    ) -> dict[str, Any]:
        """The record of a submitted action and its audit event. An allowed write is
        claimed by this process in the same transaction that records it: executed inline,
        and taken over by a worker if we crash."""
        claim = claim and decision.allowed
        return {
            "agent": agent,
            "action": request.action,
            "summary": request.summary,
            "justification": request.justification,
            "details": request.details,
            "effective_details": request.details if decision.allowed else None,
            "kind": request.kind.value,
            "decision": decision.decision.value,
            "status": _DECISION_STATUS[decision.decision],
            "review_group": decision.review_group,
            "determining_rule": decision.determining_rule,
            "decision_json": decision.as_dict(),
            "policy_revision": decision.revision,
            "idempotency_key": idempotency_key,
            "request_hash": body_hash,
            "claimed_by": self.worker_id if claim else None,
            "claim_lease_seconds": self.settings.lease_seconds if claim else None,
            "audit_note": AuditNote(
                actor=agent,
                type="action.submitted",
                data={
                    "action": request.action,
                    "decision": decision.decision.value,
                    "rule": decision.determining_rule,
                    "review_group": decision.review_group,
                    "reasons": list(decision.reasons),
                    "policy_revision": decision.revision,
                    **({"claimed_by": self.worker_id} if claim else {}),
                    **(
                        {"budgets": [check.as_dict() for check in decision.budgets]}
                        if decision.budgets
                        else {}
                    ),
                    **({"shadow": decision.shadow.as_dict()} if decision.shadow else {}),
                },
            ),
        }

    async def _bind(
        self,
        record: ActionRecord,
        request: ActionRequest,
        decision: Decision,
        policies: PolicySet,
    ) -> None:
        """Record what the approval will be bound to: the targets as Jira has them now
        (shown to the reviewers), the revision that decided, and what a later change does."""
        group = policies.groups.get(decision.review_group or "")
        snapshot = await read_snapshot(
            self._adapter, request.details, sprint_field=self.settings.jira.sprint_field
        )
        binding = {
            "snapshot": snapshot,
            "policy_revision": decision.revision,
            "on_change": group.on_change if group else ON_CHANGE_DEFAULT,
            "payload_hash": None,
            "rounds": 1,
        }
        await asyncio.to_thread(
            self._store.transition_status,
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            binding=binding,
        )

    async def _open_approval(
        self,
        record: ActionRecord,
        request: ActionRequest,
        decision: Decision,
        policies: PolicySet,
    ) -> ActionRecord:
        # The group's timeout and quorum come from the revision that decided, not from a set
        # hot-reloaded in between (which may have changed or dropped the group).
        group_name = decision.review_group or ""
        group, expires_at, min_approvals = self._approval_terms(policies, group_name)
        terms = ApprovalTerms(
            group=group_name,
            expires_at=expires_at,
            min_approvals=min_approvals,
            action_prefix=group.cheqpoint.action_prefix if group else "",
            risk_score=risk_score(decision, request, group, self.priority_order()),
        )
        return await self._approvals.request(record, terms)

    def _approval_terms(
        self, policies: PolicySet, group_name: str
    ) -> tuple[ReviewGroup | None, datetime, int]:
        """(the group, when its approval expires, its quorum): a group the deciding set
        does not know gets one approval within a day."""
        group = policies.groups.get(group_name)
        timeout = group.approval_timeout_seconds if group else _DEFAULT_APPROVAL_TIMEOUT
        expires_at = self._store.clock() + timedelta(seconds=timeout)
        return group, expires_at, group.min_approvals if group else 1


def _counts(decision: Decision) -> bool:
    """Whether the action now uses budget (allowed or reserved pending approval)."""
    return not decision.denied

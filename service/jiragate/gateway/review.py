"""Inbox decisions: who may review what (review groups, escalation), a reviewer's verdict,
the one edit check for API, inbox and Cheqpoint decisions, and the policy check an approved
action passes again before it executes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from jiragate.approvals.inbox import VoteOutcome
from jiragate.catalog import (
    ActionRequest,
    PriorityOrder,
    PriorityOrderError,
    apply_patch,
    narrowed_details,
    normalise_details,
)
from jiragate.errors import (
    ActionError,
    ApprovalError,
    DecisionRefusedError,
    ReviewerNotAllowedError,
)
from jiragate.gateway.state import GatewayState
from jiragate.store import ActionRecord, ActionStatus, Verdict

log = logging.getLogger("jiragate.gateway")


class ReviewMixin(GatewayState):
    """Reviewers, their verdicts and edits, judged in the site's priority order."""

    def reviewer_groups(self, reviewer: str) -> list[str]:
        return sorted(
            name for name, g in self._policies.current.groups.items() if reviewer in g.members
        )

    def may_review(self, reviewer: str, record: ActionRecord) -> bool:
        """Whether `reviewer` may see and decide `record`: a member of its review group, or,
        once the group's escalation time has passed (`notification_schedule`), of the group
        it escalates to. An escalation hands the approval to more people; it never takes it
        from the group that had it."""
        return self._reviewable(self.reviewer_groups(reviewer), record)

    def review_queue(self, reviewer: str, *, limit: int = 100) -> list[ActionRecord]:
        """The approvals waiting for `reviewer`, oldest first: their groups' and those
        escalated to their groups."""
        groups = self.reviewer_groups(reviewer)
        escalating = [
            name
            for name, schedule in self.settings.notification_schedule.items()
            if schedule.escalate_to in groups and name not in groups
        ]
        waiting = self.pending_approvals([*groups, *escalating], limit=limit)
        return [r for r in waiting if self._reviewable(groups, r)]

    def _reviewable(self, groups: Collection[str], record: ActionRecord) -> bool:
        if record.review_group in groups:
            return True
        escalation = self._escalation(record)
        return escalation is not None and escalation[0] in groups and escalation[1] <= self.now()

    def _escalation(self, record: ActionRecord) -> tuple[str, datetime] | None:
        """(the group `record` escalates to, when), if its group's schedule escalates."""
        schedule = self.settings.notification_schedule.get(record.review_group or "")
        if schedule is None or schedule.escalate_to is None:
            return None
        after = timedelta(seconds=schedule.escalate_after_seconds or 0)
        return schedule.escalate_to, record.created_at + after

    def _escalation_hint(self, record: ActionRecord) -> str:
        escalation = self._escalation(record)
        if escalation is None or escalation[1] <= self.now():
            return ""
        target, at = escalation
        return f" (it escalates to {target!r} at {at.isoformat(timespec='seconds')})"

    def decide(
        self,
        action_id: str,
        *,
        reviewer: str,
        verdict: Verdict | str,
        modified_details: Mapping[str, Any] | None = None,
        note: str | None = None,
        snapshot: str | None = None,
    ) -> VoteOutcome:
        """A reviewer's verdict on an inbox approval. An edit is checked before it counts:
        it must validate, may only narrow the action, and must still be something this
        review group may approve. `snapshot` is the hash of the snapshot the reviewer was
        shown; a vote on an older one is refused as stale. Refusals are audited and raise
        DecisionRefusedError."""
        record = self._store.get_action(action_id)
        if record is None:
            raise ApprovalError(f"no action {action_id!r}")
        try:
            if not self.may_review(reviewer, record):
                raise ReviewerNotAllowedError(
                    f"{reviewer} is not a member of {record.review_group!r}, which reviews "
                    f"{action_id}{self._escalation_hint(record)}"
                )
            if reviewer == record.agent:
                raise ReviewerNotAllowedError(
                    f"{reviewer} requested {action_id} and cannot decide it"
                )
            principal = self.settings.principal_of(record.agent)
            if principal is not None and self.settings.person_of(reviewer) == principal:
                raise ReviewerNotAllowedError(
                    f"{record.agent} acts on behalf of {principal}, the person behind "
                    f"{reviewer}: they cannot decide its actions"
                )
            if Verdict(verdict) is Verdict.APPROVE and modified_details:
                self.check_edit(record, modified_details)
            outcome = self._inbox.vote(
                action_id,
                reviewer=reviewer,
                verdict=verdict,
                modified_details=modified_details or None,
                note=note,
                requester=principal,
                snapshot=snapshot,
            )
        except DecisionRefusedError as exc:
            self._store.append_audit(
                action_id=action_id,
                actor=reviewer,
                type="approval.refused",
                data={"verdict": str(verdict), "reason": str(exc)},
            )
            raise
        if outcome.decided:
            self._observe_decision(record, outcome.status)
            self._queue_callback(action_id)
        return outcome

    def priority_order(self) -> PriorityOrder:
        """The site's priorities, highest first: Jira's own list when the site's metadata is
        cached (GET /priority, fetched by the adapter), else the order the policy set
        declares (`priorities:`, default Jira's five). Reviewer edits are judged in it."""
        site = self._adapter.site.cached
        if site is not None and site.priorities:
            try:
                return PriorityOrder.of(site.priorities)
            except PriorityOrderError:
                log.warning(
                    "the site's priorities are no order (%s); using the policies'", site.priorities
                )
        return self._policies.current.priorities

    def _apply_patch(
        self, name: str, details: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        return apply_patch(name, details, patch, self.priority_order())

    def check_edit(self, record: ActionRecord, patch: Mapping[str, Any]) -> dict[str, Any]:
        """The effective payload of a reviewer's edit, or DecisionRefusedError saying why not.

        The one check for API, inbox and Cheqpoint decisions: the catalog's edit rules (each
        field may only narrow, as declared per action; EditRefusedError names field and rule),
        then policy again on the effective payload."""
        effective = narrowed_details(record.action, record.details, patch, self.priority_order())
        try:
            self._adapter.check_details(record.action, effective)
        except ActionError as exc:
            raise DecisionRefusedError(f"the edited details are invalid: {exc}") from exc
        # Policies see an edited search's JQL in the same canonical form as a submitted one.
        effective = normalise_details(effective)
        again = self._policies.deciding().evaluate(
            ActionRequest(record.action, record.summary, effective, record.justification),
            agent=record.agent,
        )
        if again.denied:
            raise DecisionRefusedError(
                f"the edited action would be denied by rule {again.determining_rule!r}: "
                f"{again.reason}"
            )
        if again.needs_approval and again.review_group != record.review_group:
            raise DecisionRefusedError(
                f"the edited action would need approval from {again.review_group!r}, "
                f"not {record.review_group!r}"
            )
        return effective

    def _still_allowed(self, record: ActionRecord, details: Mapping[str, Any]) -> str | None:
        """An approval is bound to the policy revision that gated it. Under another active
        revision the payload is decided again: now denied, or now another group's to approve,
        the approval does not carry over (None: it does)."""
        bound_to = (record.binding or {}).get("policy_revision")
        policies = self._policies.deciding()
        if bound_to is None or bound_to == policies.revision:
            return None
        again = policies.evaluate(
            ActionRequest(record.action, record.summary, dict(details), record.justification),
            agent=record.agent,
        )
        changed = f"the policy changed since approval ({bound_to} → {policies.revision})"
        if again.denied:
            return f"{changed}: now denied by rule {again.determining_rule!r}: {again.reason}"
        if again.needs_approval and again.review_group != record.review_group:
            return (
                f"{changed}: now {again.review_group!r}'s to approve, not {record.review_group!r}"
            )
        return None

    def _observe_decision(self, record: ActionRecord, status: ActionStatus) -> None:
        self.metrics.statuses.labels(status.value).inc()
        waited = (self._store.clock() - record.created_at).total_seconds()
        self.metrics.approval_latency.labels(status.value).observe(max(waited, 0.0))

    async def webhook_hint(self, approval_ref: str) -> ActionRecord | None:
        """A verified webhook names an approval; fetch it ourselves before acting on it."""
        record = await self._approvals.find(approval_ref)
        if record is None:
            return None
        return await self._approvals.refresh(record)

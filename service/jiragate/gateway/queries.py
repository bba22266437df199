"""What the edges read and operators ask: actions and their votes, the audit trail, inbox
sessions, the running policies and their reports, readiness and metrics.

The edges (api, web, mcp, commands) call these use cases, never the collaborators: which
store, adapter or approval backend answers is the gateway's business.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import IO, Any

from jiragate.errors import ApprovalError, StoreError, StoreUnavailableError
from jiragate.gateway.policies import PolicyStatus
from jiragate.gateway.state import GatewayState
from jiragate.policy.engine import PolicySet
from jiragate.store import (
    ActionPage,
    ActionRecord,
    ActionStatus,
    ApprovalVote,
    AuditEvent,
    VerifyReport,
)
from jiragate.store.inbox_auth import InboxAuthStore


class QueriesMixin(GatewayState):
    """Reads and reports over the store and the running policy set."""

    def now(self) -> datetime:
        """The store's clock (UTC): what expiry and sessions are measured against."""
        return self._store.clock()

    def get_action(self, action_id: str) -> ActionRecord | None:
        return self._store.get_action(action_id)

    def get_record(self, action_id: str) -> ActionRecord:
        record = self._store.get_action(action_id)
        if record is None:  # pragma: no cover - rows are never deleted
            raise ApprovalError(f"action {action_id} vanished")
        return record

    def find_submitted(self, *, agent: str, idempotency_key: str) -> ActionRecord | None:
        """The action `agent` submitted with this key, if any (the proxy's resent requests:
        their outcome, without classifying the request again against today's Jira)."""
        return self._store.find_by_idempotency_key(agent=agent, key=idempotency_key)

    def list_actions(
        self,
        *,
        status: ActionStatus | str | Collection[ActionStatus | str] | None = None,
        agent: str | None = None,
        action: str | None = None,
        group: str | Collection[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActionPage:
        """Newest first, keyset-paged; ValueError for a cursor that is not ours."""
        return self._store.list_actions(
            status=status, agent=agent, action=action, group=group, limit=limit, cursor=cursor
        )

    def pending_approvals(self, groups: Iterable[str], *, limit: int = 100) -> list[ActionRecord]:
        """Unexpired inbox approvals waiting in any of `groups`, oldest first."""
        return self._inbox.pending_for(groups, limit=limit)

    def votes(self, action_id: str) -> list[ApprovalVote]:
        return self._inbox.votes(action_id)

    def note_event(
        self,
        *,
        action_id: str | None,
        actor: str,
        type: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit something an edge refused or saw (an access refused, a bad webhook)."""
        self._store.append_audit(action_id=action_id, actor=actor, type=type, data=data)

    def audit_events(
        self, *, action_id: str | None = None, after: int | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        return self._store.audit_events(action_id=action_id, after=after, limit=limit)

    def verify_audit(self) -> VerifyReport:
        return self._store.verify_audit()

    def export_audit(self, fp: IO[str], *, since: int | None = None) -> int:
        return self._store.export_audit(fp, since=since)

    def inbox_auth(self) -> InboxAuthStore:
        """Inbox sessions and sign-in counters, in this gateway's database and clock."""
        store = self._store
        auth = self._inbox_auth
        if auth is None or auth.engine is not store.engine or auth.clock is not store.clock:
            auth = self._inbox_auth = InboxAuthStore(store.engine, clock=store.clock)
        return auth

    @property
    def policy_status(self) -> PolicyStatus:
        return self._policies.status

    @property
    def current_policies(self) -> PolicySet:
        """The set this process holds (for inspection and explanations, not decisions)."""
        return self._policies.current

    def budget_report(
        self, *, agent: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Every budget of the running set with its usage per scope, now."""
        policies = self._policies.current
        for budget in policies.budgets.values():
            self.metrics.budget_limit.labels(budget.name).set(budget.limit)
        return self._budget_counter.report(
            policies, now=self._store.clock(), agent=agent, project=project
        )

    def shadow_report(self, *, limit: int = 1000) -> dict[str, Any]:
        """The running set's shadow rules and, over its last `limit` recorded decisions,
        how often each matched and how often enforcing it would have changed the decision."""
        policies = self._policies.current
        shadow_ids = [rule.id for rule in policies.shadow_rules]
        by_rule = {rule_id: {"matched": 0, "disagreed": 0} for rule_id in shadow_ids}
        evaluated = disagreements = 0
        if shadow_ids:
            for record in self._store.recent_decisions(policies.revision, limit=limit):
                evaluated += 1
                shadow = (record.decision_json or {}).get("shadow")
                if not shadow:
                    continue
                disagrees = bool(shadow.get("disagrees"))
                disagreements += disagrees
                for rule_id in shadow.get("matched_rules", ()):
                    if rule_id in by_rule:
                        by_rule[rule_id]["matched"] += 1
                        by_rule[rule_id]["disagreed"] += disagrees
        return {
            "rules": shadow_ids,
            "decisions": evaluated,
            "disagreements": disagreements,
            "by_rule": by_rule,
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, checks): the active policies run here and the database answers."""
        policies = self._policies.status
        checks: dict[str, Any] = {
            "policies": policies.policies.revision,
            "active_policies": policies.active_revision,
        }
        if policies.problem is not None:  # it refuses to decide: take it out of rotation
            checks["policies_problem"] = policies.problem
            return False, checks
        try:
            self._store.ping()
        except StoreError as exc:
            kind = exc.kind if isinstance(exc, StoreUnavailableError) else type(exc).__name__
            checks["database"] = f"unavailable: {kind}"
            return False, checks
        checks["database"] = "ok"
        return True, checks

    def metrics_text(self) -> bytes:
        return self.metrics.render()

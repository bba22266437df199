"""Approvals for actions their requester executes (the Cheqpoint-compatible API): decided by
policy now, recorded with executor `external` (workers never run them) and, when gated or
escalated, opened in the inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jiragate.catalog import parse_envelope
from jiragate.errors import InvalidCallbackError
from jiragate.gateway.state import GatewayState
from jiragate.store import EXECUTOR_EXTERNAL, ActionRecord, ActionStatus, AuditNote


class ExternalApprovalsMixin(GatewayState):
    """`request_approval`, its action-prefix routing and its callback check."""

    def _check_callback(self, url: object) -> None:
        """Decisions are only pushed to allowed, signed destinations: an open callback would
        let any agent make this service send requests anywhere (SSRF)."""
        settings = self.settings.cheqpoint
        if not isinstance(url, str) or not url:
            raise InvalidCallbackError("webhookUrl / callbackUrl must be a non-empty URL string")
        if not any(url.startswith(prefix) for prefix in settings.callback_url_prefixes):
            allowed = ", ".join(settings.callback_url_prefixes) or "none configured"
            raise InvalidCallbackError(
                f"callback URL {url!r} is not allowed (cheqpoint.callback_url_prefixes: "
                f"{allowed}); omit it and poll GET /api/approvals/{{id}}"
            )
        if settings.webhook_secret is None:
            raise InvalidCallbackError(
                "callbacks need cheqpoint.webhook_secret to sign them; poll instead"
            )

    def route_prefixed_action(self, action: str) -> tuple[str, str | None]:
        """Strip a group's Cheqpoint action prefix: "pm:jira_create_epic" ->
        ("jira_create_epic", "pms"); (action, None) when no group's prefix matches."""
        for name, group in self._policies.current.groups.items():
            prefix = group.cheqpoint.action_prefix
            if prefix and action.startswith(prefix):
                return action[len(prefix) :], name
        return action, None

    def request_approval(
        self,
        envelope: Mapping[str, Any],
        *,
        agent: str,
        requested_as: str,
        routed_group: str | None,
        callback: object = None,
        protocol: Mapping[str, Any],
    ) -> ActionRecord:
        """An approval for an action its requester executes (the Cheqpoint-compatible API):
        decided by policy now, recorded with executor `external` (workers never run it),
        and, when gated or escalated, opened in the inbox.

        The policy decides, not the caller's prefix: a deny stays a deny (fail closed), and a
        gated action goes to the policy's group. `routed_group` (from an action prefix) only
        asks a human to look at an action the policy would have allowed outright.
        A `callback` URL must be one the settings allow (InvalidCallbackError otherwise)."""
        request = parse_envelope(envelope)
        policies = self._policies.deciding()
        if callback is not None:
            self._check_callback(callback)
        # Budgets hold here too: this API must not be a way around them.
        with self._counted(request, agent, policies) as (session, usage):
            decision = policies.evaluate(request, agent=agent, usage=usage)
            group_name = decision.review_group if decision.needs_approval else routed_group
            if decision.denied:
                status = ActionStatus.DENIED
            elif decision.needs_approval or routed_group:
                status = ActionStatus.PENDING_APPROVAL
            else:
                status = ActionStatus.APPROVED
            created = self._store.create_action(
                agent=agent,
                action=request.action,
                summary=request.summary,
                justification=request.justification,
                details=request.details,
                effective_details=request.details if status is ActionStatus.APPROVED else None,
                kind=request.kind.value,
                decision=decision.decision.value,
                status=status,
                review_group=group_name if status is ActionStatus.PENDING_APPROVAL else None,
                determining_rule=decision.determining_rule,
                decision_json={**decision.as_dict(), "cheqpoint": dict(protocol)},
                policy_revision=decision.revision,
                executor=EXECUTOR_EXTERNAL,
                session=session,
                audit_note=AuditNote(
                    actor=agent,
                    type="approval.requested",
                    data={
                        "api": "cheqpoint",
                        "action": requested_as,
                        "decision": decision.decision.value,
                        "group": group_name,
                    },
                ),
            )
        record = created.action
        if status is ActionStatus.PENDING_APPROVAL:
            _, expires_at, min_approvals = self._approval_terms(policies, group_name or "")
            self._inbox.open(
                record.id,
                group=group_name or "",
                min_approvals=min_approvals,
                expires_at=expires_at,
            )
        return self.get_record(record.id)

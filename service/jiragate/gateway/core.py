"""The gateway: the one place where policy, approvals, Jira and the store meet.

```
submit(envelope, agent)
  └─ validate (catalog) ─ evaluate (policy) ─ record (store, audited)
        ├─ allow            → claim inline → execute (Jira) → executed / partially / failed
        ├─ deny             → denied
        └─ require_approval → the approval backend's `request` (inbox or Cheqpoint)
decide(action, reviewer, verdict, edit)          (inbox votes)
the backend's refresh(record)                    (poll, webhook hint, sync wait, housekeeping)
  └─ an edit is a patch: effective payload → schema → edit rules (narrow only) → policy again
        └─ approved (effective payload stored) → a worker claims it → execute once
request_approval(envelope, agent, …)             (Cheqpoint-compatible API: the requester
                                                  executes; always the inbox)
```

The edges call only the methods of `Gateway`; its collaborators (`_store`, `_adapter`,
`_policies`, `_inbox`, `_approvals`) are private (tests/test_gateway_boundary.py).

Every state change goes through the store's compare-and-set, so two replicas (or a webhook
and a poll) racing on one action cannot both move it; the winner's audit event is the only
one written. Execution is at-least-once in the face of crashes (a lease runs out and the
action is claimed again) and exactly-once in Jira because the adapter marks and looks for
what it created.

The use cases live in one mixin each (docs/architecture.md, "One Gateway, one module per
use case"): queries.py, site_lookups.py, submission.py, external_approvals.py, review.py,
callbacks.py, notifications.py and worker.py, over the collaborators `GatewayState`
(state.py) declares. This module assembles them and builds, chooses and closes the
collaborators.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Mapping
from typing import Any

from jiragate.approvals.backend import ApprovalBackend
from jiragate.approvals.callbacks import CallbackSender
from jiragate.approvals.cheqpoint import CheqpointClient
from jiragate.approvals.cheqpoint_backend import CheqpointApprovals
from jiragate.approvals.inbox import InboxBackend
from jiragate.approvals.notify.dispatcher import Notifier
from jiragate.gateway.attachments import AttachmentsMixin
from jiragate.gateway.budgets import BudgetCounter
from jiragate.gateway.callbacks import CallbacksMixin
from jiragate.gateway.execution import Executor
from jiragate.gateway.external_approvals import ExternalApprovalsMixin
from jiragate.gateway.notifications import NotificationsMixin
from jiragate.gateway.policies import PolicyHolder
from jiragate.gateway.queries import QueriesMixin
from jiragate.gateway.recording import ReadRecorder
from jiragate.gateway.review import ReviewMixin
from jiragate.gateway.site_lookups import SiteLookupsMixin
from jiragate.gateway.state import GatewayState
from jiragate.gateway.submission import Submission, SubmissionMixin, risk_score
from jiragate.gateway.worker import WorkerMixin, WorkerStats
from jiragate.jira.operations import JiraAdapter
from jiragate.metrics import Metrics
from jiragate.policy.engine import PolicySet
from jiragate.settings import Settings
from jiragate.store import Store
from jiragate.store.inbox_auth import InboxAuthStore
from jiragate.store.notifications import Outbox

__all__ = ["CHEQPOINT", "Gateway", "Submission", "WorkerStats", "risk_score"]

CHEQPOINT = CheqpointApprovals.name


class Gateway(
    QueriesMixin,
    SiteLookupsMixin,
    AttachmentsMixin,
    SubmissionMixin,
    ExternalApprovalsMixin,
    ReviewMixin,
    CallbacksMixin,
    NotificationsMixin,
    WorkerMixin,
    GatewayState,
):
    """Build one per process with `Gateway.build(settings)`; close with `aclose()`."""

    def __init__(
        self,
        *,
        settings: Settings,
        policies: PolicyHolder,
        store: Store,
        adapter: JiraAdapter,
        metrics: Metrics,
        cheqpoint_clients: Mapping[str, CheqpointClient] | None = None,
        callback_sender: CallbackSender | None = None,
        notification_transport: Any = None,
    ) -> None:
        self.settings = settings
        self._policies = policies
        self._store = store
        self._adapter = adapter
        self.metrics = metrics
        self._inbox = InboxBackend(
            store, apply_patch=self._apply_patch, person_of=settings.person_of
        )
        # Where gated actions submitted here are decided; chosen once, never branched on.
        # (Approvals requested through the Cheqpoint-compatible API always use the inbox.)
        self._approvals: ApprovalBackend = self._inbox
        if settings.approval_backend == CHEQPOINT:
            self._approvals = self._cheqpoint_backend(cheqpoint_clients or {})
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._executor = Executor(
            settings, store, adapter, metrics, self.worker_id, policy_check=self._still_allowed
        )
        self._budget_counter = BudgetCounter(store)
        self._callbacks: list[str] = []
        # Decisions pushed to external requesters; None: no webhook secret to sign them.
        self._callback_sender = callback_sender
        self._inbox_auth: InboxAuthStore | None = None
        self._outbox = Outbox(store.engine, clock=store.clock)
        # Announces approvals where reviewers are; None: no channel configured.
        self._notifier: Notifier | None = None
        if settings.notifications:
            self._notifier = self._build_notifier(notification_transport)
        self._background: set[asyncio.Task[Any]] = set()
        self._reads = ReadRecorder(store)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        jira_transport: Any = None,
        cheqpoint_transport: Any = None,
        callback_transport: Any = None,
        notification_transport: Any = None,
    ) -> Gateway:
        from jiragate.redaction import register_secrets
        from jiragate.store.db import PoolSize, open_engine

        register_secrets(settings.secrets())  # every log line and stored text masks them
        metrics = Metrics()
        engine = open_engine(
            settings.database_url,
            pool=PoolSize(settings.database_pool_size, settings.database_max_overflow),
        )
        store = Store(engine)
        policies = PolicyHolder(settings.policy_dir, metrics, store)
        adapter = JiraAdapter(settings.jira.to_config(), transport=jira_transport)
        clients: dict[str, CheqpointClient] = {}
        if settings.approval_backend == CHEQPOINT:
            clients = _cheqpoint_clients(settings, policies.current, cheqpoint_transport)
        gateway = cls(
            settings=settings,
            policies=policies,
            store=store,
            adapter=adapter,
            metrics=metrics,
            cheqpoint_clients=clients,
            callback_sender=_callback_sender(settings, callback_transport),
            notification_transport=notification_transport,
        )
        policies.actor = gateway.worker_id
        policies.start()
        return gateway

    def _cheqpoint_backend(self, clients: Mapping[str, CheqpointClient]) -> CheqpointApprovals:
        """Cheqpoint, with one client per distinct Connection Key keyed by review group
        ("" = the default), and the gateway's edit check and metrics."""
        public_url = self.settings.public_url
        return CheqpointApprovals(
            self._store,
            clients,
            check_edit=self.check_edit,
            on_decided=self._observe_decision,
            on_backend_error=self.metrics.approval_backend_errors.inc,
            action_prefix=self._action_prefix,
            webhook_url=f"{public_url.rstrip('/')}/v1/webhooks/cheqpoint" if public_url else None,
            max_resubmits=self.settings.cheqpoint.max_resubmits,
        )

    def _action_prefix(self, group_name: str | None) -> str:
        """The group's Cheqpoint action prefix in the running set (a retried request)."""
        group = self._policies.current.groups.get(group_name or "")
        return group.cheqpoint.action_prefix if group else ""

    async def aclose(self) -> None:
        """Close the HTTP clients (on the event loop that used them) and the database pool."""
        await self._reads.aclose()
        await self._adapter.aclose()
        await self._approvals.aclose()
        if self._callback_sender is not None:
            await self._callback_sender.aclose()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._notifier is not None:
            await self._notifier.aclose()
        self._store.engine.dispose()


def _cheqpoint_clients(
    settings: Settings, policies: PolicySet, transport: Any
) -> dict[str, CheqpointClient]:
    default_key = settings.cheqpoint.connection_key
    assert default_key is not None  # Settings refuses cheqpoint without a key
    clients = {
        "": CheqpointClient(
            settings.cheqpoint.url, default_key.get_secret_value(), transport=transport
        )
    }
    for name, group in policies.groups.items():
        key = settings.group_connection_key(group.cheqpoint.connection_key_env)
        if key is not None:
            clients[name] = CheqpointClient(
                settings.cheqpoint.url, key.get_secret_value(), transport=transport
            )
    return clients


def _callback_sender(settings: Settings, transport: Any) -> CallbackSender | None:
    secret = settings.cheqpoint.webhook_secret
    if secret is None:
        return None
    return CallbackSender(secret.get_secret_value(), transport=transport)

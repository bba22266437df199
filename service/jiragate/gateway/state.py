"""What every part of the gateway shares: its collaborators, declared once and typed.

`Gateway` (gateway/core.py) is one class assembled from one mixin per use case (queries.py,
site_lookups.py, attachments.py, submission.py, external_approvals.py, review.py, callbacks.py,
notifications.py, worker.py); each subclasses `GatewayState`, so each reads the same typed
attributes, which only `Gateway.__init__` sets. A use case that calls into another one's
module does so through the declarations below: mypy checks the call against them, and
`Gateway`'s method resolution finds the real method (every mixin comes before this class).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from jiragate.approvals.backend import ApprovalBackend
from jiragate.approvals.callbacks import CallbackSender
from jiragate.approvals.inbox import InboxBackend, VoteOutcome
from jiragate.approvals.notify.dispatcher import Notifier
from jiragate.catalog import ActionRequest, PriorityOrder
from jiragate.gateway.budgets import BudgetCounter
from jiragate.gateway.execution import Executor
from jiragate.gateway.policies import PolicyHolder
from jiragate.gateway.recording import ReadRecorder
from jiragate.jira.client import RawResponse
from jiragate.jira.operations import JiraAdapter
from jiragate.metrics import Metrics
from jiragate.policy.engine import BudgetUsage, PolicySet
from jiragate.policy.model import ReviewGroup
from jiragate.settings import Settings
from jiragate.store import ActionRecord, FinishedRun, Store, Verdict
from jiragate.store.budgets import BudgetTransaction
from jiragate.store.inbox_auth import InboxAuthStore
from jiragate.store.notifications import Outbox


class GatewayState:
    """The collaborators `Gateway.__init__` sets; the edges see none of the private ones."""

    settings: Settings
    metrics: Metrics
    #: "host:pid:random": whose claims and leases are whose, across replicas.
    worker_id: str
    _policies: PolicyHolder
    _store: Store
    _adapter: JiraAdapter
    _inbox: InboxBackend
    #: Where gated actions submitted here are decided (the inbox or Cheqpoint).
    _approvals: ApprovalBackend
    _executor: Executor
    _budget_counter: BudgetCounter
    #: Action ids whose decision is still to be pushed to an external requester.
    _callbacks: list[str]
    #: None: no webhook secret to sign callbacks with.
    _callback_sender: CallbackSender | None
    _inbox_auth: InboxAuthStore | None
    _outbox: Outbox
    #: None: no notification channel configured.
    _notifier: Notifier | None
    _background: set[asyncio.Task[Any]]
    _reads: ReadRecorder

    # ------------------------------------------------------------- calls across use cases
    # Defined in one mixin, called from another: declared here so mypy checks each call;
    # the mixin's own definition is what runs.

    def now(self) -> datetime:  # queries.py
        raise NotImplementedError

    def get_record(self, action_id: str) -> ActionRecord:  # queries.py
        raise NotImplementedError

    def pending_approvals(  # queries.py
        self, groups: Iterable[str], *, limit: int = 100
    ) -> list[ActionRecord]:
        raise NotImplementedError

    async def _on_site(self, request: ActionRequest) -> ActionRequest:  # site_lookups.py
        raise NotImplementedError

    def _on_cached_site(self, request: ActionRequest) -> ActionRequest:  # site_lookups.py
        raise NotImplementedError

    def _counted(  # submission.py
        self, request: ActionRequest, agent: str, policies: PolicySet
    ) -> AbstractContextManager[tuple[BudgetTransaction | None, dict[str, BudgetUsage] | None]]:
        raise NotImplementedError

    def _approval_terms(  # submission.py
        self, policies: PolicySet, group_name: str
    ) -> tuple[ReviewGroup | None, datetime, int]:
        raise NotImplementedError

    def decide(  # review.py
        self,
        action_id: str,
        *,
        reviewer: str,
        verdict: Verdict | str,
        modified_details: Mapping[str, Any] | None = None,
        note: str | None = None,
        snapshot: str | None = None,
    ) -> VoteOutcome:
        raise NotImplementedError

    def priority_order(self) -> PriorityOrder:  # review.py
        raise NotImplementedError

    def _queue_callback(self, action_id: str) -> None:  # callbacks.py
        raise NotImplementedError

    async def send_callbacks(self) -> int:  # callbacks.py
        raise NotImplementedError

    async def notify_round(self) -> int:  # notifications.py
        raise NotImplementedError

    async def _learn_from_answer(  # attachments.py
        self, path: str, answer: RawResponse | None
    ) -> None:
        raise NotImplementedError

    async def _learn_from_result(  # attachments.py
        self, request: ActionRequest, finished: FinishedRun
    ) -> None:
        raise NotImplementedError

    async def _attachment_project(  # attachments.py
        self, action: str, ident: str, version: str = "3"
    ) -> str:
        raise NotImplementedError

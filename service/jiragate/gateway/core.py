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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from jiragate.approvals.backend import ApprovalBackend, ApprovalTerms
from jiragate.approvals.callbacks import CallbackSender
from jiragate.approvals.cheqpoint import (
    CheqpointClient,
)
from jiragate.approvals.cheqpoint_backend import CheqpointApprovals
from jiragate.approvals.compat import callback_url, protocol_status
from jiragate.approvals.inbox import InboxBackend, VoteOutcome
from jiragate.approvals.notify import slack as slack_clicks
from jiragate.approvals.notify.dispatcher import Notifier
from jiragate.approvals.notify.messages import Notice, slack_outcome_message
from jiragate.catalog import (
    JIRA_PRIORITIES,
    ActionKind,
    ActionRequest,
    PriorityOrder,
    PriorityOrderError,
    apply_patch,
    count_of,
    narrowed_details,
    normalise_details,
    parse_envelope,
    project_of,
)
from jiragate.catalog.site import SiteMetadata, site_violations, with_named_custom_fields
from jiragate.errors import (
    ActionError,
    ApprovalError,
    DecisionRefusedError,
    InvalidCallbackError,
    InvalidDetailsError,
    PolicyLoadError,
    ReviewerNotAllowedError,
    StoreError,
    StoreIntegrityError,
    StoreUnavailableError,
)
from jiragate.gateway.binding import ON_CHANGE_DEFAULT, read_snapshot
from jiragate.gateway.budgets import BudgetCounter, lock_keys
from jiragate.gateway.execution import Executor, ForwardRequest
from jiragate.gateway.policies import PolicyHolder, PolicyStatus
from jiragate.gateway.recording import ReadRecorder
from jiragate.jira.client import RawResponse
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.owners import Kind as OwnedKind
from jiragate.jira.owners import Located, locate
from jiragate.metrics import Metrics
from jiragate.policy.engine import BudgetUsage, Decision, PolicySet
from jiragate.policy.model import Effect, ReviewGroup
from jiragate.settings import Settings
from jiragate.store import (
    EXECUTOR_EXTERNAL,
    ActionPage,
    ActionRecord,
    ActionStatus,
    ApprovalVote,
    AuditEvent,
    AuditNote,
    CreatedAction,
    FinishedRun,
    Store,
    Verdict,
    VerifyReport,
    request_hash,
)
from jiragate.store.budgets import BudgetTransaction
from jiragate.store.changes import SAFETY_POLL_SECONDS, listen_for_changes
from jiragate.store.inbox_auth import InboxAuthStore
from jiragate.store.models import Notification, new_action_id
from jiragate.store.notifications import Outbox

log = logging.getLogger("jiragate.gateway")

_DECISION_STATUS = {
    # An allowed action is recorded already executing (a write, claimed) or executed (a read).
    Effect.ALLOW: ActionStatus.EXECUTING,
    Effect.DENY: ActionStatus.DENIED,
    Effect.REQUIRE_APPROVAL: ActionStatus.PENDING_APPROVAL,
}
CHEQPOINT = CheqpointApprovals.name
_EXECUTED = ActionStatus.EXECUTED
#: How long an approval waits when the deciding set does not know its group (a day).
_DEFAULT_APPROVAL_TIMEOUT = 24 * 3600


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Submission:
    """What `submit` did: the stored record, the decision, and whether this call created it."""

    record: ActionRecord
    decision: Decision | None
    created: bool
    #: Jira's own answer to a proxied read (`submit(forward=...)`), when one was sent.
    answer: RawResponse | None = None


@dataclass(slots=True)
class WorkerStats:
    executed: int = 0
    expired: int = 0
    reclaimed: int = 0
    synced: int = 0
    errors: list[str] = field(default_factory=list)


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


class Gateway:
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
        from jiragate.store.db import open_engine

        register_secrets(settings.secrets())  # every log line and stored text masks them
        metrics = Metrics()
        engine = open_engine(settings.database_url)
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

    # ----------------------------------------------------------------- reads (edges)
    # The edges (api, web, mcp, commands) call these use cases, never the collaborators:
    # which store, adapter or approval backend answers is the gateway's business.

    def now(self) -> datetime:
        """The store's clock (UTC): what expiry and sessions are measured against."""
        return self._store.clock()

    def get_action(self, action_id: str) -> ActionRecord | None:
        return self._store.get_action(action_id)

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

    def expire_overdue(self) -> list[str]:
        """Expire approvals past their deadline now (as housekeeping would); their ids."""
        expired = self._store.expire_overdue(now=self._store.clock())
        for action_id in expired:
            self._queue_callback(action_id)
        return expired

    # ----------------------------------------------------------------- policies (edges)

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

    def reload_policies(self, *, actor: str) -> tuple[PolicySet, str | None]:
        """Load the files now and make them the active revision; (the set, the revision
        active before). An invalid set is audited (`policy.reload_refused`) and raises
        PolicyLoadError; the running set stays. Blocking: call from a thread."""
        before = self._policies.current.revision
        try:
            return self._policies.reload(actor=actor)
        except PolicyLoadError as exc:
            self._store.append_audit(
                action_id=None,
                actor=actor,
                type="policy.reload_refused",
                data={"errors": [str(issue) for issue in exc.issues], "running": before},
            )
            raise

    # ----------------------------------------------------------------- operations (edges)

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

    # ----------------------------------------------------------------- Jira lookups (previews)
    # Read-only questions the inbox asks Jira to show a reviewer what an action would change.

    async def story_points_field(self, project: str | None = None) -> str:
        return await self._adapter.story_points_field(project)

    async def custom_field_named(self, name: str) -> str | None:
        """The id of the site's one custom field called `name` (Epic Name), else None."""
        return await self._adapter.field_named(name)

    async def rank_field(self) -> int | None:
        """The site's default rank field (numeric id), which `PUT /issue/rank` may name."""
        return await self._adapter.rank_field()

    async def get_issues(
        self, keys: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any] | None]:
        return await self._adapter.get_issues(keys, fields)

    async def get_user(self, name: str) -> dict[str, Any] | None:
        return await self._adapter.get_user(name)

    async def issue_type_names(self) -> dict[str, str]:
        """The site's issue types, id -> name (`GET /issuetype`): the proxy names the type of
        a bulk move, which Jira's body gives by id, as jira_move_issue does (by name)."""
        answer = await self._adapter.client.get(self._adapter.api("/issuetype"))
        return {
            str(item["id"]): str(item.get("name") or "")
            for item in answer or []
            if isinstance(item, dict) and "id" in item
        }

    async def get_transitions(self, issue_key: str) -> list[dict[str, Any]]:
        return await self._adapter.get_transitions(issue_key)

    async def list_sprints(self, board_id: int | None = None) -> list[dict[str, Any]]:
        return await self._adapter.list_sprints(board_id)

    async def locate(self, kind: OwnedKind, ident: str) -> Located | None:
        """The project Jira places a version, component, sprint or board in (None: Jira has
        no such object); for an edge that must name the action a bare id stands for."""
        return await locate(self._adapter, kind, ident)

    # ----------------------------------------------------------------- evaluation

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

    async def _on_site(self, request: ActionRequest) -> ActionRequest:
        """The request checked against the Jira site's metadata (fetched when stale; an
        unknown value refreshes it once): InvalidDetailsError lists the site's valid values.
        Custom fields are keyed by name from here on, as policies match them."""
        site = await self._adapter.check_site(request.action, request.details)
        return _named(request, site)

    def _on_cached_site(self, request: ActionRequest) -> ActionRequest:
        """The same check for the synchronous dry run, against the cached metadata only."""
        site = self._adapter.site.cached
        if site is None:
            return request
        violations = site_violations(request.action, request.details, site)
        if violations:
            raise InvalidDetailsError(request.action, violations)
        return _named(request, site)

    # ----------------------------------------------------------------- submission

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
            created, decision = self._submit_counted(
                request, agent, policies, idempotency_key, body_hash
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
            elif decision.allowed and request.kind is ActionKind.READ:
                # A read changes nothing in Jira, so it runs first and is recorded once, with
                # its result, in one transaction (no claim, no lease: re-running it is
                # harmless).
                if idempotency_key is not None:
                    replay = self._store.find_by_idempotency_key(
                        agent=agent, key=idempotency_key, request_hash=body_hash
                    )
                    if replay is not None:
                        return Submission(replay, None, created=False)
                action_id = new_action_id()
                finished = await self._executor.run_read(request, action_id)
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
        self._store.transition_status(
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

    # ----------------------------------------------------------------- external executors

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

    # ----------------------------------------------------------------- inbox decisions

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

    # ----------------------------------------------------------------- callbacks

    def _queue_callback(self, action_id: str) -> None:
        """Remember to push a decision to the requester of a Cheqpoint-compatible approval.

        Callbacks are hints, as Cheqpoint's own are: the requester's truth is
        `GET /api/approvals/{id}`, so an in-process queue (lost on a crash) is enough."""
        self._callbacks.append(action_id)

    async def send_callbacks(self) -> int:
        """POST each queued decision, signed, to its callback URL; returns how many were sent."""
        sent = 0
        while self._callbacks:
            record = self._store.get_action(self._callbacks.pop(0))
            url = callback_url(record) if record is not None else None
            if record is None or url is None or self._callback_sender is None:
                continue
            answered, outcome = await self._callback_sender.send(url, protocol_status(record))
            sent += answered
            self._store.append_audit(
                action_id=record.id,
                actor="gateway",
                type="callback.sent",
                data={"url": url, "outcome": outcome},
            )
        return sent

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

    # ----------------------------------------------------------------- notifications

    def _build_notifier(self, transport: Any) -> Notifier:
        settings = self.settings

        def members_of(group: str) -> list[str]:
            found = self._policies.current.groups.get(group)
            return list(found.members) if found else []

        def email_of(name: str) -> str | None:
            account = settings.reviewer(name)
            return account.email if account else None

        return Notifier(
            settings.notifications,
            settings.notification_schedule,
            settings.notification_delivery,
            self._outbox,
            worker=self.worker_id,
            members_of=members_of,
            email_of=email_of,
            public_url=settings.public_url,
            transport=transport,
        )

    async def notify_round(self) -> int:
        """Plan what the approvals' state calls for (first message, reminders, escalation,
        decision updates) and start delivering what is due; how many started. Safe on every replica
        at once: the outbox's unique key and leases make each message go out once."""
        notifier = self._notifier
        if notifier is None:
            return 0
        now = self._store.clock()
        notifier.plan(self._inbox.pending_for(notifier.groups, limit=500), now)
        notifier.plan_decisions()
        return await notifier.deliver(self._store.get_action, now)

    def notifications(self, action_id: str) -> list[Notification]:
        """The outbox rows of one action (what was, or will be, sent where)."""
        return self._outbox.for_action(action_id)

    async def slack_interaction(
        self, body: bytes, *, timestamp: str, signature: str
    ) -> tuple[int, str]:
        """A Slack button click: (HTTP status, message). Verified (signature, window, no
        replay), mapped to a reviewer by `slack_user_id`, then decided by `decide`, exactly
        as an inbox vote (membership, quorum, no self-approval, expiry, one execution)."""
        secrets = [
            secret
            for channel in self.settings.notifications
            if channel.kind == "slack" and (secret := channel.secret_value("signing_secret"))
        ]
        if not secrets:
            return self._slack_refused(401, "Slack interactivity is not configured")
        if not slack_clicks.verify(secrets, body, timestamp, signature):
            return self._slack_refused(401, "missing, invalid or stale Slack signature")
        window = timedelta(seconds=slack_clicks.REPLAY_WINDOW_SECONDS)
        if not self._outbox.first_sight(signature, window=window):
            return self._slack_refused(401, "replayed Slack request")
        try:
            click = slack_clicks.parse_click(body)
        except slack_clicks.InteractionError as exc:
            return self._slack_refused(400, str(exc))
        if click.verdict is None:
            return 200, "opened in the inbox"
        reviewer = next(
            (r.name for r in self.settings.reviewers if r.slack_user_id == click.slack_user_id),
            None,
        )
        if reviewer is None:
            return self._slack_refused(
                403, f"Slack user {click.slack_user_id} is not a Jiragate reviewer", click
            )
        try:
            outcome = self.decide(
                click.action_id,
                reviewer=reviewer,
                verdict=click.verdict,
                snapshot=click.snapshot,  # bound to what the message showed
            )
        except (DecisionRefusedError, ApprovalError) as exc:
            # decide() audited the refusal; tell the clicker only (the message stays).
            self._slack_reply(
                click,
                {
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": f"Not recorded: {exc}",
                },
            )
            return 200, f"not recorded: {exc}"
        record = self.get_record(click.action_id)
        if outcome.decided:
            text = f"{outcome.status.value.replace('_', ' ').capitalize()} by {reviewer} in Slack"
            notice = Notice.of(
                record,
                event="decision",
                count=count_of(record.action, record.details),
                now=self.now(),
                public_url=self.settings.public_url,
            )
            self._slack_reply(
                click, {"replace_original": True, **slack_outcome_message(notice, text)}
            )
            return 200, text
        text = f"{reviewer} approved; {outcome.approvals} of {outcome.required} approvals"
        self._slack_reply(
            click, {"response_type": "ephemeral", "replace_original": False, "text": text}
        )
        return 200, text

    def _slack_refused(
        self, status: int, reason: str, click: slack_clicks.Click | None = None
    ) -> tuple[int, str]:
        self._store.append_audit(
            action_id=click.action_id if click else None,
            actor="slack",
            type="slack.refused",
            data={"reason": reason, **({"slack_user": click.slack_user_id} if click else {})},
        )
        return status, reason

    def _slack_reply(self, click: slack_clicks.Click, payload: dict[str, Any]) -> None:
        """POST the outcome to the click's `response_url`, after answering Slack: only to
        Slack's own hosts (a forged payload must not aim us elsewhere); never awaited by
        the decision."""
        url = click.response_url
        prefixes = self.settings.notification_delivery.slack_response_url_prefixes
        if not url or self._notifier is None or not any(url.startswith(p) for p in prefixes):
            return
        task = asyncio.create_task(self._notifier.respond(url, payload))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ----------------------------------------------------------------- execution

    async def run_once(self) -> ActionRecord | None:
        """Claim the oldest approved action and execute it; None when nothing waits."""
        record = self._store.claim_next_approved(
            worker_id=self.worker_id, lease_seconds=self.settings.lease_seconds
        )
        if record is None:
            return None
        return await self._executor.execute(record)

    # ----------------------------------------------------------------- housekeeping

    async def maintain(self) -> WorkerStats:
        """One round of the background duties every replica and worker may run safely
        together: expire overdue approvals, take back dead workers' claims (an inline
        execution whose process died included), and sync Cheqpoint. (Policies are kept on
        the active revision by `watch_policies`, which every deciding process runs.)"""
        stats = WorkerStats()
        now = self._store.clock()
        expired = self._store.expire_overdue(now=now)
        stats.expired = len(expired)
        for action_id in expired:
            self._queue_callback(action_id)
        stats.reclaimed = len(self._store.reclaim_expired_leases(now=now))
        stats.synced = await self._approvals.housekeeping()
        return stats

    async def sync_policies(self) -> bool:
        """One policy watcher round, in a thread: a large set loads for seconds, and the event
        loop must keep answering (/healthz, decisions with the running set) meanwhile."""
        return await asyncio.to_thread(self._policies.sync)

    async def watch_policies(self, stop: asyncio.Event) -> None:
        """Until `stop`: every `policy_poll_interval` seconds, converge on the active policy
        revision. So every process decides with the active revision within
        `policy_poll_interval` plus one load of the set after it was activated."""
        failing = False
        while not stop.is_set():
            try:
                await self.sync_policies()
                failing = False
            except Exception as exc:  # a database blip must not end the watch
                if not failing:
                    log.warning("policy watch round failed (%s); retrying", type(exc).__name__)
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.policy_poll_interval)

    async def work(self, stop: asyncio.Event, *, poll_interval: float | None = None) -> None:
        """The worker loop: housekeeping, then execute everything approved, until `stop`."""
        interval = poll_interval or self.settings.worker_poll_interval
        last_maintenance = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - last_maintenance >= max(interval * 4, 1.0):
                    await self.maintain()
                    last_maintenance = time.monotonic()
                while not stop.is_set() and await self.run_once() is not None:
                    pass
                await self.send_callbacks()
            except Exception:  # the loop must outlive a bad round (database blip, bug)
                log.exception("worker round failed; retrying")
            # Apart from executions: a notification round that fails delays none of them.
            try:
                await self.notify_round()
            except Exception:
                log.exception("notification round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    # ----------------------------------------------------------------- reads

    def get_record(self, action_id: str) -> ActionRecord:
        record = self._store.get_action(action_id)
        if record is None:  # pragma: no cover - rows are never deleted
            raise ApprovalError(f"action {action_id} vanished")
        return record

    async def wait_for_decision(self, action_id: str, seconds: float) -> ActionRecord:
        """Wait (bounded) until the action leaves pending/approved/executing, like
        Cheqpoint's sync mode; asks Cheqpoint about once a second when it is the backend.

        Woken when the action changes (store.changes: in this process at once, from other
        replicas by PostgreSQL NOTIFY), not by polling the database; the safety poll only
        bounds how late a lost notification can make the answer."""
        deadline = time.monotonic() + min(seconds, self.settings.max_wait_seconds)
        last_ask = -math.inf
        with self._store.changes.watching(action_id) as changed:
            record = self.get_record(action_id)
            while not record.final and (left := deadline - time.monotonic()) > 0:
                asks_cheqpoint = (
                    self._approvals.polls
                    and record.approval_backend == self._approvals.name
                    and record.status is ActionStatus.PENDING_APPROVAL
                )
                if asks_cheqpoint and time.monotonic() - last_ask >= 1.0:
                    record = await self._approvals.refresh(record)
                    last_ask = time.monotonic()
                    continue
                nap = min(left, 1.0 if asks_cheqpoint else SAFETY_POLL_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=nap)
                changed.clear()
                record = self.get_record(action_id)
        return record

    async def watch_changes(self, stop: asyncio.Event) -> None:
        """Until `stop`: on PostgreSQL, hear which actions other replicas changed, so this
        process's waiters wake at once (store.changes.listen_for_changes)."""
        await listen_for_changes(self._store.engine, self._store.changes, stop)

    async def run_background(self, stop: asyncio.Event, *, worker: bool) -> None:
        """What a serving process runs beside its requests until `stop`: the policy watch,
        the change listener and, with `worker`, the worker loop."""
        tasks = [self.watch_policies(stop), self.watch_changes(stop)]
        if worker:
            tasks.append(self.work(stop))
        await asyncio.gather(*tasks)


def _named(request: ActionRequest, site: SiteMetadata | None) -> ActionRequest:
    if site is None:
        return request
    named = with_named_custom_fields(request.details, site)
    return request if named == request.details else dataclasses.replace(request, details=named)


def _counts(decision: Decision) -> bool:
    """Whether the action now uses budget (allowed or reserved pending approval)."""
    return not decision.denied


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

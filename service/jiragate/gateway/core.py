"""The gateway: the one place where policy, approvals, Jira and the store meet.

```
submit(envelope, agent)
  └─ validate (catalog) ─ evaluate (policy) ─ record (store, audited)
        ├─ allow            → claim inline → execute (Jira) → executed / partially / failed
        ├─ deny             → denied
        └─ require_approval → open in the inbox, or create in Cheqpoint → pending_approval
decide(action, reviewer, verdict, edit)          (inbox)
apply_cheqpoint(decision)                         (poll, webhook hint, sync wait)
  └─ an edit is a patch: effective payload → schema → edit rules (narrow only) → policy again
        └─ approved (effective payload stored) → a worker claims it → execute once
```

Every state change goes through the store's compare-and-set, so two replicas (or a webhook
and a poll) racing on one action cannot both move it; the winner's audit event is the only
one written. Execution is at-least-once in the face of crashes (a lease runs out and the
action is claimed again) and exactly-once in Jira because the adapter marks and looks for
what it created.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from jiragate.approvals.cheqpoint import (
    SIGNATURE_HEADER,
    CheqpointClient,
    CheqpointDecision,
    CheqpointStatus,
    sign_webhook,
)
from jiragate.approvals.compat import callback_url, protocol_status
from jiragate.approvals.inbox import InboxBackend, VoteOutcome
from jiragate.catalog import (
    ActionKind,
    ActionRequest,
    apply_patch,
    count_of,
    narrowed_details,
    normalise_details,
    parse_envelope,
)
from jiragate.errors import (
    ActionError,
    ApprovalBackendError,
    ApprovalError,
    DecisionRefusedError,
    JiraDeferredError,
    JiraError,
    JiraTransportError,
    PolicyLoadError,
    PolicyOutOfDateError,
    ReviewerNotAllowedError,
)
from jiragate.jira.operations import JiraAdapter
from jiragate.metrics import Metrics
from jiragate.policy.engine import Decision, PolicySet, load_policies
from jiragate.policy.loader import policy_files, revision_of
from jiragate.policy.model import Effect, ReviewGroup
from jiragate.settings import Settings
from jiragate.store import (
    ActionRecord,
    ActionStatus,
    AuditNote,
    FinishedRun,
    Store,
    Verdict,
    request_hash,
)
from jiragate.store.models import new_action_id

log = logging.getLogger("jiragate.gateway")

_DECISION_STATUS = {
    # An allowed action is recorded already executing (a write, claimed) or executed (a read).
    Effect.ALLOW: ActionStatus.EXECUTING,
    Effect.DENY: ActionStatus.DENIED,
    Effect.REQUIRE_APPROVAL: ActionStatus.PENDING_APPROVAL,
}
_OUTCOME_STATUS = {
    "succeeded": ActionStatus.EXECUTED,
    "partial": ActionStatus.PARTIALLY_EXECUTED,
    "failed": ActionStatus.FAILED,
}
CHEQPOINT = "cheqpoint"
#: How much of an unexpected exception's text is recorded as the action's error.
_MAX_ERROR = 2000


# --------------------------------------------------------------------------- policies


#: What a process's policy files hold now: the revision they would give (None: unreadable).
Fingerprint = str | None


@dataclass(frozen=True, slots=True)
class PolicyStatus:
    """What a process decides with, swapped as one reference: its set, the active revision
    (the database's) as last read, and why it cannot run that revision (None: it does)."""

    policies: PolicySet
    active_revision: str
    problem: str | None = None

    @property
    def in_sync(self) -> bool:
        return self.problem is None and self.policies.revision == self.active_revision


class PolicyHolder:
    """The running policy set of one process, kept on the cluster's active revision.

    The database holds the one active revision (`Store.active_policy_revision`). A valid set
    becomes active when `POST /v1/policies/reload` loads it, when a process starts with it,
    or when a process notices its files changed to it. Every deciding process calls `sync`
    every `policy_poll_interval` seconds (`Gateway.watch_policies`): when the active revision
    or its files changed it loads the files and swaps in the set only if its revision is
    the active one. A process whose files give another revision (or do not load) keeps its
    set but refuses to decide with it (`deciding` raises PolicyOutOfDateError) and is not
    ready, until its files give the active revision. A new set is built and checked whole
    before one reference is replaced, so a request holds the set it started with, and an
    invalid set never replaces a working one.

    Loading is slow (a large set takes seconds): `sync` and `reload` block, so callers run
    them in a thread (`asyncio.to_thread`, a thread-pool route), never on the event loop.
    One lock serializes them in a process."""

    def __init__(
        self, path: Path, metrics: Metrics, store: Store | None = None, *, actor: str = "jiragate"
    ) -> None:
        self.path = path
        self.metrics = metrics
        self.store = store
        self.actor = actor
        self._lock = threading.Lock()
        self._fingerprint = self._read_files()
        policies = load_policies(path)
        self._file_revision = policies.revision  # what this process's files last gave
        # The files and active revision of the last attempt that did not converge: not
        # repeated every round while neither changes.
        self._tried: tuple[Fingerprint, str | None] | None = None
        self._status = PolicyStatus(policies, policies.revision)
        self._report(self._status)

    @property
    def current(self) -> PolicySet:
        """The set this process holds (for inspection; decide with `deciding()`)."""
        return self._status.policies

    @property
    def status(self) -> PolicyStatus:
        return self._status

    def deciding(self) -> PolicySet:
        """The set to decide with; PolicyOutOfDateError when it is not the active revision
        and this process could not load that one (fail closed: no decision from another
        revision once the process knows it is out of date)."""
        status = self._status
        if status.problem is not None:
            raise PolicyOutOfDateError(
                status.policies.revision, status.active_revision, status.problem
            )
        return status.policies

    # ----------------------------------------------------------------- changing the set

    def start(self) -> None:
        """At start-up: the set this process loaded becomes the active revision (a restart
        after the files were edited is an edit noticed, as a running process would)."""
        if self.store is not None:
            revision = self.current.revision
            self._activate(revision, "policy.activated", {"source": "start"})

    def reload(self, *, actor: str) -> tuple[PolicySet, str | None]:
        """Load the files now; a valid set becomes the active revision (audited
        `policy.reloaded`, in the transaction that records it) and runs here at once.
        Returns (the set, the revision active before). Raises PolicyLoadError and changes
        nothing, here or anywhere, when the set is invalid. Blocking: call from a thread."""
        with self._lock:
            fingerprint = self._read_files()
            fresh = self._load()
            self._fingerprint, self._file_revision = fingerprint, fresh.revision
            previous = self._activate(
                fresh.revision, "policy.reloaded", {}, actor=actor, always=True
            )
            self._install(fresh, fresh.revision)
            return fresh, previous

    def sync(self) -> bool:
        """One watcher round: converge on the active revision; True if the set changed.
        Blocking (the database, the files, maybe a load): call from a thread."""
        with self._lock:
            fingerprint = self._read_files()
            active = self.store.active_policy_revision() if self.store is not None else None
            status = self._status
            files_changed = fingerprint != self._fingerprint
            running = status.policies.revision
            if not files_changed and active in (None, running):
                if not status.in_sync:  # our revision was made active again
                    self._install(status.policies, running)
                return False
            if not files_changed and self._tried == (fingerprint, active):
                return False  # these files already failed to give this active revision
            self._fingerprint = fingerprint
            return self._converge(fingerprint, active, files_changed)

    def _converge(self, fingerprint: Fingerprint, active: str | None, files_changed: bool) -> bool:
        status = self._status
        try:
            fresh = self._load()
        except PolicyLoadError as exc:
            self._tried = (fingerprint, active)
            log.error("policy reload refused; still running %s:\n%s", status.policies.revision, exc)
            if active not in (None, status.policies.revision):
                self._out_of_date(active, "its policy files do not load")
            return False
        edited = files_changed and fresh.revision != self._file_revision
        self._file_revision = fresh.revision
        if edited and fresh.revision != active:
            # A genuine edit noticed here (not a touch): it becomes the active revision.
            self._activate(fresh.revision, "policy.activated", {"source": "file change"})
            active = fresh.revision
        if active is None or fresh.revision == active:
            self._tried = None
            changed = fresh.revision != status.policies.revision
            self._install(fresh, fresh.revision)
            return changed
        self._tried = (fingerprint, active)
        self._out_of_date(active, f"its policy files give {fresh.revision}")
        return False

    def _load(self) -> PolicySet:
        try:
            fresh = load_policies(self.path)
        except PolicyLoadError:
            self.metrics.policy_reloads.labels("invalid").inc()
            raise
        self.metrics.policy_reloads.labels("ok").inc()
        return fresh

    def _activate(
        self,
        revision: str,
        event: str,
        data: dict[str, Any],
        *,
        actor: str | None = None,
        always: bool = False,
    ) -> str | None:
        """Record `revision` as the active one; audited when it changed (or `always`). The
        first revision ever recorded is not a change and is not audited."""
        if self.store is None:
            return self.current.revision
        who = actor or self.actor

        def note(previous: str | None) -> AuditNote | None:
            if not always and previous in (None, revision):
                return None
            return AuditNote(who, event, {"from": previous, "to": revision, **data})

        return self.store.activate_policy_revision(revision, actor=who, audit_note=note)

    def _install(self, policies: PolicySet, active: str) -> None:
        before = self._status.policies.revision
        self._status = PolicyStatus(policies, active)
        self._tried = None
        if policies.revision != before:
            log.warning("policy revision %s now decides here (was %s)", policies.revision, before)
        self._report(self._status)

    def _out_of_date(self, active: str, why: str) -> None:
        status = self._status
        if status.problem is None or status.active_revision != active:
            log.error(
                "policy revision %s is active but %s; this process refuses to decide until "
                "they give it (still holding %s)",
                active,
                why,
                status.policies.revision,
            )
        self._status = PolicyStatus(status.policies, active, why)
        self._report(self._status)

    def _report(self, status: PolicyStatus) -> None:
        self.metrics.policy_rules.set(len(status.policies.rules))
        self.metrics.policy_out_of_date.set(0 if status.in_sync else 1)

    def _read_files(self) -> Fingerprint:
        """A hash of the files' names and contents (as the revision is computed), re-read
        every round: contents, not mtimes, so an edit within one timestamp tick or a copy that
        keeps mtimes is still seen, and a touch is no edit. Reading a set is cheap next to
        loading it."""
        try:
            files = policy_files(self.path)
            return revision_of([(str(f), f.read_bytes()) for f in files])
        except (PolicyLoadError, OSError):  # no files, or one removed while being read
            return None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Submission:
    """What `submit` did: the stored record, the decision, and whether this call created it."""

    record: ActionRecord
    decision: Decision | None
    created: bool


@dataclass(slots=True)
class WorkerStats:
    executed: int = 0
    expired: int = 0
    reclaimed: int = 0
    synced: int = 0
    errors: list[str] = field(default_factory=list)


def risk_score(decision: Decision, request: ActionRequest, group: ReviewGroup | None) -> float:
    """A 0..1 score for Cheqpoint's routing and auto-decision rules: what kind of action,
    how many issues, how urgent. Coarse on purpose; the policy made the real decision."""
    base = {ActionKind.READ: 0.1, ActionKind.WRITE: 0.5, ActionKind.DESTRUCTIVE: 0.8}[request.kind]
    count = count_of(request.action, request.details)
    score = base + min(0.15, count / 200)
    if request.details.get("priority") in ("High", "Highest"):
        score += 0.05
    if group is not None and group.cheqpoint.min_risk_score is not None:
        score = max(score, group.cheqpoint.min_risk_score)
    return round(min(score, 1.0), 2)


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
    ) -> None:
        self.settings = settings
        self.policies = policies
        self.store = store
        self.adapter = adapter
        self.metrics = metrics
        self.inbox = InboxBackend(store, apply_patch=apply_patch)
        # One client per distinct Connection Key, keyed by review group ("" = the default).
        self._cheqpoint = dict(cheqpoint_clients or {})
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._callbacks: list[str] = []

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        jira_transport: Any = None,
        cheqpoint_transport: Any = None,
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
        )
        policies.actor = gateway.worker_id
        policies.start()
        return gateway

    async def aclose(self) -> None:
        """Close the HTTP clients (on the event loop that used them) and the database pool."""
        await self.adapter.aclose()
        for client in self._cheqpoint.values():
            await client.aclose()
        self.store.engine.dispose()

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self, envelope: Mapping[str, Any], *, agent: str, explain: bool = True
    ) -> Decision:
        """The dry run: the full decision, nothing recorded, nothing executed."""
        request = self._parse(envelope)
        return self.policies.deciding().evaluate(request, agent=agent, explain=explain)

    def _parse(self, envelope: Mapping[str, Any]) -> ActionRequest:
        """The envelope validated by the catalog, and refused if it would write a label that
        imitates the adapter's duplicate-protection markers (hole: forged markers)."""
        request = parse_envelope(envelope)
        self.adapter.check_details(request.action, request.details)
        return request

    # ----------------------------------------------------------------- submission

    async def submit(
        self,
        envelope: Mapping[str, Any],
        *,
        agent: str,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Validate, decide, record, and act: execute an allowed action now; open an
        approval for a gated one. With an Idempotency-Key a replay returns the first record
        (and never executes twice); the same key with another body raises a conflict."""
        request = self._parse(envelope)
        policies = self.policies.deciding()
        decision = policies.evaluate(request, agent=agent, explain=False)
        self.metrics.decisions.labels(decision.decision.value, request.action).inc()
        status = _DECISION_STATUS[decision.decision]
        body_hash = request_hash(request.as_dict()) if idempotency_key else None
        finished: FinishedRun | None = None
        action_id: str | None = None
        if decision.allowed and request.kind is ActionKind.READ:
            # A read changes nothing in Jira, so it runs first and is recorded once, with its
            # result, in one transaction (no claim, no lease: re-running it is harmless).
            if idempotency_key is not None:
                replay = self.store.find_by_idempotency_key(
                    agent=agent, key=idempotency_key, request_hash=body_hash
                )
                if replay is not None:
                    return Submission(replay, None, created=False)
            action_id = new_action_id()
            finished = await self._run_read(request, action_id)
        claim = decision.allowed and finished is None
        created = self.store.create_action(
            agent=agent,
            action=request.action,
            summary=request.summary,
            justification=request.justification,
            details=request.details,
            effective_details=request.details if decision.allowed else None,
            kind=request.kind.value,
            decision=decision.decision.value,
            status=status,
            review_group=decision.review_group,
            determining_rule=decision.determining_rule,
            decision_json=decision.as_dict(),
            policy_revision=decision.revision,
            idempotency_key=idempotency_key,
            request_hash=body_hash,
            # An allowed write is claimed by this process in the same transaction that
            # records it: executed inline, and taken over by a worker if we crash.
            claimed_by=self.worker_id if claim else None,
            claim_lease_seconds=self.settings.lease_seconds if claim else None,
            action_id=action_id,
            finished=finished,
            audit_note=AuditNote(
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
                },
            ),
        )
        record = created.action
        if not created.created:
            return Submission(record, None, created=False)
        self.metrics.statuses.labels(record.status.value).inc()
        if claim:
            record = await self._execute(record)
        elif decision.needs_approval:
            record = await self._open_approval(record, request, decision, policies)
        return Submission(record, decision, created=True)

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
        group = policies.groups.get(group_name)
        timeout = group.approval_timeout_seconds if group else 24 * 3600
        expires_at = self.store.clock() + timedelta(seconds=timeout)
        if self.settings.approval_backend == CHEQPOINT:
            await self._create_in_cheqpoint(record, request, decision, group, expires_at)
        else:
            self.inbox.open(
                record.id,
                group=group_name,
                min_approvals=group.min_approvals if group else 1,
                expires_at=expires_at,
            )
        return self.get_record(record.id)

    # ----------------------------------------------------------------- inbox decisions

    def reviewer_groups(self, reviewer: str) -> list[str]:
        return sorted(
            name for name, g in self.policies.current.groups.items() if reviewer in g.members
        )

    def decide(
        self,
        action_id: str,
        *,
        reviewer: str,
        verdict: Verdict | str,
        modified_details: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> VoteOutcome:
        """A reviewer's verdict on an inbox approval. An edit is checked before it counts:
        it must validate, may only narrow the action, and must still be something this
        review group may approve. Refusals are audited and raise DecisionRefusedError."""
        record = self.store.get_action(action_id)
        if record is None:
            raise ApprovalError(f"no action {action_id!r}")
        try:
            if record.review_group not in self.reviewer_groups(reviewer):
                raise ReviewerNotAllowedError(
                    f"{reviewer} is not a member of {record.review_group!r}, which reviews "
                    f"{action_id}"
                )
            if reviewer == record.agent:
                raise ReviewerNotAllowedError(
                    f"{reviewer} requested {action_id} and cannot decide it"
                )
            if Verdict(verdict) is Verdict.APPROVE and modified_details:
                self.check_edit(record, modified_details)
            outcome = self.inbox.vote(
                action_id,
                reviewer=reviewer,
                verdict=verdict,
                modified_details=modified_details or None,
                note=note,
            )
        except DecisionRefusedError as exc:
            self.store.append_audit(
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
            record = self.store.get_action(self._callbacks.pop(0))
            url = callback_url(record) if record is not None else None
            secret = self.settings.cheqpoint.webhook_secret
            if record is None or url is None or secret is None:
                continue
            body = json.dumps(protocol_status(record)).encode()
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: sign_webhook(secret.get_secret_value(), body),
            }
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    response = await http.post(url, content=body, headers=headers)
                outcome = f"HTTP {response.status_code}"
                sent += 1
            except httpx.HTTPError as exc:
                outcome = f"failed: {type(exc).__name__}"
            self.store.append_audit(
                action_id=record.id,
                actor="gateway",
                type="callback.sent",
                data={"url": url, "outcome": outcome},
            )
        return sent

    def check_edit(self, record: ActionRecord, patch: Mapping[str, Any]) -> dict[str, Any]:
        """The effective payload of a reviewer's edit, or DecisionRefusedError saying why not.

        The one check for API, inbox and Cheqpoint decisions: the catalog's edit rules (each
        field may only narrow, as declared per action; EditRefusedError names field and rule),
        then policy again on the effective payload."""
        effective = narrowed_details(record.action, record.details, patch)
        try:
            self.adapter.check_details(record.action, effective)
        except ActionError as exc:
            raise DecisionRefusedError(f"the edited details are invalid: {exc}") from exc
        # Policies see an edited search's JQL in the same canonical form as a submitted one.
        effective = normalise_details(effective)
        again = self.policies.deciding().evaluate(
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

    def _observe_decision(self, record: ActionRecord, status: ActionStatus) -> None:
        self.metrics.statuses.labels(status.value).inc()
        waited = (self.store.clock() - record.created_at).total_seconds()
        self.metrics.approval_latency.labels(status.value).observe(max(waited, 0.0))

    # ----------------------------------------------------------------- Cheqpoint

    def _client_for(self, group: str | None) -> CheqpointClient:
        client = self._cheqpoint.get(group or "") or self._cheqpoint.get("")
        if client is None:
            raise ApprovalBackendError("no Cheqpoint client is configured")
        return client

    async def _create_in_cheqpoint(
        self,
        record: ActionRecord,
        request: ActionRequest,
        decision: Decision,
        group: ReviewGroup | None,
        expires_at: datetime,
    ) -> None:
        self.store.transition_status(
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_backend=CHEQPOINT,
            expires_at=expires_at,
            min_approvals=1,
        )
        await self._send_to_cheqpoint(record, request, decision.review_group, group, decision)

    async def _send_to_cheqpoint(
        self,
        record: ActionRecord,
        request: ActionRequest,
        group_name: str | None,
        group: ReviewGroup | None,
        decision: Decision | None,
    ) -> bool:
        prefix = group.cheqpoint.action_prefix if group else ""
        webhook = (
            f"{self.settings.public_url.rstrip('/')}/v1/webhooks/cheqpoint"
            if self.settings.public_url
            else None
        )
        score = risk_score(decision, request, group) if decision else None
        try:
            ref = await self._client_for(group_name).create_request(
                action=f"{prefix}{request.action}",
                summary=request.summary,
                details=request.details,
                justification=request.justification,
                risk_score=score,
                webhook_url=webhook,
                trace={
                    "jiragateActionId": record.id,
                    "reviewGroup": group_name,
                    "agent": record.agent,
                    "rule": record.determining_rule,
                    "policyRevision": record.policy_revision,
                },
            )
        except ApprovalBackendError as exc:
            # Fail closed but keep the request: it stays pending, and the sync loop tries to
            # create it again until the approval expires.
            self.metrics.approval_backend_errors.inc()
            self.store.append_audit(
                action_id=record.id,
                actor="gateway",
                type="approval.backend_error",
                data={"backend": CHEQPOINT, "error": str(exc)},
            )
            return False
        self.store.transition_status(
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_ref=ref,
            audit_note=AuditNote(
                actor="gateway",
                type="approval.opened",
                data={"backend": CHEQPOINT, "ref": ref, "group": group_name, "risk": score},
            ),
        )
        return True

    async def sync_cheqpoint(self, record: ActionRecord) -> ActionRecord:
        """Ask Cheqpoint about one pending action (create it first if that failed before)."""
        if record.status is not ActionStatus.PENDING_APPROVAL:
            return record
        if record.approval_ref is None:
            request = ActionRequest(
                record.action, record.summary, record.details, record.justification
            )
            group = self.policies.current.groups.get(record.review_group or "")
            await self._send_to_cheqpoint(record, request, record.review_group, group, None)
            return self.get_record(record.id)
        try:
            decision = await self._client_for(record.review_group).get_request(record.approval_ref)
        except ApprovalBackendError as exc:
            self.metrics.approval_backend_errors.inc()
            log.warning("Cheqpoint poll failed for %s: %s", record.id, exc)
            return record
        return await self.apply_cheqpoint(record, decision)

    async def apply_cheqpoint(
        self, record: ActionRecord, decision: CheqpointDecision
    ) -> ActionRecord:
        """Apply a decision *fetched from Cheqpoint with our own key* (never a pushed body)."""
        if decision.id != record.approval_ref or record.status is not ActionStatus.PENDING_APPROVAL:
            return record
        if decision.status is CheqpointStatus.PENDING:
            return record
        now = self.store.clock()
        if record.expires_at is not None and record.expires_at <= now:
            self.store.expire_overdue(now=now)  # a decision after expiry changes nothing
            return self.get_record(record.id)
        reviewer = f"cheqpoint:{decision.id}"
        note = decision.decision_note or decision.response_notes
        if decision.status is CheqpointStatus.REJECTED:
            if (
                decision.retryable
                and self._resubmits(record) < self.settings.cheqpoint.max_resubmits
            ):
                self.store.transition_status(
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
                return await self.sync_cheqpoint(self.get_record(record.id))
            return self._finish_approval(
                record, ActionStatus.REJECTED, reviewer, note, decision.retryable
            )
        patch = decision.modified_details or {}
        try:
            effective = self.check_edit(record, patch) if patch else dict(record.details)
        except DecisionRefusedError as exc:
            return self._finish_approval(
                record,
                ActionStatus.REJECTED,
                reviewer,
                f"the reviewer's edit was refused: {exc}",
                False,
            )
        return self._finish_approval(
            record, ActionStatus.APPROVED, reviewer, note, False, effective, patch
        )

    def _resubmits(self, record: ActionRecord) -> int:
        from jiragate.store.audit import list_events

        events = list_events(self.store.engine, action_id=record.id, limit=500)
        return sum(1 for e in events if e.type == "approval.resubmitted")

    def _finish_approval(
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
            "decided_at": self.store.clock(),
        }
        if effective is not None:
            fields["effective_details"] = effective
        moved = self.store.transition_status(
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
            self._observe_decision(record, status)
        return self.get_record(record.id)

    async def webhook_hint(self, approval_ref: str) -> ActionRecord | None:
        """A verified webhook names an approval; fetch it ourselves before acting on it."""
        record = self._find_by_ref(approval_ref)
        if record is None:
            return None
        return await self.sync_cheqpoint(record)

    def _find_by_ref(self, approval_ref: str) -> ActionRecord | None:
        """The action waiting on a Cheqpoint approval (`approval_ref` is indexed)."""
        from sqlmodel import select

        with self.store.transaction(read_only=True) as session:
            return session.exec(
                select(ActionRecord).where(ActionRecord.approval_ref == approval_ref)
            ).first()

    # ----------------------------------------------------------------- execution

    async def run_once(self) -> ActionRecord | None:
        """Claim the oldest approved action and execute it; None when nothing waits."""
        record = self.store.claim_next_approved(
            worker_id=self.worker_id, lease_seconds=self.settings.lease_seconds
        )
        if record is None:
            return None
        return await self._execute(record)

    async def _attempt(
        self,
        action: str,
        details: Mapping[str, Any],
        action_id: str,
        summary: str,
        not_before: datetime | None = None,
    ) -> tuple[str, dict[str, Any] | None, str | None]:
        """Run the action in Jira once: (outcome, result, error). Raises JiraTransportError
        when Jira gave no usable answer (the outcome is unknown), JiraDeferredError when it
        asked to wait longer than a call may."""
        started = time.perf_counter()
        try:
            result = await self.adapter.execute(
                action, details, action_id=action_id, summary=summary, not_before=not_before
            )
        except JiraTransportError:
            self.metrics.jira_errors.labels(action, "transport").inc()
            raise
        except (JiraError, ActionError) as exc:
            self.metrics.jira_errors.labels(action, "refused").inc()
            return "failed", None, str(exc)
        finally:
            self.metrics.jira_latency.labels(action).observe(time.perf_counter() - started)
        outcome = result.outcome.value
        if outcome != "succeeded":
            self.metrics.jira_errors.labels(action, outcome).inc()
        error = "; ".join(f.reason for f in result.failures) or None
        return outcome, result.as_dict(), error

    async def _run_read(self, request: ActionRequest, action_id: str) -> FinishedRun:
        started_at = self.store.clock()
        try:
            outcome, result, error = await self._attempt(
                request.action, request.details, action_id, request.summary
            )
        except JiraTransportError as exc:  # a read that got no answer simply failed
            partial = getattr(exc, "result", None)
            outcome, error = "failed", str(exc)
            result = partial.as_dict() if partial is not None else None
        status = _OUTCOME_STATUS[outcome]
        return FinishedRun(
            worker=self.worker_id,
            started_at=started_at,
            outcome=outcome,
            status=status,
            result=result,
            error=error,
            audit_note=_executed_note(self.worker_id, status, result, error),
        )

    async def _execute(self, record: ActionRecord) -> ActionRecord:
        """Run one claimed attempt; record its end (execution row, status, audit) at once.

        Attempts are counted when claimed, before anything runs, so an attempt that crashed
        its round (or its process) still counts: a claim beyond `max_attempts` gives up
        instead of running the action again, and an unexpected exception while executing is
        retried like an unknown outcome, never looped on forever."""
        if record.attempts > self.settings.max_attempts:
            last = record.error or "the attempt never finished (its worker crashed or stopped)"
            return self._give_up(
                record, f"gave up after {record.attempts - 1} attempts: {last}"[:_MAX_ERROR]
            )
        details = record.effective_details or record.details
        # The attempt is on record before Jira is called: an attempt whose worker died shows
        # as started and never finished.
        execution = self.store.record_execution(
            action_id=record.id, attempt=record.attempts, worker=self.worker_id
        )
        heartbeat = asyncio.create_task(self._heartbeat(record.id))
        try:
            # Whatever this action created in Jira is younger than its record: the adapter
            # ignores older issues and comments that carry its markers.
            outcome, result, error = await self._attempt(
                record.action, details, record.id, record.summary, record.created_at
            )
        except JiraTransportError as exc:
            partial = getattr(exc, "result", None)
            deferred = isinstance(exc, JiraDeferredError)
            self.store.finish_execution(
                execution.id,
                outcome="deferred" if deferred else "unknown",
                result=partial.as_dict() if partial is not None else None,
                error=str(exc),
            )
            delay = exc.retry_after if isinstance(exc, JiraDeferredError) else None
            return self._retry_or_fail(record, str(exc), delay=delay)
        except Exception as exc:  # a bug or a poisoned payload: recorded, counted, retried
            log.exception("%s: attempt %s crashed", record.id, record.attempts)
            error = f"execution crashed: {type(exc).__name__}: {exc}"[:_MAX_ERROR]
            self.store.finish_execution(execution.id, outcome="crashed", error=error)
            return self._retry_or_fail(record, error)
        finally:
            heartbeat.cancel()
        return self._complete(record, execution.id, outcome, result, error)

    def _complete(
        self,
        record: ActionRecord,
        execution_id: str,
        outcome: str,
        result: dict[str, Any] | None,
        error: str | None,
    ) -> ActionRecord:
        status = _OUTCOME_STATUS[outcome]
        done = self.store.complete_execution(
            record.id,
            execution_id=execution_id,
            worker=self.worker_id,
            outcome=outcome,
            to_status=status,
            result=result,
            error=error,
            audit_note=_executed_note(self.worker_id, status, result, error),
        )
        if done is None:
            log.warning("%s: lost the claim before recording %s", record.id, status.value)
            return self.get_record(record.id)
        self.metrics.statuses.labels(status.value).inc()
        return done

    def _retry_or_fail(
        self, record: ActionRecord, error: str, *, delay: float | None = None
    ) -> ActionRecord:
        """Jira gave no usable answer (or asked us to wait `delay` s): run it later, or give up.

        The action stays `executing` with a lease that runs out after
        `execution_retry_seconds` (or Jira's longer `Retry-After`); the housekeeping sweep then
        hands it back to the workers. Waiting matters: a create whose answer was lost may still
        be completing in Jira, and only a later search for its markers can be trusted not to
        create it twice."""
        if record.attempts >= self.settings.max_attempts:
            return self._give_up(record, f"gave up after {record.attempts} attempts: {error}")
        wait = max(self.settings.execution_retry_seconds, delay or 0.0)
        retry_at = self.store.clock() + timedelta(seconds=wait)
        self.store.transition_status(
            record.id,
            from_statuses=[ActionStatus.EXECUTING],
            to_status=ActionStatus.EXECUTING,
            expect_claimed_by=self.worker_id,
            claimed_by=None,
            claim_expires_at=retry_at,
            error=error,
            audit_note=AuditNote(
                actor=self.worker_id,
                type="action.retry_scheduled",
                data={
                    "attempt": record.attempts,
                    "error": error,
                    "retry_at": retry_at.isoformat(),
                    "reason": "rate_limited" if delay is not None else "outcome_unknown",
                },
            ),
        )
        return self.get_record(record.id)

    def _give_up(self, record: ActionRecord, error: str) -> ActionRecord:
        moved = self.store.transition_status(
            record.id,
            from_statuses=[ActionStatus.EXECUTING],
            to_status=ActionStatus.FAILED,
            expect_claimed_by=self.worker_id,
            claimed_by=None,
            claim_expires_at=None,
            error=error,
            audit_note=AuditNote(self.worker_id, "action.failed", {"error": error}),
        )
        if moved:
            self.metrics.statuses.labels(ActionStatus.FAILED.value).inc()
        return self.get_record(record.id)

    async def _heartbeat(self, action_id: str) -> None:
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            self.store.extend_lease(
                action_id, worker_id=self.worker_id, lease_seconds=self.settings.lease_seconds
            )

    # ----------------------------------------------------------------- housekeeping

    async def maintain(self) -> WorkerStats:
        """One round of the background duties every replica and worker may run safely
        together: expire overdue approvals, take back dead workers' claims (an inline
        execution whose process died included), and sync Cheqpoint. (Policies are kept on
        the active revision by `watch_policies`, which every deciding process runs.)"""
        stats = WorkerStats()
        now = self.store.clock()
        expired = self.store.expire_overdue(now=now)
        stats.expired = len(expired)
        for action_id in expired:
            self._queue_callback(action_id)
        stats.reclaimed = len(self.store.reclaim_expired_leases(now=now))
        if self.settings.approval_backend == CHEQPOINT:
            page = self.store.list_actions(status=ActionStatus.PENDING_APPROVAL, limit=100)
            for record in page.items:
                if record.approval_backend == CHEQPOINT:
                    await self.sync_cheqpoint(record)
                    stats.synced += 1
        return stats

    async def sync_policies(self) -> bool:
        """One policy watcher round, in a thread: a large set loads for seconds, and the event
        loop must keep answering (/healthz, decisions with the running set) meanwhile."""
        return await asyncio.to_thread(self.policies.sync)

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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    # ----------------------------------------------------------------- reads

    def get_record(self, action_id: str) -> ActionRecord:
        record = self.store.get_action(action_id)
        if record is None:  # pragma: no cover - rows are never deleted
            raise ApprovalError(f"action {action_id} vanished")
        return record

    async def wait_for_decision(self, action_id: str, seconds: float) -> ActionRecord:
        """Wait (bounded) until the action leaves pending/approved/executing, like
        Cheqpoint's sync mode; polls Cheqpoint about once a second when it is the backend."""
        deadline = time.monotonic() + min(seconds, self.settings.max_wait_seconds)
        last_poll = 0.0
        record = self.get_record(action_id)
        while not record.final and time.monotonic() < deadline:
            if (
                record.approval_backend == CHEQPOINT
                and record.status is ActionStatus.PENDING_APPROVAL
                and time.monotonic() - last_poll >= 1.0
            ):
                record = await self.sync_cheqpoint(record)
                last_poll = time.monotonic()
            await asyncio.sleep(0.05)
            record = self.get_record(action_id)
        return record


def _executed_note(
    worker: str, status: ActionStatus, result: Mapping[str, Any] | None, error: str | None
) -> AuditNote:
    """The audit event that ends an attempt: what Jira did, without its payloads."""
    return AuditNote(
        actor=worker,
        type=f"action.{status.value}",
        data={
            "created": [c["key"] for c in (result or {}).get("created", [])],
            "updated": (result or {}).get("updated", []),
            "failures": len((result or {}).get("failures", [])),
            "error": error,
        },
    )


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
        env = group.cheqpoint.connection_key_env
        if env and os.environ.get(env):
            clients[name] = CheqpointClient(
                settings.cheqpoint.url, os.environ[env], transport=transport
            )
    return clients

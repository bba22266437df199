"""Running an action in Jira once, and recording how each attempt ended.

Execution is at-least-once in the face of crashes (a lease runs out and the action is claimed
again) and exactly-once in Jira because the adapter marks and looks for what it created.
Every attempt is on record before Jira is called and ends in one transaction (execution
row, status, audit event); an unknown outcome waits `execution_retry_seconds` (or Jira's
longer `Retry-After`) before a worker runs it again, and a claim past `max_attempts` fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jiragate.catalog import ActionRequest
from jiragate.errors import (
    ActionError,
    ApprovalError,
    JiraDeferredError,
    JiraError,
    JiraTransportError,
)
from jiragate.gateway import binding as bound
from jiragate.jira.client import RawResponse
from jiragate.jira.operations import JiraAdapter
from jiragate.metrics import Metrics
from jiragate.settings import Settings
from jiragate.store import ActionRecord, ActionStatus, AuditNote, FinishedRun, Store
from jiragate.store.votes import back_to_review

log = logging.getLogger("jiragate.gateway")

#: (action, payload to run) -> why the running policy no longer allows it, or None.
PolicyCheck = Callable[[ActionRecord, Mapping[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class ForwardRequest:
    """A read as the proxy received it (normalised): what `run_forward` sends to Jira."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None  # a search's POST body


_OUTCOME_STATUS = {
    "succeeded": ActionStatus.EXECUTED,
    "partial": ActionStatus.PARTIALLY_EXECUTED,
    "failed": ActionStatus.FAILED,
}
#: How much of an unexpected exception's text is recorded as the action's error.
_MAX_ERROR = 2000


class Executor:
    """Runs claimed actions (and inline reads) for one gateway, as `worker_id`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        adapter: JiraAdapter,
        metrics: Metrics,
        worker_id: str,
        policy_check: PolicyCheck | None = None,
    ) -> None:
        self.settings = settings
        #: The bound approval against the running policy: a reason to stop, or None.
        self._policy_check = policy_check
        self._store = store
        self._adapter = adapter
        self.metrics = metrics
        self.worker_id = worker_id

    def _reload(self, action_id: str) -> ActionRecord:
        record = self._store.get_action(action_id)
        if record is None:  # pragma: no cover - rows are never deleted
            raise ApprovalError(f"action {action_id} vanished")
        return record

    async def _attempt(
        self,
        action: str,
        details: Mapping[str, Any],
        action_id: str,
        summary: str,
        not_before: datetime | None = None,
        resumed: bool = False,
    ) -> tuple[str, dict[str, Any] | None, str | None]:
        """Run the action in Jira once: (outcome, result, error). Raises JiraTransportError
        when Jira gave no usable answer (the outcome is unknown), JiraDeferredError when it
        asked to wait longer than a call may."""
        started = time.perf_counter()
        try:
            result = await self._adapter.execute(
                action,
                details,
                action_id=action_id,
                summary=summary,
                not_before=not_before,
                resumed=resumed,
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

    async def run_read(self, request: ActionRequest, action_id: str) -> FinishedRun:
        started_at = self._store.clock()
        try:
            outcome, result, error = await self._attempt(
                request.action, request.details, action_id, request.summary
            )
        except JiraTransportError as exc:  # a read that got no answer simply failed
            partial = exc.result
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

    async def run_forward(
        self, request: ActionRequest, action_id: str, forward: ForwardRequest
    ) -> tuple[FinishedRun, RawResponse | None]:
        """An allowed read from the proxy: the client's own request sent once (so it gets
        Jira's whole answer, not our trimmed shape), recorded like `run_read`."""
        started_at = self._store.clock()
        started = time.perf_counter()
        answer: RawResponse | None = None
        error: str | None
        result: dict[str, Any] | None
        try:
            answer = await self._adapter.client.forward(
                forward.method,
                forward.path,
                query=forward.query,
                headers=forward.headers,
                body=forward.body,
            )
        except JiraTransportError as exc:
            self.metrics.jira_errors.labels(request.action, "transport").inc()
            outcome, error, result = "failed", str(exc), None
        else:
            outcome = "succeeded" if answer.status < 400 else "failed"
            error = None if answer.status < 400 else f"Jira answered {answer.status}"
            result = {
                "action": request.action,
                "outcome": outcome,
                "forwarded": forward.path,
                "data": {"status": answer.status, "bodyBytes": len(answer.body)},
            }
        finally:
            self.metrics.jira_latency.labels(request.action).observe(time.perf_counter() - started)
        status = _OUTCOME_STATUS[outcome]
        finished = FinishedRun(
            worker=self.worker_id,
            started_at=started_at,
            outcome=outcome,
            status=status,
            result=result,
            error=error,
            audit_note=_executed_note(self.worker_id, status, result, error),
        )
        return finished, answer

    async def execute(self, record: ActionRecord) -> ActionRecord:
        """Run one claimed attempt; record its end (execution row, status, audit) at once.

        Attempts are counted when claimed, before anything runs, so an attempt that crashed
        its round (or its process) still counts: a claim beyond `max_attempts` gives up
        instead of running the action again, and an unexpected exception while executing is
        retried like an unknown outcome, never looped on forever."""
        if record.attempts > self.settings.max_attempts:
            last = record.error or "the attempt never finished (its worker crashed or stopped)"
            return await asyncio.to_thread(
                self._give_up,
                record,
                f"gave up after {record.attempts - 1} attempts: {last}"[:_MAX_ERROR],
            )
        details = record.effective_details or record.details
        if record.binding is not None and not await asyncio.to_thread(
            self._store.list_executions, record.id
        ):
            # Only before the first attempt (none on record, even after a crash before Jira
            # was called): a later one would see its own earlier work as a change.
            stopped = await self._check_binding(record, details)
            if stopped is not None:
                return stopped
        # The attempt is on record before Jira is called: an attempt whose worker died shows
        # as started and never finished.
        execution = await asyncio.to_thread(
            self._store.record_execution,
            action_id=record.id,
            attempt=record.attempts,
            worker=self.worker_id,
        )
        heartbeat = asyncio.create_task(self._heartbeat(record.id))
        try:
            # Whatever this action created in Jira is younger than its record: the adapter
            # ignores older issues and comments that carry its markers. Attempts are counted
            # when claimed, so a second one follows an attempt whose outcome is unknown.
            outcome, result, error = await self._attempt(
                record.action,
                details,
                record.id,
                record.summary,
                record.created_at,
                resumed=record.attempts > 1,
            )
        except JiraTransportError as exc:
            partial = exc.result
            deferred = isinstance(exc, JiraDeferredError)
            await asyncio.to_thread(
                self._store.finish_execution,
                execution.id,
                outcome="deferred" if deferred else "unknown",
                result=partial.as_dict() if partial is not None else None,
                error=str(exc),
            )
            delay = exc.retry_after if isinstance(exc, JiraDeferredError) else None
            return await asyncio.to_thread(self._retry_or_fail, record, str(exc), delay=delay)
        except Exception as exc:  # a bug or a poisoned payload: recorded, counted, retried
            log.exception("%s: attempt %s crashed", record.id, record.attempts)
            error = f"execution crashed: {type(exc).__name__}: {exc}"[:_MAX_ERROR]
            await asyncio.to_thread(
                self._store.finish_execution, execution.id, outcome="crashed", error=error
            )
            return await asyncio.to_thread(self._retry_or_fail, record, error)
        finally:
            heartbeat.cancel()
        if outcome != "failed" and self.settings.attribution != "off":
            await self._attribute(record, result)
        return await asyncio.to_thread(self._complete, record, execution.id, outcome, result, error)

    async def _attribute(self, record: ActionRecord, result: Mapping[str, Any] | None) -> None:
        """Name agent, approvers and action on every issue the write created or changed."""
        keys = [c["key"] for c in (result or {}).get("created", [])]
        keys += [k for k in (result or {}).get("updated", []) if isinstance(k, str)]
        if not keys or record.kind == "read":
            return
        facts = {"agent": record.agent, "approvers": list(record.reviewers), "action_id": record.id}
        try:
            missed = await self._adapter.attribute(
                list(dict.fromkeys(keys)), mode=self.settings.attribution, facts=facts
            )
        except JiraTransportError as exc:  # the write is done; its attribution is a nicety
            missed = keys
            log.warning("%s: attribution not written: %s", record.id, exc)
        if missed:
            await asyncio.to_thread(
                self._store.append_audit,
                action_id=record.id,
                actor=self.worker_id,
                type="action.attribution_missed",
                data={"keys": missed, "mode": self.settings.attribution},
            )

    async def _check_binding(
        self, record: ActionRecord, details: Mapping[str, Any]
    ) -> ActionRecord | None:
        """Re-read what the approval was bound to; the stopped action if it no longer holds,
        None to go on. A payload other than the approved one always fails; a target that
        changed in a way that matters goes back to the reviewers (`on_change: review`) or
        fails (`on_change: fail`, and always for Cheqpoint approvals, which cannot be
        re-opened from here)."""
        binding = dict(record.binding or {})
        approved = binding.get("payload_hash")
        if approved is not None and approved != bound.payload_hash(details):
            return await asyncio.to_thread(
                self._give_up, record, "the payload to run is not the one reviewers approved"
            )
        if self._policy_check is not None:
            refused = self._policy_check(record, details)
            if refused is not None:
                return await asyncio.to_thread(self._give_up, record, refused)
        before = binding.get("snapshot") or {}
        after = await bound.read_snapshot(
            self._adapter, details, sprint_field=self.settings.jira.sprint_field
        )
        found = bound.changes(before, after)
        if not found:
            return None
        reason = f"changed since approval: {bound.describe(found)}"
        on_change = binding.get("on_change", bound.ON_CHANGE_DEFAULT)
        if on_change == "fail" or record.approval_backend != "inbox":
            return await asyncio.to_thread(self._give_up, record, reason)
        window = (record.expires_at or record.created_at) - record.created_at
        expires_at = self._store.clock() + max(window, timedelta(minutes=5))
        binding.update(
            snapshot=after,
            payload_hash=None,
            changed=found,
            previous_snapshot=before,
            rounds=int(binding.get("rounds", 1)) + 1,
        )
        moved = await asyncio.to_thread(
            back_to_review,
            self._store,
            record.id,
            worker=self.worker_id,
            binding=binding,
            expires_at=expires_at,
            audit_data={
                "changes": found,
                "reason": reason,
                "previous_reviewers": list(record.reviewers),
                "snapshot_hash": after["hash"],
            },
        )
        if moved:
            self.metrics.statuses.labels(ActionStatus.PENDING_APPROVAL.value).inc()
        return await asyncio.to_thread(self._reload, record.id)

    def _complete(
        self,
        record: ActionRecord,
        execution_id: str,
        outcome: str,
        result: dict[str, Any] | None,
        error: str | None,
    ) -> ActionRecord:
        status = _OUTCOME_STATUS[outcome]
        done = self._store.complete_execution(
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
            return self._reload(record.id)
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
        retry_at = self._store.clock() + timedelta(seconds=wait)
        self._store.transition_status(
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
        return self._reload(record.id)

    def _give_up(self, record: ActionRecord, error: str) -> ActionRecord:
        moved = self._store.transition_status(
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
        return self._reload(record.id)

    async def _heartbeat(self, action_id: str) -> None:
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(
                self._store.extend_lease,
                action_id,
                worker_id=self.worker_id,
                lease_seconds=self.settings.lease_seconds,
            )


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

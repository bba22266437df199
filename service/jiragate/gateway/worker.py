"""Execution and housekeeping: the worker loop and the background duties every replica may
run, keeping the process on the active policy revision (and reloading it), and the bounded
wait for a decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field

from jiragate.errors import PolicyLoadError, StoreError
from jiragate.gateway.state import GatewayState
from jiragate.policy.engine import PolicySet
from jiragate.store import ActionRecord, ActionStatus
from jiragate.store.changes import SAFETY_POLL_SECONDS, listen_for_changes

log = logging.getLogger("jiragate.gateway")

#: How often a serving process checkpoints an SQLite WAL: at 300 reads a second ~7,000
#: pages (~28 MB) at most between two checkpoints.
CHECKPOINT_SECONDS = 1.0


@dataclass(slots=True)
class WorkerStats:
    executed: int = 0
    expired: int = 0
    reclaimed: int = 0
    synced: int = 0
    errors: list[str] = field(default_factory=list)


class WorkerMixin(GatewayState):
    """What runs beside the requests: execution, housekeeping, policy and change watches."""

    async def run_once(self) -> ActionRecord | None:
        """Claim the oldest approved action and execute it; None when nothing waits."""
        record = await asyncio.to_thread(
            self._store.claim_next_approved,
            worker_id=self.worker_id,
            lease_seconds=self.settings.lease_seconds,
        )
        if record is None:
            return None
        return await self._executor.execute(record)

    async def maintain(self) -> WorkerStats:
        """One round of the background duties every replica and worker may run safely
        together: expire overdue approvals, take back dead workers' claims (an inline
        execution whose process died included), and sync Cheqpoint. (Policies are kept on
        the active revision by `watch_policies`, which every deciding process runs.)"""
        stats = WorkerStats()
        now = self._store.clock()
        expired = await asyncio.to_thread(self._store.expire_overdue, now=now)
        stats.expired = len(expired)
        for action_id in expired:
            self._queue_callback(action_id)
        reclaimed = await asyncio.to_thread(self._store.reclaim_expired_leases, now=now)
        stats.reclaimed = len(reclaimed)
        stats.synced = await self._approvals.housekeeping()
        return stats

    def expire_overdue(self) -> list[str]:
        """Expire approvals past their deadline now (as housekeeping would); their ids."""
        expired = self._store.expire_overdue(now=self._store.clock())
        for action_id in expired:
            self._queue_callback(action_id)
        return expired

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

    async def wait_for_decision(
        self, action_id: str, seconds: float, *, decided_only: bool = False
    ) -> ActionRecord:
        """Wait (bounded) until the action leaves pending/approved/executing, like
        Cheqpoint's sync mode; asks Cheqpoint about once a second when it is the backend.
        `decided_only`: until it leaves pending_approval (an approval for an external
        executor, which Jiragate never runs).

        Woken when the action changes (store.changes: in this process at once, from other
        replicas by PostgreSQL NOTIFY), not by polling the database; the safety poll only
        bounds how late a lost notification can make the answer."""
        deadline = time.monotonic() + min(seconds, self.settings.max_wait_seconds)
        last_ask = -math.inf

        def settled(record: ActionRecord) -> bool:
            if decided_only:
                return record.status is not ActionStatus.PENDING_APPROVAL
            return record.final

        with self._store.changes.watching(action_id) as changed:
            record = await asyncio.to_thread(self.get_record, action_id)
            while not settled(record) and (left := deadline - time.monotonic()) > 0:
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
                record = await asyncio.to_thread(self.get_record, action_id)
        return record

    async def watch_changes(self, stop: asyncio.Event) -> None:
        """Until `stop`: on PostgreSQL, hear which actions other replicas changed, so this
        process's waiters wake at once (store.changes.listen_for_changes)."""
        await listen_for_changes(self._store.engine, self._store.changes, stop)

    async def checkpoint_wal(self, stop: asyncio.Event) -> None:
        """Until `stop`: on SQLite, checkpoint the WAL every `CHECKPOINT_SECONDS` in a worker
        thread, so that no request's commit pays for it (store/db.py,
        SQLITE_REQUEST_CHECKPOINT_PAGES). A failed checkpoint is logged and tried again:
        requests still checkpoint themselves past that bound. Returns at once on PostgreSQL."""
        if self._store.engine.dialect.name != "sqlite":
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECKPOINT_SECONDS)
            try:
                await asyncio.to_thread(self._store.checkpoint)
            except StoreError as exc:
                log.warning("checkpointing the SQLite WAL failed (%s); trying again", exc)

    async def run_background(self, stop: asyncio.Event, *, worker: bool) -> None:
        """What a serving process runs beside its requests until `stop`: the policy watch,
        the change listener, the WAL checkpoints and, with `worker`, the worker loop."""
        tasks = [self.watch_policies(stop), self.watch_changes(stop), self.checkpoint_wal(stop)]
        if worker:
            tasks.append(self.work(stop))
        await asyncio.gather(*tasks)

"""Recording finished reads durably, off the event loop, many to one commit.

An allowed read runs in Jira first and is then recorded (the action, its execution and two
chained audit events) before the agent gets its answer. Recording one read is one
transaction: a commit, the audit chain's lock, a handful of inserts. Done on the event loop,
every other request waits for it; done one commit per read, concurrent reads queue on the
audit lock one after another.

`ReadRecorder.record` hands the read to one flusher at a time, which runs in a worker
thread: whatever reads arrived while the previous batch was being written go together in
the next transaction (`Store.create_actions`, a group commit). A lone read is written at
once (no waiting to fill a batch); under load the commit's cost is shared. Each caller's
answer still waits for its own read's commit, so nothing is answered that is not recorded.

A batch that fails (database down, locked) fails every read in it, as one transaction
would: the agents get the store's error, and nothing of the batch is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from jiragate.store import ActionRecord, Store

#: Reads written in one transaction at most: bounds how long the audit lock is held and how
#: much one failed batch takes with it.
MAX_BATCH = 64


class ReadRecorder:
    """One per gateway (per event loop). Not thread-safe: call `record` from the loop."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._waiting: list[tuple[Mapping[str, Any], asyncio.Future[ActionRecord]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, fields: Mapping[str, Any]) -> ActionRecord:
        """Record one finished read (`Store.create_actions` fields); returns once committed."""
        future: asyncio.Future[ActionRecord] = asyncio.get_running_loop().create_future()
        # A caller cancelled meanwhile never reads its future: mark its error seen.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._waiting.append((fields, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a client that disconnects must not cancel the write of everyone's batch.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    records = await asyncio.to_thread(
                        self._store.create_actions, [fields for fields, _ in batch]
                    )
                except Exception as exc:  # every read of the batch gets the store's error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), record in zip(batch, records, strict=True):
                    if not future.done():
                        future.set_result(record)
        finally:
            self._flusher = None

    async def aclose(self) -> None:
        """Wait for the reads already handed over to be written."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

"""Finished reads recorded off the event loop in group commits (gateway/recording.py), on a
real SQLite file and PostgreSQL: concurrent reads share commits, every one is recorded and
chained before its caller returns, a failed batch fails its callers and keeps nothing, and
a caller that gives up never cancels the others' write."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from jiragate.errors import StoreError
from jiragate.gateway.recording import ReadRecorder
from jiragate.store import AuditNote, FinishedRun, Store


def read_fields(n: int) -> dict[str, Any]:
    return {
        "agent": "log-triage-bot",
        "action": "jira_get_issue",
        "summary": f"read {n}",
        "details": {"issueKey": f"ENG-{n}"},
        "kind": "read",
        "decision": "allow",
        "status": "executing",
        "audit_note": AuditNote("log-triage-bot", "action.submitted", {"n": n}),
        "finished": FinishedRun(
            worker="w",
            started_at=datetime.now(UTC),
            outcome="succeeded",
            status="executed",
            result={"data": {"key": f"ENG-{n}"}},
            audit_note=AuditNote("w", "action.executed", {"n": n}),
        ),
    }


class CountingStore(Store):
    """The real store, counting its group commits (and failing them on demand)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.batches: list[int] = []
        self.fail = False
        self.gate = threading.Event()
        self.gate.set()

    def create_actions(self, batch: Any) -> Any:
        self.gate.wait(10)  # a test holds the first commit open to let others queue
        self.batches.append(len(batch))
        if self.fail:
            raise StoreError("database is locked")
        return super().create_actions(batch)


@pytest.fixture
def counting(engine: Any) -> CountingStore:
    return CountingStore(engine)


def test_concurrent_reads_share_commits_and_all_are_recorded_and_chained(counting):
    async def scenario() -> list[Any]:
        recorder = ReadRecorder(counting)
        counting.gate.clear()
        first = asyncio.create_task(recorder.record(read_fields(0)))
        await asyncio.sleep(0.05)  # the first batch (one read) is being written
        rest = [asyncio.create_task(recorder.record(read_fields(n))) for n in range(1, 40)]
        await asyncio.sleep(0.05)
        counting.gate.set()
        return await asyncio.gather(first, *rest)

    records = asyncio.run(scenario())
    assert [r.summary for r in records] == [f"read {n}" for n in range(40)]
    assert counting.batches == [1, 39]  # 40 reads, two commits
    for record in records:
        stored = counting.get_action(record.id)
        assert stored is not None and stored.status.value == "executed"
        assert stored.result_json == {"data": {"key": record.details["issueKey"]}}
        assert len(counting.list_executions(record.id)) == 1
    report = counting.verify_audit()
    assert report.ok and report.checked == 80, report  # two chained events per read


def test_a_batch_larger_than_the_bound_is_split(counting):
    async def scenario() -> None:
        recorder = ReadRecorder(counting, max_batch=8)
        counting.gate.clear()
        tasks = [asyncio.create_task(recorder.record(read_fields(n))) for n in range(20)]
        await asyncio.sleep(0.05)
        counting.gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert counting.batches == [8, 8, 4]
    assert counting.verify_audit().checked == 40


def test_a_failed_batch_fails_every_caller_and_keeps_nothing(counting):
    counting.fail = True

    async def scenario() -> list[Any]:
        recorder = ReadRecorder(counting)
        tasks = [asyncio.create_task(recorder.record(read_fields(n))) for n in range(5)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, StoreError) for o in outcomes), outcomes
    assert counting.verify_audit().checked == 0
    counting.fail = False

    async def again() -> Any:  # the recorder is not stuck after a failure
        return await ReadRecorder(counting).record(read_fields(9))

    assert counting.get_action(asyncio.run(again()).id) is not None


def test_a_caller_that_gives_up_does_not_cancel_the_write(counting):
    async def scenario() -> None:
        recorder = ReadRecorder(counting)
        counting.gate.clear()
        impatient = asyncio.create_task(recorder.record(read_fields(1)))
        await asyncio.sleep(0.05)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        counting.gate.set()
        await recorder.aclose()  # what was handed over is written

    asyncio.run(scenario())
    assert counting.verify_audit().checked == 2
    assert counting.batches == [1]


def test_a_batch_refuses_an_idempotency_key(store):
    with pytest.raises(ValueError, match="idempotency key"):
        store.create_actions([{**read_fields(1), "idempotency_key": "k", "request_hash": "h"}])


def test_a_batch_chains_each_read_submission_then_execution_in_order(store):
    """One statement per table in a group commit, yet the chain reads as one read at a
    time would have written it: each read's submission, then its execution."""
    records = store.create_actions([read_fields(n) for n in range(3)])
    events = [(e.action_id, e.type) for e in store.audit_events(limit=100)]
    expected = []
    for record in records:
        expected += [(record.id, "action.submitted"), (record.id, "action.executed")]
    assert events == expected
    assert [e.data["n"] for e in store.audit_events(limit=100)] == [0, 0, 1, 1, 2, 2]
    assert store.verify_audit().ok


def test_a_batch_the_database_refuses_midway_keeps_nothing(store):
    """The third read reuses the first one's id: the database refuses that row, and the
    whole group commit goes with it (no action, execution or event of any read kept)."""
    first = store.create_actions([read_fields(0)])[0]
    before = store.verify_audit()
    batch = [read_fields(1), read_fields(2), {**read_fields(3), "action_id": first.id}]
    with pytest.raises(StoreError):
        store.create_actions(batch)
    after = store.verify_audit()
    assert after.ok and after.head == before.head
    assert [r.summary for r in store.list_actions(limit=10).items] == ["read 0"]

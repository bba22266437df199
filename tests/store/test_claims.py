"""Many workers race to claim the same approved actions: each is claimed exactly once."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from jiragate.store import ActionRecord, ActionStatus, Store, make_engine, verify
from tests.store.helpers_store import seed_actions

ACTIONS = 100


def _claim_until_empty(store: Store, worker_id: str) -> list[str]:
    claimed: list[str] = []
    while (record := store.claim_next_approved(worker_id=worker_id, lease_seconds=300)) is not None:
        claimed.append(record.id)
    return claimed


def _assert_each_claimed_once(store: Store, seeded: list[str], claims: list[str]) -> None:
    counts = Counter(claims)
    assert sorted(counts) == sorted(seeded)
    assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1]
    with store.transaction(read_only=True) as session:
        rows = session.execute(sa.select(ActionRecord.status, ActionRecord.attempts)).all()
    assert {(row.status, row.attempts) for row in rows} == {(ActionStatus.EXECUTING, 1)}
    assert verify(store.engine).checked == ACTIONS  # one "action.claimed" event each


def test_threads_claim_each_action_exactly_once(store):
    seeded = seed_actions(store, ACTIONS, status=ActionStatus.APPROVED)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker_id: str) -> None:
        try:
            start.wait()
            results[worker_id] = _claim_until_empty(store, worker_id)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"thread-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_each_claimed_once(store, seeded, [i for ids in results.values() for i in ids])


def _claim_in_process(url: str, worker_id: str, start, out) -> None:
    # A fresh engine per process, as a separate worker process or replica would have.
    engine = make_engine(url)
    try:
        start.wait()
        out.put((worker_id, _claim_until_empty(Store(engine), worker_id)))
    except BaseException as exc:
        out.put((worker_id, exc))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_processes_claim_each_action_exactly_once(store, db_url):
    seeded = seed_actions(store, ACTIONS, status=ActionStatus.APPROVED)
    store.engine.dispose()  # no pooled connection is inherited by the children
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)
    out = context.Queue()
    processes = [
        context.Process(target=_claim_in_process, args=(db_url, f"proc-{i}", start, out))
        for i in range(4)
    ]
    for process in processes:
        process.start()
    answers = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    failures = [answer for _, answer in answers if isinstance(answer, BaseException)]
    assert failures == []
    _assert_each_claimed_once(store, seeded, [i for _, ids in answers for i in ids])

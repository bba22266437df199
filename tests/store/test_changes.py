"""Waiters are told when an action changes: in the process that committed, and, on
PostgreSQL, in every other replica through LISTEN/NOTIFY. A change that is rolled back tells
nobody. (The waits below are liveness bounds on a notification, never speed claims: the
gateway's safety poll is not involved, so only a delivered notification sets the event.)"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest
from sqlalchemy.engine import Engine

from jiragate.store import ActionStatus, Store, make_engine
from jiragate.store.changes import ActionChanges, listen_for_changes
from jiragate.store.db import compare_and_set_status
from tests.store.helpers_store import new_action


def test_a_commit_in_this_process_wakes_the_actions_waiters_only(store: Store):
    waiting = new_action(store, status=ActionStatus.PENDING_APPROVAL)
    other = new_action(store, status=ActionStatus.PENDING_APPROVAL)

    async def scenario() -> tuple[bool, bool]:
        with (
            store.changes.watching(waiting.id) as woken,
            store.changes.watching(other.id) as untouched,
        ):
            # Committed from another thread, as the gateway's worker threads do.
            await asyncio.to_thread(_approve, store, waiting.id)
            await asyncio.wait_for(woken.wait(), timeout=10)
            return woken.is_set(), untouched.is_set()

    assert asyncio.run(scenario()) == (True, False)
    assert store.changes.waiting() == 0  # no waiter outlives its block


def test_a_rolled_back_change_wakes_nobody(store: Store):
    action = new_action(store, status=ActionStatus.PENDING_APPROVAL)

    async def scenario() -> bool:
        with store.changes.watching(action.id) as woken:
            with pytest.raises(RuntimeError), store.transaction() as session:
                _approve_in(session, action.id)
                raise RuntimeError("the transaction fails after the change")
            await asyncio.sleep(0)  # let any handed-over wake-up run
            return woken.is_set()

    assert asyncio.run(scenario()) is False
    assert store.get_action(action.id).status is ActionStatus.PENDING_APPROVAL


@pytest.mark.postgres
def test_another_replica_hears_a_committed_change_and_not_a_rolled_back_one(
    engine: Engine, db_url: str
):
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    writer = Store(engine)
    replica_engine = make_engine(db_url)  # another replica: its own engine and waiters
    replica = Store(replica_engine)
    committed = new_action(writer, status=ActionStatus.PENDING_APPROVAL)
    rolled_back = new_action(writer, status=ActionStatus.PENDING_APPROVAL)

    async def scenario() -> tuple[bool, bool]:
        stop = asyncio.Event()
        listener = asyncio.create_task(listen_for_changes(replica_engine, replica.changes, stop))
        try:
            with (
                replica.changes.watching(committed.id) as heard,
                replica.changes.watching(rolled_back.id) as not_heard,
            ):
                # LISTEN is in place only once the listener connected: send the pair of
                # changes (one rolled back, one committed) until the committed one is heard.
                for _ in range(100):
                    with pytest.raises(RuntimeError), writer.transaction() as session:
                        _approve_in(session, rolled_back.id)
                        raise RuntimeError("rolled back: must not be announced")
                    await asyncio.to_thread(_touch, writer, committed.id)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(heard.wait(), timeout=0.2)
                    if heard.is_set():
                        break
                return heard.is_set(), not_heard.is_set()
        finally:
            stop.set()
            await listener

    try:
        assert asyncio.run(scenario()) == (True, False)
    finally:
        replica_engine.dispose()


def test_a_waiter_on_a_closed_loop_does_not_break_notify():
    changes = ActionChanges()
    ready = threading.Event()

    def waiter() -> None:
        async def park() -> None:
            with changes.watching("act_1"):
                ready.set()
                await asyncio.sleep(0)

        asyncio.run(park())

    thread = threading.Thread(target=waiter)
    thread.start()
    thread.join()
    assert ready.is_set()
    changes.notify(["act_1"])  # nobody is left; nothing raises


def _approve(store: Store, action_id: str) -> None:
    with store.transaction() as session:
        _approve_in(session, action_id)


def _approve_in(session, action_id: str) -> None:  # type: ignore[no-untyped-def]
    from jiragate.store import audit

    assert compare_and_set_status(
        session,
        action_id,
        from_statuses=[ActionStatus.PENDING_APPROVAL],
        to_status=ActionStatus.APPROVED,
    )
    audit.append(session, action_id=action_id, actor="lead", type="action.approved")


def _touch(store: Store, action_id: str) -> None:
    """A committed change to the action (an audit event for it)."""
    from jiragate.store import audit

    with store.transaction() as session:
        audit.append(session, action_id=action_id, actor="lead", type="action.commented")

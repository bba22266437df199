from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from jiragate.errors import IdempotencyConflictError, StoreError
from jiragate.store import (
    ActionStatus,
    AuditNote,
    Store,
    init_db,
    make_engine,
    request_hash,
    verify,
)
from jiragate.store.audit import list_events
from tests.store.helpers_store import T0, FakeClock, new_action


def test_init_db_creates_every_table_and_is_idempotent(engine):
    init_db(engine)  # a second replica starting up: nothing to do, no error
    tables = set(sa.inspect(engine).get_table_names())
    assert {
        "actions",
        "approval_votes",
        "executions",
        "audit_events",
        "inbox_sessions",
        "inbox_signin_attempts",
        "budget_locks",
        "attachment_owners",
        "alembic_version",
    } <= tables
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version == "0009_attachment_owners"
    columns = {c["name"] for c in sa.inspect(engine).get_columns("actions")}
    assert "executor" in columns


def test_workers_never_claim_an_external_approval(store):
    external = new_action(store, status=ActionStatus.APPROVED, executor="external")
    ours = new_action(store, status=ActionStatus.APPROVED)
    claimed = store.claim_next_approved(worker_id="w1", lease_seconds=30)
    assert claimed is not None and claimed.id == ours.id
    assert store.claim_next_approved(worker_id="w1", lease_seconds=30) is None
    assert store.get_action(external.id).status is ActionStatus.APPROVED


def test_sqlite_engine_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    engine.dispose()
    assert mode == "wal"
    assert timeout == 30_000


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://root@localhost/jira", "unsupported database 'mysql'"),
        ("sqlite://", "in-memory SQLite is not supported"),
        ("not a url", "invalid database URL"),
        ("postgresql+asyncpg://u@h/db", "psycopg 3 driver"),
    ],
)
def test_make_engine_refuses_bad_urls_with_a_clear_message(url, fragment):
    with pytest.raises(StoreError, match=fragment):
        make_engine(url)


def test_bare_postgresql_url_uses_psycopg3():
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_action_round_trip_keeps_json_enums_and_utc(store):
    created = store.create_action(
        agent="agent-1",
        action="jira_create_tickets",
        summary="12 bugs",
        details={"projectKey": "ENG", "issueCount": 12, "labels": ["ai", "ünïcode"]},
        kind="write",
        decision="require_approval",
        status="pending_approval",
        review_group="engineering-leads",
        decision_json={"decision": "require_approval", "matched": ["r1", "r2"]},
        policy_revision="rev-7",
    )
    assert created.created
    loaded = store.get_action(created.action.id)
    assert loaded is not None
    assert loaded.id.startswith("act_")
    assert loaded.status is ActionStatus.PENDING_APPROVAL
    assert loaded.details["labels"] == ["ai", "ünïcode"]
    assert loaded.decision_json["matched"] == ["r1", "r2"]
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert store.get_action("act_missing") is None


def test_naive_datetimes_are_refused(store):
    action = new_action(store, status=ActionStatus.PENDING_APPROVAL)
    # The store's own refusal, as itself: not wrapped by SQLAlchemy, not a database failure.
    with pytest.raises(ValueError, match="naive datetime"):
        store.transition_status(
            action.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            expires_at=datetime(2030, 1, 1),
        )


def test_idempotency_replay_returns_the_first_action_and_a_new_body_conflicts(store):
    body = {"action": "jira_create_ticket", "details": {"projectKey": "ENG"}}
    first = new_action(store, idempotency_key="k-1", request_hash=request_hash(body))
    replay = store.create_action(
        agent="agent-1",
        action="jira_create_ticket",
        summary="Create one bug",
        details={"projectKey": "ENG"},
        kind="write",
        decision="require_approval",
        status="approved",
        idempotency_key="k-1",
        request_hash=request_hash(body),
    )
    assert replay.created is False
    assert replay.action.id == first.id
    with pytest.raises(IdempotencyConflictError, match="k-1"):
        store.find_by_idempotency_key(
            agent="agent-1", key="k-1", request_hash=request_hash({**body, "x": 1})
        )
    with pytest.raises(IdempotencyConflictError):
        new_action(store, idempotency_key="k-1", request_hash=request_hash({"other": True}))
    # Keys are per agent: another agent may use the same key.
    other = new_action(store, agent="agent-2", idempotency_key="k-1", request_hash="h")
    assert other.id != first.id
    assert store.find_by_idempotency_key(agent="agent-3", key="k-1") is None


def test_request_hash_ignores_key_order():
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


def test_list_actions_pages_stably_and_filters(engine):
    clock = FakeClock()
    store = Store(engine, clock=clock)
    ids = []
    for i in range(7):
        if i % 2 == 0:  # pairs of actions share a created_at: the id breaks the tie
            clock.advance(1)
        ids.append(new_action(store, agent=f"agent-{i % 2}", review_group="leads").id)
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_actions(limit=3, cursor=cursor)
        seen.extend(record.id for record in page.items)
        if page.next_cursor is None:
            break
        clock.advance(1)
        new_action(store)  # newer rows added while paging must not shift later pages
        cursor = page.next_cursor
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    keys = [(r.created_at, r.id) for r in store.list_actions(limit=500).items]
    assert keys == sorted(keys, reverse=True)
    assert {r.agent for r in store.list_actions(agent="agent-1").items} == {"agent-1"}
    assert len(store.list_actions(group="leads", limit=500).items) == 7
    assert store.list_actions(status=["rejected", "denied"]).items == []
    assert len(store.list_actions(status="approved", limit=500).items) == 9


def test_list_actions_rejects_bad_input(store):
    with pytest.raises(ValueError, match="invalid cursor"):
        store.list_actions(cursor="bm90IGEgY3Vyc29y")
    with pytest.raises(ValueError, match="known statuses"):
        store.list_actions(status="done")
    with pytest.raises(ValueError, match="limit"):
        store.list_actions(limit=0)


def test_transition_is_a_compare_and_set(store, engine):
    action = new_action(store, status=ActionStatus.APPROVED)
    note = AuditNote(actor="worker-1", type="action.executing")
    first = store.transition_status(
        action.id,
        from_statuses=[ActionStatus.APPROVED],
        to_status=ActionStatus.EXECUTING,
        claimed_by="worker-1",
        audit_note=note,
    )
    second = store.transition_status(
        action.id,
        from_statuses=[ActionStatus.APPROVED],
        to_status=ActionStatus.EXECUTING,
        claimed_by="worker-2",
        audit_note=note,
    )
    assert (first, second) == (True, False)
    loaded = store.get_action(action.id)
    assert loaded.status is ActionStatus.EXECUTING
    assert loaded.claimed_by == "worker-1"
    # Only the transition that happened was audited.
    assert [e.type for e in list_events(engine, action_id=action.id)] == ["action.executing"]


def test_transition_can_require_the_lease_holder(store):
    action = new_action(store, status=ActionStatus.APPROVED)
    claimed = store.claim_next_approved(worker_id="worker-1", lease_seconds=30)
    assert claimed.id == action.id
    stolen = store.transition_status(
        action.id,
        from_statuses=[ActionStatus.EXECUTING],
        to_status=ActionStatus.EXECUTED,
        expect_claimed_by="worker-2",
    )
    finished = store.transition_status(
        action.id,
        from_statuses=[ActionStatus.EXECUTING],
        to_status=ActionStatus.EXECUTED,
        expect_claimed_by="worker-1",
        result_json={"created": ["ENG-1"]},
    )
    assert (stolen, finished) == (False, True)
    assert store.get_action(action.id).result_json == {"created": ["ENG-1"]}


def test_transition_refuses_unknown_or_immutable_fields(store):
    action = new_action(store)
    with pytest.raises(ValueError, match="cannot set colour"):
        store.transition_status(
            action.id, from_statuses=["approved"], to_status="executing", colour="red"
        )
    with pytest.raises(ValueError, match="cannot set details"):
        store.transition_status(
            action.id, from_statuses=["approved"], to_status="executing", details={}
        )
    with pytest.raises(ValueError, match="'finished' is not a valid ActionStatus"):
        store.transition_status(action.id, from_statuses=["finished"], to_status="executing")


def test_claim_takes_the_oldest_approved_and_leases_it(engine):
    clock = FakeClock()
    store = Store(engine, clock=clock)
    assert store.claim_next_approved(worker_id="w", lease_seconds=30) is None
    new_action(store, status=ActionStatus.PENDING_APPROVAL)
    older = new_action(store)
    clock.advance(1)
    newer = new_action(store)
    claimed = store.claim_next_approved(worker_id="w1", lease_seconds=30)
    assert claimed.id == older.id
    assert claimed.status is ActionStatus.EXECUTING
    assert claimed.claimed_by == "w1"
    assert claimed.claim_expires_at == clock.now + timedelta(seconds=30)
    assert claimed.attempts == 1
    assert store.claim_next_approved(worker_id="w2", lease_seconds=30).id == newer.id
    assert store.claim_next_approved(worker_id="w3", lease_seconds=30) is None
    with pytest.raises(ValueError, match="lease_seconds"):
        store.claim_next_approved(worker_id="w", lease_seconds=0)


def test_expired_leases_go_back_to_approved_and_are_claimed_again(engine):
    clock = FakeClock()
    store = Store(engine, clock=clock)
    action = new_action(store)
    store.claim_next_approved(worker_id="crashed", lease_seconds=60)
    clock.advance(30)
    assert store.extend_lease(action.id, worker_id="crashed", lease_seconds=60)
    assert not store.extend_lease(action.id, worker_id="someone-else", lease_seconds=60)
    clock.advance(59)
    assert store.reclaim_expired_leases() == []  # the heartbeat pushed the lease out
    clock.advance(2)
    assert store.reclaim_expired_leases() == [action.id]
    back = store.get_action(action.id)
    assert back.status is ActionStatus.APPROVED
    assert back.claimed_by is None
    again = store.claim_next_approved(worker_id="healthy", lease_seconds=60)
    assert again.id == action.id
    assert again.attempts == 2


def test_overdue_pending_approvals_expire(engine):
    clock = FakeClock()
    store = Store(engine, clock=clock)
    soon = new_action(store, status=ActionStatus.PENDING_APPROVAL)
    later = new_action(store, status=ActionStatus.PENDING_APPROVAL)
    for action, seconds in ((soon, 60), (later, 3600)):
        store.transition_status(
            action.id,
            from_statuses=["pending_approval"],
            to_status="pending_approval",
            expires_at=T0 + timedelta(seconds=seconds),
        )
    assert store.expire_overdue(now=T0 + timedelta(seconds=59)) == []
    assert store.expire_overdue(now=T0 + timedelta(seconds=61)) == [soon.id]
    expired = store.get_action(soon.id)
    assert expired.status is ActionStatus.EXPIRED
    assert expired.decided_at == T0 + timedelta(seconds=61)
    assert store.get_action(later.id).status is ActionStatus.PENDING_APPROVAL
    assert verify(engine).ok


def test_executions_are_recorded_and_finished_once(store):
    action = new_action(store)
    execution = store.record_execution(action_id=action.id, attempt=1, worker="w1")
    assert store.finish_execution(execution.id, outcome="executed", result={"keys": ["ENG-9"]})
    assert not store.finish_execution(execution.id, outcome="failed", error="late")
    [loaded] = store.list_executions(action.id)
    assert loaded.outcome == "executed"
    assert loaded.result_json == {"keys": ["ENG-9"]}
    assert loaded.finished_at is not None


def test_a_failed_transaction_leaves_neither_the_change_nor_its_audit_event(store, engine):
    from jiragate.store import audit, compare_and_set_status

    action = new_action(store)
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as session:
        assert compare_and_set_status(
            session, action.id, from_statuses=["approved"], to_status="executing"
        )
        audit.append(session, action_id=action.id, actor="w", type="action.executing")
        raise RuntimeError("boom")
    assert store.get_action(action.id).status is ActionStatus.APPROVED
    assert list_events(engine, action_id=action.id) == []

from __future__ import annotations

import io
import json
import multiprocessing
import threading
from datetime import timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from jiragate.store import Store, make_engine, redact, verify
from jiragate.store.audit import (
    GENESIS_HASH,
    append,
    canonical_json,
    compute_hash,
    export_jsonl,
    list_events,
)
from jiragate.store.models import AuditEvent, utcnow


def _append_many(store: Store, count: int, *, action_id: str | None = None) -> None:
    for i in range(count):
        store.append_audit(action_id=action_id, actor="tester", type="test.event", data={"i": i})


def _raw(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)


def _json_param(engine) -> str:
    return ":data" if engine.dialect.name == "sqlite" else "CAST(:data AS json)"


def test_events_form_a_chain_from_the_genesis_hash(store, engine):
    _append_many(store, 5)
    events = list_events(engine)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert all(compute_hash(e) == e.hash for e in events)
    report = verify(engine)
    assert report.ok
    assert (report.checked, report.head_seq, report.head_hash) == (5, 5, events[-1].hash)
    assert "OK" in str(report)


def test_an_empty_trail_verifies(engine):
    report = verify(engine)
    assert report.ok
    assert (report.checked, report.head_hash) == (0, GENESIS_HASH)


def test_an_edited_event_is_named(store, engine):
    _append_many(store, 5)
    _raw(
        engine,
        f"UPDATE audit_events SET data = {_json_param(engine)} WHERE seq = 3",
        data=json.dumps({"i": 99}),
    )
    report = verify(engine)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "edited" in report.problem
    assert report.checked == 2
    assert "BROKEN at seq 3" in str(report)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store, engine):
    _append_many(store, 5)
    [third] = [e for e in list_events(engine) if e.seq == 3]
    third.data = {"i": 99}
    forged = compute_hash(third)
    _raw(
        engine,
        f"UPDATE audit_events SET data = {_json_param(engine)}, hash = :h WHERE seq = 3",
        data=json.dumps({"i": 99}),
        h=forged,
    )
    report = verify(engine)
    assert report.first_bad_seq == 4
    assert "prev_hash" in report.problem


def test_a_deleted_event_is_named(store, engine):
    _append_many(store, 5)
    _raw(engine, "DELETE FROM audit_events WHERE seq = 3")
    report = verify(engine)
    assert report.first_bad_seq == 3
    assert "missing" in report.problem


def test_swapped_events_are_detected(store, engine):
    _append_many(store, 5)
    # Swap the positions of events 2 and 4 (their seq numbers).
    _raw(engine, "UPDATE audit_events SET seq = -2 WHERE seq = 2")
    _raw(engine, "UPDATE audit_events SET seq = 2 WHERE seq = 4")
    _raw(engine, "UPDATE audit_events SET seq = 4 WHERE seq = -2")
    report = verify(engine)
    assert report.first_bad_seq == 2


def test_swapped_contents_are_detected(store, engine):
    _append_many(store, 5)
    _raw(engine, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4")
    assert verify(engine).first_bad_seq == 4


def test_an_inserted_event_is_detected_even_with_a_valid_hash(store, engine):
    _append_many(store, 5)
    # Make room at seq 3 and insert a well-formed event linked to event 2.
    _raw(engine, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3")
    _raw(engine, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    [second] = [e for e in list_events(engine) if e.seq == 2]
    fake = AuditEvent(
        seq=3,
        at=utcnow(),
        action_id=None,
        actor="intruder",
        type="test.event",
        data={"i": -1},
        prev_hash=second.hash,
        hash="",
    )
    fake.hash = compute_hash(fake)
    with Store(engine).transaction() as session:
        session.add(fake)
    report = verify(engine)
    assert report.first_bad_seq == 4  # the original event 3, now 4, no longer links
    assert report.checked == 3


def test_removing_the_newest_events_needs_an_anchored_head(store, engine):
    _append_many(store, 5)
    head = verify(engine).head_hash
    _raw(engine, "DELETE FROM audit_events WHERE seq = 5")
    assert verify(engine).ok  # a chain alone cannot see a truncated tail...
    report = verify(engine, expect_head=head)  # ...an externally kept head can
    assert not report.ok
    assert report.first_bad_seq == 5


def test_concurrent_appends_from_threads_keep_the_chain_valid(store, engine):
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(n: int) -> None:
        try:
            start.wait()
            _append_many(store, 20, action_id=f"act_{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(engine)
    assert report.ok, report
    assert report.checked == 120
    assert [e.data["i"] for e in list_events(engine, action_id="act_3")] == list(range(20))


def _append_in_process(url: str, n: int, start, out) -> None:
    engine = make_engine(url)
    try:
        start.wait()
        _append_many(Store(engine), 15, action_id=f"proc_{n}")
        out.put(None)
    except BaseException as exc:
        out.put(exc)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_concurrent_appends_from_processes_keep_the_chain_valid(engine, db_url):
    engine.dispose()
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(3), context.Queue()
    processes = [
        context.Process(target=_append_in_process, args=(db_url, n, start, out)) for n in range(3)
    ]
    for process in processes:
        process.start()
    outcomes = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert outcomes == [None, None, None]
    report = verify(engine)
    assert report.ok, report
    assert report.checked == 45


def test_export_jsonl_writes_verifiable_lines(store, engine):
    _append_many(store, 4)
    buffer = io.StringIO()
    assert export_jsonl(engine, buffer) == 4
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    # A line carries everything needed to re-check its hash offline.
    body = {k: v for k, v in lines[2].items() if k != "hash"}
    import hashlib

    recomputed = hashlib.sha256((canonical_json(body) + body["prev_hash"]).encode()).hexdigest()
    assert recomputed == lines[2]["hash"]
    tail = io.StringIO()
    assert export_jsonl(engine, tail, since=2) == 2
    assert [json.loads(line)["seq"] for line in tail.getvalue().splitlines()] == [3, 4]
    future = io.StringIO()
    assert export_jsonl(engine, future, since=utcnow() + timedelta(days=1)) == 0


def test_list_events_filters_and_pages(store, engine):
    _append_many(store, 3, action_id="act_a")
    _append_many(store, 2, action_id="act_b")
    assert [e.seq for e in list_events(engine, action_id="act_b")] == [4, 5]
    assert [e.seq for e in list_events(engine, limit=2, after=1)] == [2, 3]
    with pytest.raises(ValueError, match="limit"):
        list_events(engine, limit=0)


def test_append_refuses_data_that_would_not_read_back_the_same(store):
    with store.transaction() as session, pytest.raises(TypeError, match="JSON-serializable"):
        append(session, action_id=None, actor="a", type="t", data={"when": utcnow()})
    with store.transaction() as session, pytest.raises(ValueError, match="actor"):
        append(session, action_id=None, actor="", type="t", data={})


def test_redact_masks_secret_looking_keys_at_any_depth():
    data = {
        "apiKey": "cq_live_123",
        "headers": {"Authorization": "Bearer x", "accept": "json"},
        "jira": [{"api_token": "t", "user": "bot"}],
        "password": "p",
        "client_secret": "s",
        "connectionKey": "k",
        "issueKeys": ["ENG-1"],
        "summary": "token budget",
    }
    masked = redact(data)
    assert masked["apiKey"] == masked["password"] == masked["client_secret"] == "***redacted***"
    assert masked["connectionKey"] == "***redacted***"
    assert masked["headers"] == {"Authorization": "***redacted***", "accept": "json"}
    assert masked["jira"] == [{"api_token": "***redacted***", "user": "bot"}]
    assert masked["issueKeys"] == ["ENG-1"]  # an issue key is not a secret
    assert masked["summary"] == "token budget"  # values are not inspected, only keys
    assert data["password"] == "p"  # the input is not modified

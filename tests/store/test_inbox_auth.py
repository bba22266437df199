"""Inbox sessions and sign-in throttling in the store, on SQLite and PostgreSQL, with a clock
the test moves by hand."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from jiragate.store import AuditNote
from jiragate.store.audit import list_events
from jiragate.store.inbox_auth import (
    Attempt,
    InboxAuthStore,
    SessionLimits,
    Throttled,
    ThrottleRule,
)
from tests.store.helpers_store import FakeClock

LIMITS = SessionLimits(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
RULE = ThrottleRule(max_failures=5, window=timedelta(minutes=15))
KEYS = ["account:lead-alice", "client:203.0.113.9"]


def note(throttled: Throttled) -> AuditNote:
    return AuditNote(
        actor="anonymous",
        type="inbox.signin_throttled",
        data={"keys": list(throttled.keys), "retry_after": throttled.retry_after},
    )


def auth_store(engine: Engine) -> tuple[InboxAuthStore, FakeClock]:
    clock = FakeClock()
    return InboxAuthStore(engine, clock=clock), clock


# --------------------------------------------------------------------------- sessions


def test_a_closed_session_is_gone_and_only_its_hash_is_stored(engine):
    auth, _ = auth_store(engine)
    session_id = auth.open_session("lead-alice", LIMITS)
    assert auth.session_reviewer(session_id, LIMITS) == "lead-alice"
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT id_hash FROM inbox_sessions")).scalars().all()
    assert len(stored) == 1 and session_id not in stored[0]
    assert auth.close_session(session_id) is True
    assert auth.session_reviewer(session_id, LIMITS) is None
    assert auth.close_session(session_id) is False  # twice: nothing left to close


def test_idle_sessions_end_and_use_keeps_them_alive(engine):
    auth, clock = auth_store(engine)
    session_id = auth.open_session("lead-alice", LIMITS)
    for _ in range(5):  # used every 20 minutes: never idle for 30
        clock.advance(20 * 60)
        assert auth.session_reviewer(session_id, LIMITS) == "lead-alice"
    clock.advance(30 * 60)
    assert auth.session_reviewer(session_id, LIMITS) is None
    clock.advance(-30 * 60)  # gone for good: the expired row was deleted
    assert auth.session_reviewer(session_id, LIMITS) is None


def test_a_busy_session_still_ends_at_its_lifetime(engine):
    auth, clock = auth_store(engine)
    session_id = auth.open_session("lead-alice", LIMITS)
    for _ in range(12 * 3 - 1):
        clock.advance(20 * 60)
        assert auth.session_reviewer(session_id, LIMITS) == "lead-alice"
    clock.advance(20 * 60)  # 12 hours after sign-in
    assert auth.session_reviewer(session_id, LIMITS) is None


def test_signing_in_again_replaces_the_old_session_and_purges_dead_ones(engine):
    auth, clock = auth_store(engine)
    old = auth.open_session("lead-alice", LIMITS)
    abandoned = auth.open_session("lead-bob", LIMITS)
    clock.advance(31 * 60)
    new = auth.open_session("lead-alice", LIMITS, replacing=old)
    assert new != old
    assert auth.session_reviewer(old, LIMITS) is None
    assert auth.session_reviewer(new, LIMITS) == "lead-alice"
    assert auth.live_sessions("lead-bob") == 0  # idle past the timeout: purged
    assert auth.session_reviewer(abandoned, LIMITS) is None


def test_opening_and_closing_are_audited_with_the_change(engine):
    auth, _ = auth_store(engine)
    session_id = auth.open_session(
        "lead-alice", LIMITS, audit_note=AuditNote("lead-alice", "inbox.signin")
    )
    closing = AuditNote("lead-alice", "inbox.signout")
    assert auth.close_session(session_id, audit_note=closing)
    assert not auth.close_session(session_id, audit_note=closing)
    types = [e.type for e in list_events(engine, limit=100)]
    assert types == ["inbox.signin", "inbox.signout"]
    assert all(session_id not in str(e.data) for e in list_events(engine, limit=100))


# --------------------------------------------------------------------------- throttling


def test_the_limit_refuses_until_the_oldest_failure_ages_out(engine):
    auth, clock = auth_store(engine)
    for _ in range(5):
        assert isinstance(auth.begin_attempt(KEYS, RULE, throttled_note=note), Attempt)
        clock.advance(60)
    refused = auth.begin_attempt(KEYS, RULE, throttled_note=note)
    assert isinstance(refused, Throttled)
    assert set(refused.keys) == set(KEYS)
    assert refused.retry_after == 15 * 60 - 5 * 60  # the first failure was 5 minutes ago
    clock.advance(refused.retry_after - 1)
    assert isinstance(auth.begin_attempt(KEYS, RULE, throttled_note=note), Throttled)
    clock.advance(1)
    assert isinstance(auth.begin_attempt(KEYS, RULE, throttled_note=note), Attempt)


def test_a_right_password_is_not_a_failure_and_clears_the_name_only(engine):
    auth, _ = auth_store(engine)
    for _ in range(4):
        auth.begin_attempt(KEYS, RULE, throttled_note=note)
    good = auth.begin_attempt(KEYS, RULE, throttled_note=note)
    assert isinstance(good, Attempt)
    auth.end_attempt(good, succeeded=True, forget=[KEYS[0]])
    # The name starts afresh; the address keeps its four failures (a guesser who owns one
    # account cannot reset their address's count by signing in to it).
    other_name = ["account:lead-bob", KEYS[1]]
    assert isinstance(auth.begin_attempt(other_name, RULE, throttled_note=note), Attempt)
    refused = auth.begin_attempt(other_name, RULE, throttled_note=note)
    assert isinstance(refused, Throttled) and refused.keys == (KEYS[1],)
    assert isinstance(auth.begin_attempt([KEYS[0]], RULE, throttled_note=note), Attempt)


def test_a_throttle_is_audited_once_per_key_and_window(engine):
    auth, clock = auth_store(engine)
    for _ in range(5):
        auth.begin_attempt(KEYS, RULE, throttled_note=note)
    for _ in range(30):
        assert isinstance(auth.begin_attempt(KEYS, RULE, throttled_note=note), Throttled)
    events = [e for e in list_events(engine, limit=100) if e.type == "inbox.signin_throttled"]
    assert len(events) == 1 and set(events[0].data["keys"]) == set(KEYS)
    clock.advance(15 * 60)
    for _ in range(6):
        auth.begin_attempt(KEYS, RULE, throttled_note=note)
    events = [e for e in list_events(engine, limit=100) if e.type == "inbox.signin_throttled"]
    assert len(events) == 2


def test_concurrent_guesses_get_exactly_the_allowed_number_of_checks(engine):
    auth, _ = auth_store(engine)
    outcomes: list[Attempt | Throttled] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def guess() -> None:
        start.wait()
        for _ in range(5):
            outcome = auth.begin_attempt(KEYS, RULE, throttled_note=note)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, Attempt) for o in outcomes) == RULE.max_failures
    assert sum(isinstance(o, Throttled) for o in outcomes) == 40 - RULE.max_failures


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_the_sliding_window_matches_a_simple_model(engine, steps):
    """Attempts `seconds` apart, each with a wrong or right password, against a list model."""
    rule = ThrottleRule(max_failures=3, window=timedelta(seconds=600))
    auth, clock = auth_store(engine)
    key = f"account:model-{id(steps)}-{clock.now.timestamp()}"
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM inbox_signin_attempts"))
    failures: list[float] = []  # the model: times of counted failures
    now = 0.0
    for seconds, right_password in steps:
        clock.advance(seconds)
        now += seconds
        failures = [at for at in failures if at > now - 600]
        outcome = auth.begin_attempt([key], rule, throttled_note=note)
        if len(failures) >= rule.max_failures:
            assert isinstance(outcome, Throttled)
            oldest_needed = failures[len(failures) - rule.max_failures]
            assert outcome.retry_after == max(1, math.ceil(oldest_needed + 600 - now))
            continue
        assert isinstance(outcome, Attempt)
        auth.end_attempt(outcome, succeeded=right_password, forget=[key])
        failures = [] if right_password else [*failures, now]

"""Hole 10 of the hostile-agent issue: the inbox sign-in, attacked over real HTTP.

- A session cookie copied before sign-out must approve nothing after it (sessions are
  server-side; sign-out deletes them), and sessions end when idle or too old.
- Fast password guessing is throttled per reviewer name and per client address (429 with
  Retry-After, audited), the right password included while a name is throttled, and unknown
  names are throttled exactly like real ones.
- Sign-in takes as long for a name that does not exist as for one that does.
- Replicas share sessions and counters: sign-out on one ends the session on the other, and
  guesses spread over replicas add up.

Each test speaks from its own loopback address (127.0.0.x), so per-address counts of one
test never reach another's.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.store.audit import list_events
from jiragate.store.models import utcnow
from tests.api.support import DB_KINDS, database_url
from tests.conftest_db import postgres_admin  # noqa: F401
from tests.helpers.service import Service, running_service
from tests.scale.cluster import cluster
from tests.scale.conftest import sandbox  # noqa: F401
from tests.web.helpers import (
    PASSWORDS,
    SESSION_SECRET,
    Browserless,
    csrf_of,
    password_hash,
    reviewer_accounts,
    submit,
    text_of,
)

# Reviewers only this module signs in as (they belong to no review group: sign-in is all).
EXTRA = {
    "throttle-target": "throttle-target-password-1",
    "throttle-twin": "throttle-twin-password-22",
    "timing-known": "timing-known-password-333",
}
EXTRA_KEYS = {name: f"reviewer-key-{name}-{i:04d}" for i, name in enumerate(EXTRA)}


def accounts() -> list[dict[str, Any]]:
    extra = [
        {"name": name, "api_key": EXTRA_KEYS[name], "password_hash": password_hash(password)}
        for name, password in EXTRA.items()
    ]
    return reviewer_accounts() + extra


def overrides(**more: Any) -> dict[str, Any]:
    return {"reviewers": accounts(), "session_secret": SESSION_SECRET, **more}


class ShiftedClock:
    """The real clock plus an offset the test moves forward (no waiting for time to pass)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture(scope="module", params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest, db_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("signin")
    with (
        database_url(request, db_kind, directory) as url,
        running_service(url, **overrides()) as running,
    ):
        yield running


@pytest.fixture
def fresh_service(
    request: pytest.FixtureRequest, db_kind: str, tmp_path: Path
) -> Iterator[Callable[..., Service]]:
    """A service of its own, with the given settings: `fresh_service(**settings)`."""
    with ExitStack() as stack:

        def start(**settings: Any) -> Service:
            url = stack.enter_context(database_url(request, db_kind, tmp_path))
            return stack.enter_context(running_service(url, **overrides(**settings)))

        yield start


def events(service: Service, type: str, **data: Any) -> list[Any]:
    return [
        e
        for e in list_events(service.gateway._store.engine, limit=1000)
        if e.type == type and all(e.data.get(k) == v for k, v in data.items())
    ]


def transition(summary: str) -> dict[str, Any]:
    return {
        "action": "jira_transition_issues",
        "summary": summary,
        "details": {"issueKeys": ["ENG-6"], "targetStatus": "Done"},
        "justification": "The fix shipped",
    }


# --------------------------------------------------------------------------- sessions


def test_a_cookie_copied_before_sign_out_approves_nothing_after_it(service: Service):
    alice = Browserless(service, address="127.0.0.11")
    stolen: httpx.Client | None = None
    try:
        assert alice.signin("lead-alice").status_code == 303
        action_id = submit(service, transition(f"Stolen cookie {uuid.uuid4().hex[:8]}"))
        page = alice.get(f"/inbox/actions/{action_id}")
        assert page.status_code == 200
        token = csrf_of(page.text)
        # Someone copies the cookie (a shared machine, a proxy log, malware) ...
        stolen = httpx.Client(
            base_url=service.url, cookies=dict(alice.http.cookies), follow_redirects=False
        )
        assert stolen.get("/inbox/").status_code == 200  # ... and it works, while it lives.

        signed_out = alice.http.post("/inbox/signout", data={"csrf_token": token})
        assert signed_out.status_code == 303

        for intent in ("approve", "reject"):
            replay = stolen.post(
                f"/inbox/actions/{action_id}",
                data={"csrf_token": token, "intent": intent, "note": "replayed"},
            )
            assert replay.status_code == 303
            assert replay.headers["location"].startswith("/inbox/signin")
        assert stolen.get("/inbox/").status_code == 303
        assert stolen.get(f"/inbox/actions/{action_id}").status_code == 303
        assert stolen.get("/inbox/queue.json").status_code == 401
        assert stolen.post("/inbox/signout", data={"csrf_token": token}).status_code == 403

        assert service.agent_view(action_id)["status"] == "pending_approval"
        assert service.gateway._inbox.votes(action_id) == []
        decided = [e.type for e in list_events(service.gateway._store.engine, action_id=action_id)]
        assert not [t for t in decided if t.startswith("approval.") and t != "approval.opened"]
        assert events(service, "inbox.signout", reviewer="lead-alice")
    finally:
        alice.close()
        if stolen is not None:
            stolen.close()


def test_signing_in_again_ends_the_session_it_replaces(service: Service):
    """A link from another site (SameSite=Strict withholds the session cookie) shows the
    sign-in page; signing in there opens a new session and ends the old one."""
    browser = Browserless(service, address="127.0.0.13")
    try:
        assert browser.signin("lead-alice").status_code == 303
        first = browser.http.cookies["jiragate_inbox"]
        with httpx.Client(base_url=service.url) as cross_site:  # no session cookie sent
            form = cross_site.get("/inbox/signin")
            visitor = form.cookies["jiragate_inbox_signin"]
        browser.http.cookies.set("jiragate_inbox_signin", visitor, path="/inbox")
        again = browser.http.post(
            "/inbox/signin",
            data={
                "csrf_token": csrf_of(form.text),
                "name": "lead-alice",
                "password": PASSWORDS["lead-alice"],
            },
        )
        assert again.status_code == 303
        second = again.cookies["jiragate_inbox"]
        assert second != first
        for cookie, status in ((first, 303), (second, 200)):
            with httpx.Client(base_url=service.url, cookies={"jiragate_inbox": cookie}) as c:
                assert c.get("/inbox/", follow_redirects=False).status_code == status
    finally:
        browser.close()


def test_sessions_end_when_idle_and_at_their_lifetime(fresh_service: Callable[..., Service]):
    service = fresh_service(inbox_session_idle_seconds=600, inbox_session_max_seconds=1800)
    clock = ShiftedClock()
    service.gateway._store.clock = clock
    idle, busy = (Browserless(service, address="127.0.0.12") for _ in range(2))
    try:
        assert idle.signin("lead-alice").status_code == 303
        assert busy.signin("lead-bob").status_code == 303
        for _ in range(5):  # busy: a page every 5 minutes; idle: nothing
            clock.advance(300)
            assert busy.get("/inbox/").status_code == 200
            if clock.offset == timedelta(seconds=600):
                assert idle.get("/inbox/").status_code == 303  # 10 minutes unused: ended
        clock.advance(300)  # 30 minutes after sign-in, however busy
        assert busy.get("/inbox/").status_code == 303
        assert busy.get("/inbox/queue.json").status_code == 401
    finally:
        idle.close()
        busy.close()


# --------------------------------------------------------------------------- throttling


def test_forty_fast_wrong_passwords_are_throttled_and_audited(service: Service):
    name, guesser = "throttle-target", "127.0.0.21"
    browsers = [Browserless(service, address=guesser) for _ in range(8)]
    try:
        tokens = [csrf_of(b.get("/inbox/signin").text) for b in browsers]

        def guess(index: int) -> httpx.Response:
            browser = browsers[index % len(browsers)]
            return browser.http.post(
                "/inbox/signin",
                data={
                    "csrf_token": tokens[index % len(browsers)],
                    "name": name,
                    "password": f"guess-{index}",
                    "next": "/inbox/",
                },
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(guess, range(40)))
        statuses = [a.status_code for a in answers]
        # Exactly the allowed number were checked, however many raced in at once.
        assert statuses.count(401) == 5 and statuses.count(429) == 35, statuses
        for answer in answers:
            if answer.status_code == 429:
                assert 1 <= int(answer.headers["retry-after"]) <= 15 * 60
                assert "Too many failed sign-ins" in text_of(answer.text)

        # The right password is refused too while the name is throttled, from anywhere.
        elsewhere = Browserless(service, address="127.0.0.22")
        browsers.append(elsewhere)
        refused = elsewhere.signin(name, EXTRA[name])
        assert refused.status_code == 429
        assert elsewhere.get("/inbox/").status_code == 303
        # The guessing address is throttled for every name ...
        assert browsers[0].signin("lead-bob").status_code == 429
        # ... while others sign in as usual.
        bob = Browserless(service, address="127.0.0.23")
        browsers.append(bob)
        assert bob.signin("lead-bob").status_code == 303

        assert len(events(service, "inbox.signin_failed", name=name)) == 5
        throttled = events(service, "inbox.signin_throttled", name=name)
        # Audited once for the burst, not 35 times (an unauthenticated flood must not flood
        # the audit trail).
        assert len(throttled) == 1
        assert throttled[0].data["throttled"] == ["account", "client"]
        assert throttled[0].data["client"] == guesser
        assert 1 <= throttled[0].data["retry_after"] <= 15 * 60
        assert all(f"guess-{i}" not in str(e.data) for e in throttled for i in range(40))
    finally:
        for browser in browsers:
            browser.close()


def test_unknown_names_are_throttled_exactly_like_real_ones(service: Service):
    def attempts(name: str, address: str) -> list[tuple[int, str]]:
        browser = Browserless(service, address=address)
        try:
            seen = []
            for i in range(7):
                answer = browser.signin(name, f"wrong-{i}")
                page = text_of(answer.text).replace(name, "NAME")
                seen.append((answer.status_code, page))
            return seen
        finally:
            browser.close()

    real = attempts("throttle-twin", "127.0.0.31")
    unknown = attempts("no-such-reviewer", "127.0.0.32")
    assert [status for status, _ in real] == [401] * 5 + [429] * 2
    assert real == unknown  # same answers, same pages: nothing tells the names apart


def test_sign_in_takes_as_long_for_unknown_names(fresh_service: Callable[..., Service]):
    service = fresh_service(inbox_signin_max_failures=1000)
    browser = Browserless(service, address="127.0.0.41")
    try:
        token = csrf_of(browser.get("/inbox/signin").text)
        names = {
            "known": "timing-known",
            "unknown": "timing-unknown",
            "no password": "pm-dave",  # a reviewer without inbox access
        }
        timings: dict[str, list[float]] = {case: [] for case in names}
        for i in range(7):  # interleaved, so load on the machine hits every case alike
            for case, name in names.items():
                started = time.perf_counter()
                answer = browser.http.post(
                    "/inbox/signin",
                    data={"csrf_token": token, "name": name, "password": f"wrong-{i}"},
                )
                timings[case].append(time.perf_counter() - started)
                assert answer.status_code == 401
        median = {case: statistics.median(values) for case, values in timings.items()}
        for case in ("unknown", "no password"):
            ratio = median[case] / median["known"]
            assert 0.5 <= ratio <= 2.0, median
        assert median["known"] > 0.02, median  # a real argon2id check happened
    finally:
        browser.close()


# --------------------------------------------------------------------------- replicas


@pytest.mark.slow
def test_replicas_share_sessions_and_failure_counts(
    request: pytest.FixtureRequest,
    db_kind: str,
    tmp_path: Path,
    sandbox: tuple[str, SandboxState],  # noqa: F811
):
    jira_url, _ = sandbox
    with (
        database_url(request, db_kind, tmp_path) as url,
        cluster(tmp_path, url, jira_url, **overrides()) as c,
    ):
        replicas = [c.serve("a"), c.serve("b")]
        a, b = (Service(str(r.url), c, SandboxState(), jira_url) for r in replicas)
        alice_a = Browserless(a, address="127.0.0.51")
        alice_b = Browserless(b, address="127.0.0.51")
        guessers = [Browserless(s, address="127.0.0.52") for s in (a, b)]
        try:
            assert alice_a.signin("lead-alice").status_code == 303
            alice_b.http.cookies = alice_a.http.cookies  # the same browser, another replica
            page = alice_b.get("/inbox/")
            assert page.status_code == 200
            signed_out = alice_b.http.post(
                "/inbox/signout", data={"csrf_token": csrf_of(page.text)}
            )
            assert signed_out.status_code == 303
            assert alice_a.get("/inbox/").status_code == 303  # ended on replica a too

            statuses = [
                guessers[i % 2].signin("throttle-target", f"guess-{i}").status_code
                for i in range(7)
            ]
            assert statuses == [401] * 5 + [429] * 2  # counted together, wherever they land
        finally:
            for browser in (alice_a, alice_b, *guessers):
                browser.close()

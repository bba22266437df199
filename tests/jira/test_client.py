"""JiraClient and JiraConfig on httpx.MockTransport: auth, retries, recovery, secrets."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.utils
import json
import random
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from jiragate.errors import (
    JiraConfigError,
    JiraDeferredError,
    JiraHTTPError,
    JiraTransportError,
    SettingsError,
)
from jiragate.jira.client import JiraClient, parse_retry_after
from jiragate.jira.config import JiraConfig
from jiragate.jira.results import ExecutionResult
from jiragate.settings import JiraSettings, Settings

API_TOKEN = "tok-SECRET-cloud-123"
PAT = "pat-SECRET-dc-456"
NOW = 1_700_000_000.0


def cloud(**overrides: Any) -> JiraConfig:
    return JiraConfig(
        base_url="https://jira.example.test",
        email="bot@example.com",
        api_token=API_TOKEN,
        **overrides,
    )


def datacenter(**overrides: Any) -> JiraConfig:
    return JiraConfig(
        base_url="https://jira.example.test",
        flavour="datacenter",
        personal_access_token=PAT,
        **overrides,
    )


class Recorder:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next step (an exception is raised)."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handle, seen


def make_client(
    handler: Handler, config: JiraConfig | None = None, **kwargs: Any
) -> tuple[JiraClient, Recorder]:
    sleep = Recorder()
    client = JiraClient(
        config or cloud(),
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        rng=random.Random(7),
        clock=lambda: NOW,
        **kwargs,
    )
    return client, sleep


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def ok(body: Any = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def drop() -> httpx.ConnectError:
    return httpx.ConnectError("connection reset by peer")


# --------------------------------------------------------------------------- auth


def test_cloud_uses_basic_auth_with_email_and_token() -> None:
    handler, seen = scripted(ok({"key": "ENG-1"}))
    client, _ = make_client(handler)
    assert run(client.get("/rest/api/3/issue/ENG-1")) == {"key": "ENG-1"}
    expected = base64.b64encode(f"bot@example.com:{API_TOKEN}".encode()).decode()
    assert seen[0].headers["Authorization"] == f"Basic {expected}"
    assert seen[0].url.host == "jira.example.test"


def test_datacenter_uses_bearer_personal_access_token() -> None:
    handler, seen = scripted(ok({"key": "ENG-1"}))
    client, _ = make_client(handler, datacenter())
    run(client.get("/rest/api/2/issue/ENG-1"))
    assert seen[0].headers["Authorization"] == f"Bearer {PAT}"


def test_flavour_sets_the_api_prefix() -> None:
    assert cloud().api_prefix == "/rest/api/3"
    assert datacenter().api_prefix == "/rest/api/2"
    assert cloud().agile_prefix == datacenter().agile_prefix == "/rest/agile/1.0"


# --------------------------------------------------------------------------- Retry-After


def test_429_waits_the_retry_after_seconds_then_succeeds() -> None:
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"errorMessages": ["slow"]}),
        ok({"ok": True}),
    )
    client, sleep = make_client(handler)
    assert run(client.get("/rest/api/3/field")) == {"ok": True}
    assert sleep.waits == [7.0]
    assert len(seen) == 2
    assert client.stats.as_dict() == {"calls": 2, "retries": 1, "errors": 1, "recoveries": 0}


def test_429_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(NOW + 42, usegmt=True)
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": when}), ok([]))
    client, sleep = make_client(handler)
    run(client.get("/rest/api/3/field"))
    assert sleep.waits == [42.0]


def test_a_past_http_date_means_no_wait() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 10, usegmt=True), now=NOW) == 0.0
    assert parse_retry_after("not a date", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None


def test_429_without_retry_after_uses_x_ratelimit_reset() -> None:
    handler, _ = scripted(
        httpx.Response(429, headers={"X-RateLimit-Reset": "2023-11-14T22:13:40Z"}), ok([])
    )
    client, sleep = make_client(handler)
    run(client.get("/rest/api/3/field"))
    assert sleep.waits == [pytest.approx(20.0)]  # NOW is 2023-11-14T22:13:20Z


def test_429_is_retried_even_for_a_post() -> None:
    # A 429 means Jira refused the call before doing anything, so a resend cannot duplicate.
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "1"}), ok({"key": "ENG-9"}, 201)
    )
    client, sleep = make_client(handler)
    assert run(client.post("/rest/api/3/issue", {"fields": {}})) == {"key": "ENG-9"}
    assert [r.method for r in seen] == ["POST", "POST"]
    assert sleep.waits == [1.0]


def test_503_retry_after_is_honoured_for_idempotent_calls() -> None:
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": "3"}), ok(None, 204))
    client, sleep = make_client(handler)
    assert run(client.put("/rest/api/3/issue/ENG-1", {"fields": {"summary": "x"}})) is None
    assert sleep.waits == [3.0]


def test_a_429_storm_gives_up_after_max_retries_with_the_last_error() -> None:
    storm = [httpx.Response(429, headers={"Retry-After": "2"}) for _ in range(4)]
    handler, seen = scripted(*storm)
    client, sleep = make_client(handler, cloud(max_retries=3))
    with pytest.raises(JiraHTTPError) as caught:
        run(client.get("/rest/api/3/field"))
    assert caught.value.status == 429
    assert len(seen) == 4
    assert sleep.waits == [2.0, 2.0, 2.0]


# --------------------------------------------------------------------------- backoff


def test_backoff_grows_exponentially_and_is_capped() -> None:
    failures = [httpx.Response(500, json={"errorMessages": ["boom"]}) for _ in range(7)]
    handler, seen = scripted(*failures)
    config = cloud(max_retries=6, backoff_base=1.0, backoff_cap=5.0)
    client, sleep = make_client(handler, config)
    with pytest.raises(JiraHTTPError) as caught:
        run(client.get("/rest/api/3/issue/ENG-1"))
    assert caught.value.status == 500
    assert caught.value.error_messages == ["boom"]
    assert len(seen) == 7
    assert len(sleep.waits) == 6
    ceilings = [min(5.0, 1.0 * 2**n) for n in range(6)]
    for wait, ceiling in zip(sleep.waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling  # equal jitter inside the capped ceiling
    assert max(sleep.waits) <= 5.0


def test_get_is_retried_after_a_dropped_connection() -> None:
    handler, seen = scripted(drop(), httpx.ReadTimeout("slow"), ok({"key": "ENG-1"}))
    client, sleep = make_client(handler)
    assert run(client.get("/rest/api/3/issue/ENG-1")) == {"key": "ENG-1"}
    assert len(seen) == 3
    assert len(sleep.waits) == 2


def test_exhausted_connection_retries_raise_a_transport_error() -> None:
    handler, seen = scripted(*(drop() for _ in range(3)))
    client, _ = make_client(handler, cloud(max_retries=2))
    with pytest.raises(JiraTransportError, match="no answer from Jira to DELETE"):
        run(client.delete("/rest/api/3/issue/ENG-1"))
    assert len(seen) == 3
    assert client.stats.errors == 3


# --------------------------------------------------------------------------- no blind POST retry


def test_a_post_is_never_resent_after_a_dropped_connection_without_recover() -> None:
    handler, seen = scripted(drop(), ok({"key": "ENG-2"}, 201))
    client, sleep = make_client(handler)
    with pytest.raises(JiraTransportError):
        run(client.post("/rest/api/3/issue", {"fields": {}}))
    assert len(seen) == 1
    assert sleep.waits == []


def test_a_post_is_never_resent_after_a_500_without_recover() -> None:
    handler, seen = scripted(httpx.Response(500), ok({"key": "ENG-2"}, 201))
    client, _ = make_client(handler)
    with pytest.raises(JiraHTTPError) as caught:
        run(client.post("/rest/api/3/issue/ENG-1/comment", {"body": "x"}))
    assert caught.value.status == 500
    assert len(seen) == 1


def test_recover_finding_the_lost_post_returns_its_answer_without_resending() -> None:
    handler, seen = scripted(drop())
    client, _ = make_client(handler)
    checks: list[int] = []

    async def recover() -> dict[str, Any] | None:
        checks.append(1)
        return {"key": "ENG-77"}

    answer = run(client.post("/rest/api/3/issue", {"fields": {}}, recover=recover))
    assert answer == {"key": "ENG-77"}
    assert len(seen) == 1
    assert checks == [1]
    assert client.stats.recoveries == 1


def test_recover_not_finding_the_post_resends_it() -> None:
    handler, seen = scripted(drop(), ok({"key": "ENG-3"}, 201))
    client, sleep = make_client(handler)

    async def recover() -> None:
        return None

    answer = run(client.post("/rest/api/3/issue", {"fields": {}}, recover=recover))
    assert answer == {"key": "ENG-3"}
    assert [r.method for r in seen] == ["POST", "POST"]
    assert len(sleep.waits) == 1


def test_a_post_marked_idempotent_is_retried_on_500() -> None:
    handler, seen = scripted(httpx.Response(502), ok(None, 204))
    client, _ = make_client(handler)
    run(client.post("/rest/agile/1.0/sprint/1/issue", {"issues": ["ENG-1"]}, idempotent=True))
    assert len(seen) == 2


# --------------------------------------------------------------------------- errors and hooks


def test_jira_error_bodies_become_jira_http_errors() -> None:
    body = {"errorMessages": ["Issue does not exist"], "errors": {"summary": "required"}}
    handler, _ = scripted(httpx.Response(404, json=body))
    client, _ = make_client(handler)
    with pytest.raises(JiraHTTPError) as caught:
        run(client.get("/rest/api/3/issue/ENG-999"))
    error = caught.value
    assert (error.status, error.method, error.path) == (404, "GET", "/rest/api/3/issue/ENG-999")
    assert error.error_messages == ["Issue does not exist"]
    assert error.errors == {"summary": "required"}
    assert "Issue does not exist" in str(error)


def test_a_non_json_error_body_is_kept_as_one_message() -> None:
    handler, _ = scripted(httpx.Response(400, text="<html>bad gateway page</html>"))
    client, _ = make_client(handler)
    with pytest.raises(JiraHTTPError) as caught:
        run(client.get("/rest/api/3/field"))
    assert caught.value.error_messages == ["<html>bad gateway page</html>"]


def test_on_request_sees_every_attempt_with_query_and_body() -> None:
    captured: list[tuple[str, str, Any, Any]] = []
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "0"}), ok({"issues": []}))
    client, _ = make_client(handler, on_request=lambda *call: captured.append(call))
    run(client.get("/rest/api/3/search/jql", query={"jql": "a", "fields": ["x", "y"], "n": None}))
    assert (
        captured
        == [
            ("GET", "/rest/api/3/search/jql", {"jql": "a", "fields": "x,y"}, None),
        ]
        * 2
    )


def test_json_bodies_are_sent_as_json() -> None:
    handler, seen = scripted(ok({"id": "1"}, 201))
    client, _ = make_client(handler)
    run(client.post("/rest/api/3/version", {"name": "2.0", "projectId": 10000}))
    assert json.loads(seen[0].content) == {"name": "2.0", "projectId": 10000}
    assert seen[0].headers["Content-Type"] == "application/json"


# --------------------------------------------------------------------------- secrets and config


def test_secrets_never_appear_in_repr_or_errors() -> None:
    for config in (cloud(), datacenter()):
        assert API_TOKEN not in repr(config) and PAT not in repr(config)
        assert API_TOKEN not in str(config) and PAT not in str(config)
    assert "api_token=<set>" in repr(cloud())
    handler, _ = scripted(drop(), httpx.Response(401, json={"errorMessages": ["Unauthorized"]}))
    client, _ = make_client(handler, cloud(max_retries=0))
    with pytest.raises(JiraTransportError) as transport:
        run(client.get("/rest/api/3/myself"))
    with pytest.raises(JiraHTTPError) as http:
        run(client.get("/rest/api/3/myself"))
    for text in (str(transport.value), str(http.value), repr(client), str(http.value.as_dict())):
        assert API_TOKEN not in text
        assert base64.b64encode(f"bot@example.com:{API_TOKEN}".encode()).decode() not in text


# Every JiraConfig knob a user may set, as a JIRAGATE_JIRA__* value and what the config holds.
EVERY_KNOB: dict[str, tuple[str, object]] = {
    "url": ("https://acme.atlassian.net/", "https://acme.atlassian.net/"),
    "flavour": ("cloud", "cloud"),
    "email": ("bot@acme.com", "bot@acme.com"),
    "api_token": (API_TOKEN, API_TOKEN),
    "personal_access_token": (PAT, PAT),
    "story_points_field": ("customfield_10016", "customfield_10016"),
    "story_points_fields": ('{"OPS": "customfield_10026"}', {"OPS": "customfield_10026"}),
    "metadata_ttl": ("120", 120.0),
    "board_id": ("7", 7),
    "epic_link_field": ("customfield_10014", "customfield_10014"),
    "timeout": ("12.5", 12.5),
    "max_retries": ("2", 2),
    "backoff_base": ("0.1", 0.1),
    "backoff_cap": ("3", 3.0),
    "max_retry_wait": ("9", 9.0),
    "marker_label_prefix": ("gate-", "gate-"),
    "marker_secret": ("marker-secret-for-tests-0001", "marker-secret-for-tests-0001"),
    "max_attachment_bytes": ("2048", 2048),
}


def test_every_jira_config_knob_is_a_setting() -> None:
    """The settings are the one way to configure the adapter: nothing JiraConfig takes is
    out of their reach (base_url is the settings' `url`)."""
    knobs = {f.name for f in dataclasses.fields(JiraConfig)} - {"base_url"} | {"url"}
    assert knobs <= set(JiraSettings.model_fields)
    assert knobs == set(EVERY_KNOB)
    assert not hasattr(JiraConfig, "from_env")


def test_the_environment_reaches_every_jira_knob(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (raw, _) in EVERY_KNOB.items():
        monkeypatch.setenv(f"JIRAGATE_JIRA__{name.upper()}", raw)
    config = Settings.from_file(None).jira.to_config()
    for name, (_, expected) in EVERY_KNOB.items():
        assert getattr(config, "base_url" if name == "url" else name) == expected, name
    assert config.base == "https://acme.atlassian.net"


@pytest.mark.parametrize("spelling", ["dc", "DC", "server", "data-center", "datacenter"])
def test_data_center_is_accepted_by_its_usual_names(spelling: str) -> None:
    settings = Settings.from_file(None, jira={"flavour": spelling, "personal_access_token": PAT})
    assert settings.jira.to_config().flavour == "datacenter"


@pytest.mark.parametrize("name", ["JIRAGATE_JIRA_URL", "JIRAGATE_JIRA_API_TOKEN"])
def test_a_single_underscore_variable_is_refused_not_ignored(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The old docs' spelling (`JIRAGATE_JIRA_URL`) used to be ignored in silence: the service
    then ran against the default Jira. It is refused, naming the spelling that is read."""
    monkeypatch.setenv(name, "https://acme.atlassian.net")
    expected = name.replace("JIRAGATE_JIRA_", "JIRAGATE_JIRA__")
    with pytest.raises(SettingsError, match=f"{name} -> {expected}"):
        Settings.from_file(None)


def test_a_mistyped_jira_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"jira\.max_retry"):
        Settings.from_file(None, jira={"max_retry": 2})


@pytest.mark.parametrize(
    ("jira", "named"),
    [
        ({"flavour": "server-ish"}, "jira.flavour"),
        ({"board_id": "seven"}, "jira.board_id"),
        ({"email": "bot@acme.com"}, "email and api_token"),
        ({"flavour": "dc"}, "personal_access_token"),
        ({"url": "ftp://x.test", "email": "e", "api_token": "t"}, "url must be an http"),
        ({"backoff_base": 5, "backoff_cap": 1, "email": "e", "api_token": "t"}, "backoff"),
        ({"marker_label_prefix": "has space", "email": "e", "api_token": "t"}, "marker_label"),
    ],
)
def test_config_errors_name_what_is_wrong(jira: dict[str, Any], named: str) -> None:
    with pytest.raises((SettingsError, JiraConfigError), match=re.escape(named)):
        Settings.from_file(None, jira=jira).jira.to_config()


def test_a_transport_error_declares_what_was_done() -> None:
    """`result` is part of the class, not attached on the way out: None from a single call,
    the partial execution when the adapter sets it."""
    assert JiraTransportError("dropped").result is None
    partial = ExecutionResult(action="jira_create_tickets")
    deferred = JiraDeferredError("wait", retry_after=90.0, result=partial)
    assert deferred.result is partial
    assert deferred.retry_after == 90.0


def test_config_refuses_credentials_in_the_url_and_bad_field_ids() -> None:
    with pytest.raises(JiraConfigError, match="must not carry credentials"):
        JiraConfig(base_url="https://bot:pw@x.test", email="e", api_token="t")
    with pytest.raises(JiraConfigError, match="story_points_field"):
        cloud(story_points_field="Story Points")
    with pytest.raises(JiraConfigError, match="backoff"):
        cloud(backoff_base=10, backoff_cap=1)


def test_a_failing_recovery_check_is_an_unknown_outcome_not_a_refusal() -> None:
    handler, seen = scripted(drop())
    client, _ = make_client(handler)

    async def recover() -> None:
        raise JiraHTTPError(400, method="GET", path="/rest/api/3/search/jql")

    with pytest.raises(JiraTransportError, match="checking whether it took effect failed"):
        run(client.post("/rest/api/3/issue", {"fields": {}}, recover=recover))
    assert len(seen) == 1

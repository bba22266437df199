"""Jira Cloud's attachment downloads through the proxy (docs/proxy.md, "Attachments by id"):
`/attachment/content/{id}` answers `303` with a `Location` on Atlassian's media store (the
sandbox's cloud profile emulates it on another origin, jira/sandbox/media.py). The proxy
passes that `Location` unchanged, rewrites one on Jira's own site to its own, and never
follows a redirect itself: the service account's credential never reaches the media store,
and the agent's key never reaches Jira.

Over real HTTP: a Jiragate (uvicorn) in front of the sandbox (uvicorn), wrapped in a recorder
that sees every request the sandbox and its media store get, with their headers; on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.proxy.answers import relocated
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, Service, running_service
from tests.proxy.test_attachment_scope import ENG_BYTES, OPS_BYTES, POLICY, upload
from tests.proxy.test_read_rows import client

SERVICE_CREDENTIAL = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass(frozen=True)
class Seen:
    host: str
    path: str
    authorization: str | None


class Recorder:
    """The sandbox's ASGI app, recording each request's Host, path and Authorization; a path
    in `redirects`, sent without a query, is answered `302` to that `Location` instead (Jira
    redirecting within itself)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self.redirects: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {
                bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
                for k, v in scope["headers"]
            }
            self.seen.append(
                Seen(headers.get("host", ""), scope["path"], headers.get("authorization"))
            )
            location = None if scope["query_string"] else self.redirects.get(scope["path"])
            if location is not None:
                start = {"type": "http.response.start", "status": 302}
                start["headers"] = [(b"location", location.encode()), (b"content-length", b"0")]
                await send(start)
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


@dataclass
class Cloud:
    service: Service
    recorder: Recorder
    eng: str
    ops: str
    png: str

    @property
    def media_host(self) -> str:
        return "localhost:" + str(urlsplit(self.service.sandbox_url).port)

    def media_hits(self) -> list[Seen]:
        return [s for s in self.recorder.seen if s.path.startswith("/_media/")]


@pytest.fixture
def cloud(db_url: str, tmp_path: Path) -> Iterator[Cloud]:  # noqa: F811
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rules.yaml").write_text(POLICY, encoding="utf-8")
    recorders: list[Recorder] = []

    def wrap(app: Any) -> Recorder:
        recorders.append(Recorder(app))
        return recorders[-1]

    with running_service(
        db_url,
        sandbox_state=SandboxState(profile="cloud"),
        policy_dir=str(policies),
        proxy_wait_seconds=0.2,
        sandbox_wrapper=wrap,
    ) as service:
        eng = upload(service, "ENG-3", "build.log", ENG_BYTES)
        ops = upload(service, "OPS-1", "incident.txt", OPS_BYTES)
        with httpx.Client(base_url=service.sandbox_url, timeout=30) as direct:
            answer = direct.post(
                "/rest/api/3/issue/ENG-3/attachments",
                files={"file": ("graph.png", PNG, "image/png")},
                auth=(JIRA_EMAIL, JIRA_TOKEN),
                headers={"X-Atlassian-Token": "no-check"},
            )
        png = str(answer.json()[0]["id"])
        recorders[0].seen.clear()  # the uploads were ours, straight to Jira
        yield Cloud(service, recorders[0], eng, ops, png)


def assert_credentials_kept_apart(cloud: Cloud) -> None:
    """Jira got only the service account's credential, never an agent's key; the media
    store never got the service account's credential."""
    agent_keys = list(KEYS.values())
    for seen in cloud.recorder.seen:
        assert not any(key in (seen.authorization or "") for key in agent_keys), seen
        if seen.path.startswith("/_media/"):
            assert seen.authorization != SERVICE_CREDENTIAL, seen
            assert JIRA_TOKEN not in (seen.authorization or ""), seen
        else:
            assert seen.authorization == SERVICE_CREDENTIAL, seen


def test_a_cloud_download_is_a_redirect_to_the_media_store_that_serves_the_bytes(
    cloud: Cloud,
) -> None:
    service = cloud.service
    with client(service) as jira:
        issue = jira.get("/rest/api/3/issue/ENG-3", params={"fields": "attachment"})
        assert issue.status_code == 200, issue.text
        link = next(
            a["content"] for a in issue.json()["fields"]["attachment"] if a["id"] == cloud.eng
        )
        assert link.startswith(service.url)  # relinked to Jiragate
        answer = jira.get(link)  # httpx does not follow by default: the redirect itself
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    media = f"http://{cloud.media_host}/_media/file/{cloud.eng}/binary?token="
    assert location.startswith(media), location  # Jira's Location, unchanged
    assert "set-cookie" not in answer.headers
    # Jiragate did not follow it: the media store has seen nobody yet.
    assert cloud.media_hits() == []
    with httpx.Client(timeout=30) as anyone:  # the signed URL needs no credential
        followed = anyone.get(location)
    assert followed.status_code == 200, followed.text
    assert followed.content == ENG_BYTES
    assert [s.authorization for s in cloud.media_hits()] == [None]
    # A client that follows redirects itself gets the bytes, and its standard redirect
    # handling keeps the agent key from the other origin.
    with client(service) as jira:
        content = jira.get(f"/rest/api/3/attachment/content/{cloud.eng}", follow_redirects=True)
    assert content.status_code == 200 and content.content == ENG_BYTES
    assert [s.authorization for s in cloud.media_hits()] == [None, None]
    assert_credentials_kept_apart(cloud)
    recorded = service.agent.get("/v1/actions", params={"action": "jira_rest_read"}).json()
    scoped = [i["details"].get("projectKey") for i in recorded["items"]]
    assert scoped == ["ENG", "ENG"], scoped


def test_redirect_false_and_thumbnails(cloud: Cloud) -> None:
    service = cloud.service
    with client(service) as jira:
        assert jira.get("/rest/api/2/issue/ENG-3", params={"fields": "attachment"}).is_success
        direct = jira.get(f"/rest/api/2/attachment/content/{cloud.eng}?redirect=false")
        assert direct.status_code == 200, direct.text
        assert direct.content == ENG_BYTES and "location" not in direct.headers
        thumb = jira.get(f"/rest/api/3/attachment/thumbnail/{cloud.png}")
        assert thumb.status_code == 303, thumb.text
        assert f"/_media/file/{cloud.png}/image?token=" in thumb.headers["location"]
        image = httpx.get(thumb.headers["location"], timeout=30)
        assert image.status_code == 200 and image.content == PNG
    assert_credentials_kept_apart(cloud)


def test_no_redirect_for_an_attachment_the_agent_may_not_have(cloud: Cloud) -> None:
    service = cloud.service
    with client(service) as jira:
        guessed = jira.get(f"/rest/api/3/attachment/content/{cloud.ops}")
        assert guessed.status_code == 400, guessed.text
        assert "does not know which issue" in guessed.json()["errorMessages"][0]
        assert "location" not in guessed.headers
        assert cloud.recorder.seen == []  # nothing asked of Jira
    with client(service, "ide-assistant") as privileged:  # teaches Jiragate OPS-1's
        assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
    cloud.recorder.seen.clear()
    with client(service) as jira:
        denied = jira.get(f"/rest/api/3/attachment/content/{cloud.ops}", follow_redirects=True)
    assert denied.status_code == 400, denied.text
    assert "bot-stays-out-of-ops" in denied.json()["errorMessages"][0]
    assert "location" not in denied.headers
    paths = [s.path for s in cloud.recorder.seen]
    assert f"/rest/api/3/attachment/content/{cloud.ops}" not in paths, paths
    assert cloud.media_hits() == []
    assert_credentials_kept_apart(cloud)


def test_a_redirect_within_jira_comes_back_through_the_gate(cloud: Cloud) -> None:
    """A `Location` on Jira's own site (absolute or relative) is Jiragate's: the client
    following it asks the gate again; the upstream URL is never handed out."""
    service = cloud.service
    content = f"/rest/api/3/attachment/content/{cloud.eng}"
    cloud.recorder.redirects[content] = f"{service.sandbox_url}{content}?redirect=false"
    thumbnail = f"/rest/api/3/attachment/thumbnail/{cloud.png}"
    cloud.recorder.redirects[thumbnail] = f"{content}?redirect=false"  # relative
    with client(service) as jira:
        assert jira.get("/rest/api/3/issue/ENG-3", params={"fields": "attachment"}).is_success
        for path in (content, thumbnail):
            moved = jira.get(path)
            assert moved.status_code == 302, moved.text
            assert moved.headers["location"] == f"{service.url}{content}?redirect=false"
            assert service.sandbox_url not in str(moved.headers)
        followed = jira.get(thumbnail, follow_redirects=True)
    assert followed.status_code == 200 and followed.content == ENG_BYTES
    assert [str(r.url) for r in followed.history] == [f"{service.url}{thumbnail}"]
    recorded = service.agent.get("/v1/actions", params={"action": "jira_rest_read"}).json()
    paths = [(i["details"]["path"], i["details"]["query"]) for i in recorded["items"]]
    assert (content, {"redirect": ["false"]}) in paths  # the second hop was gated too
    assert_credentials_kept_apart(cloud)


def test_data_center_serves_the_bytes(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    from tests.clients.test_proxy_attachment_clients import upload as dc_upload
    from tests.helpers.service import running_dc_service

    with running_dc_service(db_url, policy_dir=tmp_path / "policies", policy=POLICY) as service:
        eng = dc_upload(service, "ENG-3", "build.log", ENG_BYTES, dc=True)
        with client(service) as jira:
            assert jira.get("/rest/api/2/issue/ENG-3", params={"fields": "attachment"}).is_success
            content = jira.get(f"/rest/api/2/attachment/content/{eng}")
        assert content.status_code == 200, content.text
        assert content.content == ENG_BYTES and "location" not in content.headers


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://api.media.atlassian.com/file/x/binary?token=t", "same"),
        ("//api.media.atlassian.com/file/x", "same"),
        (
            "https://jira.example.com/jira/rest/api/3/issue/1",
            "https://gate.test/rest/api/3/issue/1",
        ),
        ("/jira/rest/api/3/x?a=1#f", "https://gate.test/rest/api/3/x?a=1#f"),
        (
            "2?redirect=false",
            "https://gate.test/rest/api/3/attachment/content/2?redirect=false",
        ),
        ("HTTPS://JIRA.EXAMPLE.COM:443/jira/rest", "https://gate.test/rest"),
        ("https://jira.example.com/jira", "https://gate.test"),
        ("https://jira.example.com/login.jsp", None),  # the site's origin, outside its path
        ("https://jira.example.com/jiraX/rest", None),
        ("https://user@jira.example.com/jira/rest", None),
        ("https://jira.example.com:bad/jira", None),
        ("http://jira.example.com/jira/rest", None),  # Jira's host, another scheme
        ("https://jira.example.com:8443/jira/rest", None),  # or another port
        ("https://jira.example.com.evil.test/jira/rest", "same"),  # another host
    ],
)
def test_relocated(location: str, expected: str | None) -> None:
    moved = relocated(
        location,
        upstream="https://jira.example.com/jira/",
        sent_to="https://jira.example.com/jira/rest/api/3/attachment/content/1",
        base_url="https://gate.test",
    )
    assert moved == (location if expected == "same" else expected)

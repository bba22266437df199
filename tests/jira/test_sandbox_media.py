"""The sandbox's Jira Cloud attachment downloads (jira/sandbox/media.py), over real HTTP:
the cloud profile answers `303` to a signed, short-lived URL on another origin (the media
store), which serves the bytes with no Jira credential and nothing else; `?redirect=false`
and the datacenter profile serve the bytes. And JiraClient never follows the redirect, so
the service account's credential never reaches the media store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from jiragate.jira.client import JiraClient
from jiragate.jira.config import JiraConfig
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app

EMAIL = "svc@example.com"
TOKEN = "svc-token-not-a-secret"
PAT = "svc-pat-not-a-secret"
DATA = b"build log \x00\xff bytes"


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[str, SandboxState, str]]:
    state = SandboxState(profile=request.param, basic_auth=(EMAIL, TOKEN), bearer_token=PAT)
    with serve_app(create_sandbox_app(state)) as url:
        auth = {"auth": (EMAIL, TOKEN)} if request.param == "cloud" else {}
        headers = {"Authorization": f"Bearer {PAT}"} if request.param != "cloud" else {}
        with httpx.Client(base_url=url, timeout=10, headers=headers, **auth) as http:  # type: ignore[arg-type]
            answer = http.post(
                "/rest/api/2/issue/ENG-3/attachments",
                files={"file": ("build.log", DATA, "text/plain")},
                headers={"X-Atlassian-Token": "no-check"},
            )
            assert answer.status_code == 200, answer.text
            ident = str(answer.json()[0]["id"])
            state.request_log.clear()
            yield url, state, ident


def http(url: str, state: SandboxState) -> httpx.Client:
    if state.profile == "cloud":
        return httpx.Client(base_url=url, timeout=10, auth=(EMAIL, TOKEN))
    return httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {PAT}"})


def test_cloud_redirects_to_a_signed_url_on_another_origin(
    site: tuple[str, SandboxState, str],
) -> None:
    url, state, ident = site
    with http(url, state) as jira:
        answer = jira.get(f"/rest/api/2/attachment/content/{ident}")
        direct = jira.get(f"/rest/api/2/attachment/content/{ident}", params={"redirect": "false"})
    assert direct.status_code == 200 and direct.content == DATA
    if state.profile == "datacenter":  # Data Center has no media store, no redirect
        assert answer.status_code == 200 and answer.content == DATA
        return
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    media, jira_site = urlsplit(location), urlsplit(url)
    assert (media.hostname, jira_site.hostname) == ("localhost", "127.0.0.1")
    assert media.port == jira_site.port and media.path == f"/_media/file/{ident}/binary"
    with httpx.Client(timeout=10) as anyone:  # no credential at all
        assert anyone.get(location).content == DATA
        # The same path on the Jira site's origin is not the media store.
        assert anyone.get(location.replace("localhost", "127.0.0.1")).status_code == 404


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # Data Center has no media store
def test_the_media_store_checks_its_token(site: tuple[str, SandboxState, str]) -> None:
    url, state, ident = site
    with http(url, state) as jira:
        location = jira.get(f"/rest/api/3/attachment/content/{ident}").headers["location"]
        other = jira.post(
            "/rest/api/3/issue/OPS-1/attachments",
            files={"file": ("secret.txt", b"OPS secret", "text/plain")},
            headers={"X-Atlassian-Token": "no-check"},
        ).json()[0]["id"]
    stamp, _, mac = location.split("token=", 1)[1].split("&", 1)[0].partition(".")
    with httpx.Client(timeout=10) as anyone:
        # One file's token opens no other file, nor the other representation.
        assert anyone.get(location.replace(f"/file/{ident}/", f"/file/{other}/")).status_code == 401
        assert anyone.get(location.replace("/binary?", "/image?")).status_code == 401
        # A token is its expiry and its MAC: changing either refuses it.
        later = location.replace(f"token={stamp}.", f"token={int(stamp) + 3600}.")
        assert anyone.get(later).status_code == 401
        assert anyone.get(location.replace(mac, mac[:-2] + "AA")).status_code == 401
        assert anyone.get(location.split("?", 1)[0]).status_code == 401  # no token
        assert anyone.get(location).content == DATA
    state.media_token_seconds = 0  # expired as soon as made
    with http(url, state) as jira:
        stale = jira.get(f"/rest/api/3/attachment/content/{ident}").headers["location"]
    assert httpx.get(stale, timeout=10).status_code == 401


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # Data Center has no media store
def test_jira_client_never_follows_the_redirect(site: tuple[str, SandboxState, str]) -> None:
    """`forward` hands back Jira's 303 and its Location; the media store sees no request
    from Jiragate, so never the service account's credential."""
    url, state, ident = site
    config = JiraConfig(base_url=url, flavour="cloud", email=EMAIL, api_token=TOKEN)

    async def fetch() -> tuple[int, dict[str, str], object]:
        async with JiraClient(config) as client:
            raw = await client.forward("GET", f"/rest/api/3/attachment/content/{ident}")
            parsed = await client.get(f"/rest/api/3/attachment/content/{ident}")
        return raw.status, dict(raw.headers), parsed

    status, headers, parsed = asyncio.run(fetch())
    assert status == 303 and headers["location"].startswith("http://localhost:")
    assert parsed is None  # a JSON read of a redirect is no answer, and is not followed
    reached = [(e.path, e.auth) for e in state.logged()]
    assert reached == [(f"/rest/api/3/attachment/content/{ident}", "basic")] * 2

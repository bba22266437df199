"""AiohttpTransport (jira/transport.py) against real loopback servers: the bytes httpx built
reach the server unchanged, nothing of aiohttp's own is added, httpx decodes the answer, and
every way a server can misbehave ends in the httpx exception that tells JiraClient truly
whether the request may have been applied (docs/jira.md, "Transport")."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from jiragate.errors import JiraTransportError
from jiragate.jira import client as client_module
from jiragate.jira.client import JiraClient
from jiragate.jira.config import JiraConfig
from jiragate.jira.transport import AiohttpTransport


@dataclass
class Seen:
    """One request as the server read it off the socket."""

    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


# What a handler does with one request: the bytes to answer (None: answer nothing) and whether
# to keep the connection open for the next request. It may close or stall the socket itself.
Handler = Callable[[socket.socket, Seen], tuple[bytes | None, bool]]


def answer(
    body: bytes = b"{}", status: str = "200 OK", headers: tuple[tuple[str, str], ...] = ()
) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers]
    if not any(name.lower() == "content-type" for name, _ in headers):
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def json_ok(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    return answer(b'{"ok": true}'), True


@dataclass
class RawServer:
    """A plain-socket HTTP/1.1 server on 127.0.0.1 in a thread of its own, so whatever a test
    makes it do (drop, stall, send garbage) is really on the wire."""

    handler: Handler
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        with sock:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                line, *lines = head.split(b"\r\n")
                headers = [tuple(item.split(b": ", 1)) for item in lines]
                length = int(dict((k.lower(), v) for k, v in headers).get(b"content-length", 0))
                while len(buffer) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                seen = Seen(line.split(b" ")[1], headers, body)  # type: ignore[arg-type]
                self.requests.append(seen)
                try:
                    reply, keep = self.handler(sock, seen)
                    if reply is not None:
                        sock.sendall(reply)
                except OSError:
                    return
                if not keep:
                    return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def fetch(
    url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout = 5.0,
    **kw: Any,
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=transport or AiohttpTransport(), timeout=timeout
        ) as client:
            return await client.request(kw.pop("method", "GET"), url, **kw)

    return asyncio.run(go())


# --------------------------------------------------------------------------- bytes on the wire

ODD_PATHS = [
    "/rest/api/3/issue/ENG-1",
    "/rest/api/3/issue/a%2Fb/../x",
    "/rest/api/3/./issue/%2e%2e/ENG-1",
    "/rest/api/3/search/a%20b+c~%7E%41",
    "/rest/api/3/issue/ünïcode/€",
    "/rest/api/3//double//slash",
    "/rest/api/3/x;matrix=1,2/y@z:w",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_the_path_and_query_reach_the_server_byte_identical_to_what_httpx_built(
    serve: Callable[[Handler], RawServer], path: str
):
    server = serve(json_ok)
    params = [("jql", "project = ENG AND text ~ 'a+b c'"), ("q", "ü/?&=%"), ("q", "~%7E+")]
    built = httpx.Request("GET", server.url + path, params=params)
    fetch(server.url + path, params=params)
    fetch(server.url + path, params=params, transport=httpx.AsyncHTTPTransport())
    ours, httpxs = (seen.target for seen in server.requests)
    assert ours == built.url.raw_path == httpxs


def test_headers_are_exactly_httpx_s_multi_valued_ones_and_aiohttp_adds_none(
    serve: Callable[[Handler], RawServer],
):
    server = serve(json_ok)
    headers = [("X-Multi", "one"), ("X-Multi", "two"), ("User-Agent", "jiragate")]
    for transport in (AiohttpTransport(), httpx.AsyncHTTPTransport()):
        fetch(server.url + "/h", headers=headers, transport=transport)
        fetch(server.url + "/h", method="POST", json={"a": 1}, transport=transport)
        fetch(server.url + "/h", method="POST", transport=transport)  # empty body
    ours, theirs = server.requests[:3], server.requests[3:]
    for mine, reference in zip(ours, theirs, strict=True):
        # The same header lines, in the same order and case, as httpx's own transport sends.
        assert mine.headers == reference.headers
        assert mine.body == reference.body
    get_names = [name for name, _ in ours[0].headers]
    httpx_own = [b"Host", b"Accept", b"Accept-Encoding", b"Connection"]
    assert get_names == [*httpx_own, b"X-Multi", b"X-Multi", b"User-Agent"]
    assert (b"X-Multi", b"one") in ours[0].headers and (b"X-Multi", b"two") in ours[0].headers
    assert dict(ours[0].headers)[b"User-Agent"] == b"jiragate"  # not aiohttp's
    assert dict(ours[1].headers)[b"Content-Length"] == b"7"


def test_a_multipart_upload_is_sent_whole(serve: Callable[[Handler], RawServer]):
    server = serve(json_ok)
    files = {"file": ("notes.txt", b"x" * 100_000, "text/plain")}
    fetch(server.url + "/up", method="POST", files=files)
    seen = server.requests[0]
    assert int(dict(seen.headers)[b"Content-Length"]) == len(seen.body)
    assert b'filename="notes.txt"' in seen.body and b"x" * 100_000 in seen.body


def test_a_gzip_answer_is_decoded_by_httpx(serve: Callable[[Handler], RawServer]):
    payload = json.dumps({"key": "ENG-1", "text": "é" * 1000}).encode()
    server = serve(
        lambda sock, seen: (
            answer(gzip.compress(payload), headers=(("Content-Encoding", "gzip"),)),
            True,
        )
    )
    response = fetch(server.url + "/z")
    assert response.json() == json.loads(payload)
    assert response.headers["content-encoding"] == "gzip"
    assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"


def test_cookies_live_in_httpx_s_jar_only_and_are_sent_once(serve: Callable[[Handler], RawServer]):
    server = serve(
        lambda sock, seen: (answer(headers=(("Set-Cookie", "JSESSIONID=abc; Path=/"),)), True)
    )

    async def go() -> None:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            await client.get(server.url + "/a")
            await client.get(server.url + "/b")

    asyncio.run(go())
    second = server.requests[1].headers
    assert [value for name, value in second if name.lower() == b"cookie"] == [b"JSESSIONID=abc"]


def test_jiraclient_keeps_no_jira_session_cookie(serve: Callable[[Handler], RawServer]):
    """Every call carries our credentials; a Jira session cookie would only tie the service
    account's calls together, so JiraClient never sends one back."""
    server = serve(
        lambda sock, seen: (answer(headers=(("Set-Cookie", "JSESSIONID=abc; Path=/"),)), True)
    )

    async def twice() -> None:
        async with JiraClient(config(server.url)) as client:
            await client.get("/rest/api/3/myself")
            await client.get("/rest/api/3/myself")

    asyncio.run(twice())
    assert len(server.requests) == 2
    assert all(name.lower() != b"cookie" for seen in server.requests for name, _ in seen.headers)


def test_one_transport_serves_one_loop_after_another(serve: Callable[[Handler], RawServer]):
    server = serve(json_ok)
    transport = AiohttpTransport()
    client = httpx.AsyncClient(transport=transport)
    for _ in range(3):
        assert asyncio.run(client.get(server.url + "/loop")).json() == {"ok": True}
    asyncio.run(client.aclose())
    assert len(server.requests) == 3


def test_connections_are_kept_alive(serve: Callable[[Handler], RawServer]):
    server = serve(json_ok)

    async def go() -> None:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            for _ in range(5):
                await client.get(server.url + "/k")

    asyncio.run(go())
    assert len(server.requests) == 5 and server.connections == 1


# --------------------------------------------------------------------------- failures


def drop_at_once(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    return None, False  # read the request, close without a word


def reset(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return None, False  # an RST, not a FIN


def garbage(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    return b"SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n\r\n", False


def stall(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    time.sleep(1.5)
    return answer(), False


def truncated(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    return b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":', False


def unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (drop_at_once, httpx.RemoteProtocolError),
        (reset, (httpx.ReadError, httpx.RemoteProtocolError)),
        (garbage, httpx.RemoteProtocolError),
        (stall, httpx.ReadTimeout),
        (truncated, httpx.ReadError),
    ],
    ids=["dropped-after-request", "reset", "garbage", "stalled", "truncated-body"],
)
def test_a_failure_after_the_request_was_sent_is_never_a_never_sent_error(
    serve: Callable[[Handler], RawServer], handler: Handler, expected: Any
):
    server = serve(handler)
    with pytest.raises(expected) as caught:
        fetch(server.url + "/x", method="PUT", json={"a": 1}, timeout=0.5)
    assert not isinstance(caught.value, client_module._NEVER_SENT)
    assert caught.value.__cause__ is not None  # raised from aiohttp's error
    # Sent once: aiohttp's own silent resend of an idempotent request is off.
    assert len(server.requests) == 1


def test_a_large_upload_arrives_whole(serve: Callable[[Handler], RawServer]):
    server = serve(json_ok)
    body = bytes(range(256)) * (12 * 1024)  # 3 MiB: streamed in chunks, not one write
    assert fetch(server.url + "/upload", method="POST", content=body).status_code == 200
    (seen,) = server.requests
    assert seen.body == body
    assert (b"Content-Length", str(len(body)).encode()) in seen.headers


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_upload_jira_stops_reading_ends_in_a_timeout_not_a_hang():
    """aiohttp has no write timeout: the exchange is bounded by httpx's four added up. (The
    abandoned socket still holds the unsent part until the peer reads or closes; asyncio
    warns of it when the test's loop ends, collected here rather than in a later test.)"""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout) as caught:
            # Far more than loopback's socket buffers hold: the send blocks on a full buffer.
            fetch(
                f"http://127.0.0.1:{listener.getsockname()[1]}/upload",
                method="POST",
                content=b"x" * (64 * 1024 * 1024),
                timeout=0.25,
            )
        assert time.monotonic() - started < 10
        assert not isinstance(caught.value, client_module._NEVER_SENT)  # partly sent: unknown
    finally:
        for sock in accepted:
            sock.close()
        listener.close()
        gc.collect()


def test_a_refused_connection_is_a_connect_error():
    with pytest.raises(httpx.ConnectError) as caught:
        fetch(f"http://127.0.0.1:{unused_port()}/x")
    assert isinstance(caught.value, client_module._NEVER_SENT)


def test_a_connect_that_hangs_is_a_connect_timeout():
    """A listener whose accept queue is full drops further SYNs: the connect hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued = []
        for _ in range(8):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            queued.append(sock)
        time.sleep(0.2)
        try:
            started = time.monotonic()
            with pytest.raises(httpx.ConnectTimeout) as caught:
                fetch(f"http://127.0.0.1:{port}/x", timeout=httpx.Timeout(5.0, connect=0.3))
            assert time.monotonic() - started < 2.0
            assert isinstance(caught.value, client_module._NEVER_SENT)
        finally:
            for sock in queued:
                sock.close()


def test_no_free_connection_in_time_is_a_connect_timeout(serve: Callable[[Handler], RawServer]):
    server = serve(stall)

    async def go() -> None:
        # aiohttp bounds the pool wait and the connect together: here by 0.3 s.
        timeout = httpx.Timeout(5.0, connect=0.1, pool=0.2)
        async with httpx.AsyncClient(
            transport=AiohttpTransport(max_connections=1), timeout=timeout
        ) as client:
            slow = asyncio.create_task(client.get(server.url + "/slow"))
            await asyncio.sleep(0.1)
            with pytest.raises(httpx.ConnectTimeout) as caught:
                await client.get(server.url + "/waits")
            assert isinstance(caught.value, client_module._NEVER_SENT)
            await slow

    asyncio.run(go())
    assert [seen.target for seen in server.requests] == [b"/slow"]


def test_a_missing_host_is_an_unsupported_protocol():
    async def go() -> None:
        transport = AiohttpTransport()
        with pytest.raises(httpx.UnsupportedProtocol):
            await transport.handle_async_request(httpx.Request("GET", "http:///x"))
        await transport.aclose()

    asyncio.run(go())


def config(url: str, **overrides: Any) -> JiraConfig:
    return JiraConfig(base_url=url, email="bot@example.com", api_token="tok", **overrides)


def test_a_post_dropped_after_sending_is_an_unknown_outcome_and_never_resent(
    serve: Callable[[Handler], RawServer],
):
    server = serve(drop_at_once)

    async def go() -> None:
        async with JiraClient(config(server.url), sleep=lambda s: asyncio.sleep(0)) as jira:
            with pytest.raises(JiraTransportError) as caught:
                await jira.post("/rest/api/3/issue", {"fields": {"summary": "once"}})
            assert caught.value.outcome_unknown is True

    asyncio.run(go())
    assert len(server.requests) == 1
    assert json.loads(server.requests[0].body) == {"fields": {"summary": "once"}}


def test_a_refused_post_is_resent_by_jiraclient_as_never_sent():
    async def go() -> None:
        async with JiraClient(
            config(f"http://127.0.0.1:{unused_port()}", max_retries=2),
            sleep=lambda s: asyncio.sleep(0),
        ) as jira:
            with pytest.raises(JiraTransportError) as caught:
                await jira.post("/rest/api/3/issue", {}, recover=lambda: asyncio.sleep(0))
            assert caught.value.outcome_unknown is False
            assert jira.stats.calls == 3

    asyncio.run(go())


def test_jiraclient_uses_the_aiohttp_transport_by_default_and_sends_the_same_head(
    serve: Callable[[Handler], RawServer],
):
    server = serve(json_ok)

    async def go(transport: httpx.AsyncBaseTransport | None) -> None:
        async with JiraClient(config(server.url), transport=transport) as jira:
            if transport is None:
                assert isinstance(jira._http._transport, AiohttpTransport)
            assert await jira.get("/rest/api/3/myself") == {"ok": True}
            assert await jira.post("/rest/api/3/issue", {"a": 1}) == {"ok": True}

    asyncio.run(go(None))
    asyncio.run(go(httpx.AsyncHTTPTransport()))
    ours, httpxs = server.requests[:2], server.requests[2:]
    assert [seen.headers for seen in ours] == [seen.headers for seen in httpxs]
    assert [name for name, _ in ours[0].headers] == [
        b"Host",
        b"Accept-Encoding",
        b"Connection",
        b"Authorization",
        b"Accept",
        b"User-Agent",
    ]


# --------------------------------------------------------------------------- proxies


def proxy_answer(sock: socket.socket, seen: Seen) -> tuple[bytes | None, bool]:
    return answer(b'{"via": "proxy"}'), True


def test_http_proxy_from_the_environment_is_honoured_as_before(
    serve: Callable[[Handler], RawServer], monkeypatch: pytest.MonkeyPatch
):
    proxy = serve(proxy_answer)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("http_proxy", proxy.url)

    async def go() -> Any:
        async with JiraClient(config("http://jira.example.test")) as jira:
            return await jira.get("/rest/api/3/issue/ENG-1")

    assert asyncio.run(go()) == {"via": "proxy"}
    assert proxy.requests[0].target == b"http://jira.example.test/rest/api/3/issue/ENG-1"


def test_no_proxy_hosts_bypass_the_proxy(
    serve: Callable[[Handler], RawServer], monkeypatch: pytest.MonkeyPatch
):
    proxy, direct = serve(proxy_answer), serve(json_ok)
    for name in ("ALL_PROXY", "all_proxy", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1")

    async def go() -> Any:
        async with JiraClient(config(direct.url)) as jira:
            return await jira.get("/rest/api/3/issue/ENG-1")

    assert asyncio.run(go()) == {"ok": True}
    assert proxy.requests == [] and len(direct.requests) == 1


def test_a_socks_proxy_is_refused_when_the_client_is_built(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    monkeypatch.setenv("all_proxy", "socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="HTTP"):
        JiraClient(config("http://jira.example.test"))

"""JiraClient's default transport: httpx stays the API, aiohttp moves the bytes (docs/jira.md,
"Transport").

httpx's own transport (httpcore, anyio, h11) costs about twice the CPU per Jira call of this
one, and the Jira call is on the path of every action. Everything above the wire stays httpx:
the client, its cookies, `httpx.Response` and its content decoding, and httpx's exceptions,
mapped here by hand because JiraClient decides what a failure means for a retry:

- `ConnectTimeout`, `ConnectError`: the request never left (no connection): safe to resend.
- everything else (`ReadTimeout`, `RemoteProtocolError`, `ReadError`, `WriteError`, ...): the
  request may have reached Jira and been applied: a write's outcome is unknown.

A dropped connection after the request was sent (`aiohttp.ServerDisconnectedError`) is
therefore `RemoteProtocolError`, never a connect error, and aiohttp's own silent resend of an
idempotent request on a dropped connection is switched off: JiraClient counts and spaces its
retries itself.
"""

from __future__ import annotations

import asyncio
import functools
import io
import socket
import ssl
from typing import Final

import aiohttp
import httpx
from httpx._utils import get_environment_proxies
from multidict import CIMultiDict
from yarl import URL

# aiohttp computes these from the body it is given (the body is read whole first).
_BODY_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
# Headers aiohttp would add on its own; httpx already sent what it meant to send.
_SKIP_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over one `aiohttp.ClientSession` per event loop.

    The session is made on the first request, inside the running loop: aiohttp's objects bind
    to the loop they are made in, and the gateway builds its clients in a thread with none.
    A request from another loop (tests run several `asyncio.run`) gets a session of its own.
    """

    def __init__(
        self,
        *,
        proxy: str | None = None,
        verify: ssl.SSLContext | None = None,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
    ) -> None:
        if proxy is not None and httpx.URL(proxy).scheme not in ("http", "https"):
            raise ValueError(f"the Jira transport supports HTTP(S) proxies only, not {proxy!r}")
        self._proxy = proxy
        # httpx's own TLS defaults (certifi, SSL_CERT_FILE/SSL_CERT_DIR): verification stays
        # exactly what it was with httpx's transport.
        self._ssl = verify if verify is not None else httpx.create_ssl_context(trust_env=True)
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is loop and not self._session.closed:
            return self._session
        if self._session is not None:
            await _drop(self._session, self._loop)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=self._keepalive, ssl=self._ssl
            ),
            # httpx's client keeps the cookies; a second jar would send them twice.
            cookie_jar=aiohttp.DummyCookieJar(),
            # httpx decodes gzip/br itself, as with its own transport.
            auto_decompress=False,
            # Env proxies are resolved once, as httpx does (proxy_mounts); aiohttp's trust_env
            # would look them up in a thread per request and read ~/.netrc, whose credentials
            # clash with our Authorization header.
            trust_env=False,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
        )
        # aiohttp resends an idempotent request once when its connection drops (even a fresh
        # one); JiraClient decides about resends, and counts them. No public switch exists.
        session._retry_connection = False
        self._session, self._loop = session, loop
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = await self._session_for_loop()
        body = await request.aread()
        # `raw`: names in the case httpx sends them (multi_items() lowercases them). httpx's
        # Content-Length stays when it is the body's (the head is then byte for byte what
        # httpx's own transport sends); any other framing aiohttp computes from the body.
        encoding = request.headers.encoding
        length = str(len(body)).encode()
        headers = CIMultiDict(
            (name.decode(encoding), value.decode(encoding))
            for name, value in request.headers.raw
            if name.lower() not in _BODY_FRAMING
            or (name.lower() == b"content-length" and value == length)
        )
        timeout = request.extensions.get("timeout", {})
        try:
            async with session.request(
                request.method,
                # encoded=True: the bytes httpx built (and the proxy classified) are the bytes
                # Jira gets; yarl neither re-quotes nor normalises `..` or `%2F`.
                URL(str(request.url), encoded=True),
                headers=headers,
                data=_payload(body),
                allow_redirects=False,
                proxy=self._proxy,
                timeout=_client_timeout(
                    timeout.get("connect"),
                    timeout.get("read"),
                    timeout.get("write"),
                    timeout.get("pool"),
                ),
            ) as response:
                content = await response.read()
                status, reason = response.status, response.reason or ""
                raw_headers = response.raw_headers
                v = response.version
                version = b"HTTP/1.1" if v is None else f"HTTP/{v.major}.{v.minor}".encode()
        except Exception as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            status,
            headers=list(raw_headers),
            stream=httpx.ByteStream(content),
            request=request,
            extensions={"http_version": version, "reason_phrase": reason.encode("latin-1")},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, loop = self._session, self._loop
            self._session = self._loop = None
            await _drop(session, loop)


def _payload(body: bytes) -> bytes | io.BytesIO | None:
    """The body as aiohttp takes it: a large one (an attachment) as a stream it writes in
    chunks, as aiohttp asks (raw bytes over 1 MiB would be written in one go, and warned of)."""
    if not body:
        return None
    return io.BytesIO(body) if len(body) > aiohttp.payload.TOO_LARGE_BYTES_BODY else body


@functools.lru_cache(maxsize=64)
def _client_timeout(
    connect: float | None, read: float | None, write: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms (one object per distinct set: they are frozen).
    aiohttp's `connect` bounds the wait for a pooled connection and the connecting together,
    so it gets httpx's pool and connect timeouts added up. aiohttp has no write timeout: a
    Jira that stops reading an upload would hold the call for ever, so when httpx gives all
    four, the whole exchange is bounded by their sum (30 s each by default: two minutes,
    far past any answer that is still coming)."""
    parts = (connect, read, write, pool)
    return aiohttp.ClientTimeout(
        total=None if None in parts else sum(p for p in parts if p is not None),
        sock_connect=connect,
        sock_read=read,
        connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
    )


async def _drop(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a session, from its own loop or after that loop is gone."""
    running = asyncio.get_running_loop()
    if loop is not None and loop.is_closed() and session.connector is not None:
        _close_orphaned_sockets(session.connector)
    if loop is None or loop is running or loop.is_closed():
        # On a closed loop aiohttp only forgets its pooled connections.
        await session.close()
    elif loop.is_running():
        asyncio.run_coroutine_threadsafe(session.close(), loop)


def _close_orphaned_sockets(connector: aiohttp.BaseConnector) -> None:
    """Close the kept-alive sockets of a loop that has ended (a previous `asyncio.run`).

    Nothing can run their transports' close callbacks any more, so each socket would stay
    open until collected, and then warn "unclosed transport". No public API closes them:
    this reaches into aiohttp's pool and asyncio's selector transport, and does nothing
    where those differ (uvloop, another aiohttp)."""
    pool = getattr(connector, "_conns", None)
    if not isinstance(pool, dict):
        return
    for entries in pool.values():
        for protocol, _ in entries:
            transport = getattr(protocol, "transport", None)
            sock = getattr(transport, "_sock", None)
            if isinstance(sock, socket.socket):
                sock.close()
                transport._sock = None  # type: ignore[union-attr]


def _httpx_error(exc: Exception, request: httpx.Request) -> Exception:
    """aiohttp's failure as the httpx exception that says whether the request may have been
    sent. Most specific first: aiohttp's classes overlap (ConnectionTimeoutError is a
    ServerTimeoutError, ClientConnectorError a ClientOSError)."""
    message = f"{type(exc).__name__}: {exc}"
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout  # no connection in time: never sent
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # refused, DNS, TLS handshake, proxy unreachable: never sent
    elif isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        kind = httpx.ReadTimeout  # sent, no (whole) answer in time
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        kind = httpx.RemoteProtocolError  # dropped after sending: may have been applied
    elif isinstance(exc, aiohttp.ClientPayloadError):
        kind = httpx.ReadError  # the answer's body broke off
    elif isinstance(exc, aiohttp.ClientHttpProxyError):
        kind = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError  # an answer that is not HTTP
    elif isinstance(exc, aiohttp.ClientConnectionResetError):
        kind = httpx.WriteError  # reset while sending: part or all of it may have arrived
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = httpx.ReadError  # reset mid-exchange
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientError | OSError):
        kind = httpx.NetworkError  # anything else: the outcome is unknown
    else:
        return exc
    return kind(message, request=request)


def proxy_mounts() -> dict[str, httpx.AsyncBaseTransport | None]:
    """The environment's proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) as httpx
    mounts, read once as httpx reads them for its own transport. httpx ignores the environment
    when it is handed a transport, so JiraClient passes these along with ours: what goes
    through a proxy is exactly what did before. `None` (a NO_PROXY host) means no proxy."""
    return {
        pattern: None if url is None else AiohttpTransport(proxy=url)
        for pattern, url in get_environment_proxies().items()
    }

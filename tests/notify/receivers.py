"""Loopback stand-ins for the places notifications go: Slack's Web API and response URLs,
Teams and generic webhook URLs (one recording HTTP app), and an SMTP server (aiosmtpd).

The HTTP receiver records every request (path, headers, raw body) and answers like the real
service would: `chat.postMessage` gives a channel and a message `ts`, `chat.update` is `ok`,
anything else 200 — unless a path was told to fail (`fail(path, times, status)`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers.servers import free_port, serve_app


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    #: Paths whose requests are held unanswered until `release()` (a sender mid-send).
    held: set[str] = field(default_factory=set)

    def hold(self, path: str) -> None:
        with self.lock:
            self.held.add(path)

    def release(self) -> None:
        with self.lock:
            self.held.clear()

    def fail(self, path: str, times: int, status: int = 500) -> None:
        with self.lock:
            self.failures[path] = [status] * times

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = await request.body()
        with self.lock:
            self.requests.append(Received(path, dict(request.headers), body))
        while path in self.held:
            await asyncio.sleep(0.05)
        with self.lock:
            pending = self.failures.get(path)
            status = pending.pop(0) if pending else None
        if status is not None:
            return Response("failing on purpose", status_code=status)
        if path.endswith("/chat.postMessage"):
            sent = json.loads(body)
            count = len(self.at(path))
            return JSONResponse({"ok": True, "channel": sent["channel"], "ts": f"1700.{count:04d}"})
        if path.endswith("/chat.update"):
            sent = json.loads(body)
            return JSONResponse({"ok": True, "channel": sent["channel"], "ts": sent["ts"]})
        return Response("ok")


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    with serve_app(app) as url:
        receiver.url = url
        yield receiver


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()

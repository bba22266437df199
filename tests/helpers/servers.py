"""Serve an ASGI app with uvicorn on a free loopback port, in a background thread.

Tests talk to the app over real HTTP, as a client in production would.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn


def _ephemeral_start() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


#: Ports handed to servers come from below the kernel's ephemeral range. A port the kernel
#: picked (`bind(0)`) is one it also hands to outgoing connections: with hundreds of client
#: sockets open, one took a replica's port between `free_port()` and the child's `bind`
#: (EADDRINUSE, the replica exited). Below the range only another test's server can collide,
#: and a random pick that binds now makes that rare.
_SERVER_PORTS = range(15000, max(15001, min(_ephemeral_start(), 32768)))
_picks = random.Random()


def free_port() -> int:
    """A loopback TCP port nothing is bound to now, outside the ephemeral range."""
    for _ in range(200):
        port = _picks.choice(_SERVER_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_SERVER_PORTS}")


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main thread belongs to pytest
        return None


@contextmanager
def serve_app(app: Any, *, port: int | None = None, startup_timeout: float = 20.0) -> Iterator[str]:
    """Run `app` on 127.0.0.1 until the block exits; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"server on port {port} failed to start")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start in {startup_timeout}s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

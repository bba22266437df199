"""Run the service as N uvicorn worker processes on one port, with TCP_NODELAY working.

    python bench/serve_workers.py --port 8000 --workers 2   (settings from JIRAGATE_CONFIG)

This is `uvicorn --factory service_app:create --workers N` with one difference, found while
benchmarking: uvicorn's multi-process mode binds its socket as `socket.socket(family=...)`,
whose `proto` is 0, and asyncio only sets TCP_NODELAY on accepted connections when the
listening socket's `proto` is IPPROTO_TCP (`asyncio.base_events._set_nodelay`). Without it,
Nagle's algorithm and the client's delayed ACK hold each small response for ~40 ms. Binding
the socket here with `proto=IPPROTO_TCP` gives every worker's connections TCP_NODELAY.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--factory", default="service_app:create")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        args.factory,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()

"""Catch the service running SQL on an event loop's thread.

The store is synchronous (SQLAlchemy), so async code reaches it through one thread offload
(`asyncio.to_thread`) and the event loop never waits on the database: a SQLite busy timeout
or a PostgreSQL round trip on the loop stalls every request of the process. This guard
listens to every engine's statements; a statement sent from a thread that is running an event
loop, by the service's own code (the innermost frame outside the store and SQLAlchemy is
under service/jiragate/), is noted with where it came from. `tests/conftest.py` installs it
for the whole suite and fails the test that caused one.

Tests' own direct store calls are not the service's and are not noted, and neither is a
statement a worker thread sends (`to_thread`, FastAPI's thread pool): no loop runs there.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

_SERVICE = "/service/jiragate/"
_SKIPPED = (f"{_SERVICE}store/", "/sqlalchemy/", "/sqlmodel/", "/contextlib.py")

_lock = threading.Lock()
_found: list[str] = []


def _on_statement(*_: Any) -> None:
    if asyncio._get_running_loop() is None:  # a worker thread, or sync code: fine
        return
    stack = traceback.extract_stack()[:-1]  # not this function's own frame
    for index in range(len(stack) - 1, -1, -1):
        frame = stack[index]
        if not any(part in frame.filename for part in _SKIPPED):
            if _SERVICE in frame.filename:  # the service's frame and its callers
                with _lock:
                    _found.append(
                        "".join(traceback.format_list(stack[max(0, index - 8) : index + 2]))
                    )
            return


def install() -> None:
    """Listen to every engine, present and future (once per process)."""
    if not event.contains(sa.engine.Engine, "before_cursor_execute", _on_statement):
        event.listen(sa.engine.Engine, "before_cursor_execute", _on_statement)


def take() -> list[str]:
    """The statements noted since the last call, each as the stack that sent it."""
    with _lock:
        found = list(_found)
        _found.clear()
    return found

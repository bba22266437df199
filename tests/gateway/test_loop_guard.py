"""The guard that holds the service to one thread offload for the store notices what it
must (tests/helpers/loop_guard.py): a gateway call that reaches the database from a
coroutine is noted with where it came from; the same call through `asyncio.to_thread`, or
a test's own direct store call, is not."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jiragate.gateway import Gateway
from tests.helpers import loop_guard
from tests.helpers.service import make_settings


def test_a_store_call_on_the_loop_is_noted_and_one_in_a_thread_is_not(tmp_path: Path):
    gateway = Gateway.build(make_settings(f"sqlite:///{tmp_path / 'j.db'}", "http://127.0.0.1:9"))

    async def on_the_loop() -> None:
        gateway.get_action("act_missing")

    async def in_a_thread() -> None:
        await asyncio.to_thread(gateway.get_action, "act_missing")

    async def the_tests_own_store_call() -> None:
        gateway._store.get_action("act_missing")

    try:
        loop_guard.take()
        asyncio.run(in_a_thread())
        asyncio.run(the_tests_own_store_call())
        assert loop_guard.take() == []
        asyncio.run(on_the_loop())
        found = loop_guard.take()
        assert found and "gateway/queries.py" in found[0] and "get_action" in found[0]
    finally:
        asyncio.run(gateway.aclose())

"""database_pool_size / database_max_overflow: a process never holds more connections than
their sum, and requests beyond it wait for one instead of failing (docs/operations.md,
Sizing: the sum across processes must stay under PostgreSQL's max_connections)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from jiragate.settings import Settings
from jiragate.store.db import PoolSize, make_engine
from tests.conftest_db import database_url

pytestmark = pytest.mark.postgres


def test_a_process_holds_at_most_pool_plus_overflow_and_the_rest_wait(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: sa.Engine
):
    name = f"jiragate-pool-{uuid.uuid4().hex[:8]}"
    with database_url(request, "postgres", tmp_path) as url:
        engine = make_engine(f"{url}&application_name={name}", pool=PoolSize(1, 1))
        seen: list[int] = []
        done = threading.Event()

        def watch() -> None:
            count = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n")
            while not done.is_set():
                with postgres_admin.connect() as admin:
                    seen.append(int(admin.execute(count, {"n": name}).scalar_one()))
                time.sleep(0.02)

        def use(_: int) -> int:
            with engine.connect() as connection:
                return int(connection.execute(sa.text("SELECT 1 FROM pg_sleep(0.15)")).scalar_one())

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(pool.map(use, range(6)))
        finally:
            done.set()
            watcher.join()
            engine.dispose()
        assert answers == [1] * 6  # every one got a connection: none was refused
        assert max(seen) == 2, seen  # never more than pool (1) + overflow (1)


def test_the_settings_reach_the_engine_and_nonsense_is_refused_by_name(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}", pool=PoolSize(3, 0))
    assert isinstance(engine.pool, sa.pool.QueuePool)
    assert engine.pool.size() == 3
    assert engine.pool.overflow() == -3  # none opened yet, none allowed beyond the three
    engine.dispose()
    assert Settings(database_pool_size=7, database_max_overflow=0).database_pool_size == 7
    for field, value in (("database_pool_size", 0), ("database_max_overflow", -1)):
        with pytest.raises(ValidationError) as refused:
            Settings(**{field: value})
        assert field in str(refused.value)

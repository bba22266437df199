"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import file_order, loop_guard

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def default_policy_dir() -> Path:
    return REPO_ROOT / "policies"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        metavar="PATH",
        type=Path,
        help="write each test file's seconds to PATH (tests/durations.json orders the files)",
    )


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("--record-durations")
    if target is not None and not hasattr(config, "workerinput"):  # the controller adds up
        config.pluginmanager.register(file_order.DurationRecorder(target), "record-durations")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (tests/helpers/file_order.py), on every worker alike."""
    items[:] = file_order.longest_first(items, file_order.measured())


# Property tests explore the same examples on every run: the suite must be deterministic.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.load_profile("deterministic")


loop_guard.install()


@pytest.fixture(autouse=True)
def no_sql_on_the_event_loop() -> Iterator[None]:
    """Every test fails if the service sent SQL from an event loop's thread meanwhile
    (tests/helpers/loop_guard.py): async code reaches the store through `to_thread`."""
    loop_guard.take()  # a statement from before this test is not its own
    yield
    found = loop_guard.take()
    if found:
        pytest.fail(
            f"{len(found)} SQL statement(s) ran on the event loop; the first from:\n{found[0]}",
            pytrace=False,
        )

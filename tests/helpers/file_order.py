"""The order test files start in, longest first, so the suite's last minutes are not one
long file running alone.

pytest-xdist's `--dist loadfile` hands out whole files; by default it hands out the files with
the most tests first. Here the longest take a few, slow tests (a 3-replica cluster, a crash
and its recovery, mypy over the package): handed out last, they ran alone at the end for
minutes while the other workers sat idle. Sorting the files by how long each took when last
measured (`tests/durations.json`, longest first; a file not in it counts as its tests times
the median per test) and keeping xdist's order (`--no-loadscope-reorder` in pyproject.toml)
is the classic longest-processing-time-first schedule. Tests keep their order within a file.

Refresh the measurements after adding or reshaping slow tests:

    .venv/bin/pytest --record-durations tests/durations.json

The numbers only order the files; a stale entry costs minutes, never a test.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def measured() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(name): float(seconds) for name, seconds in data.get("files", {}).items()}


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """`items` with their files in order of expected time, longest first; a stable sort, so
    each file's tests keep their order."""
    counts = Counter(file_of(item.nodeid) for item in items)
    known = [seconds[name] / counts[name] for name in counts if seconds.get(name)]
    per_test = statistics.median(known) if known else 1.0

    def expected(name: str) -> float:
        return seconds.get(name) or counts[name] * per_test

    first_seen = {name: index for index, name in enumerate(counts)}
    return sorted(
        items, key=lambda item: (-expected(file_of(item.nodeid)), first_seen[file_of(item.nodeid)])
    )


class DurationRecorder:
    """Adds up each file's setup, call and teardown seconds, on the process that reports
    (the xdist controller), and writes them where `--record-durations` says."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        files = {name: round(total, 1) for name, total in sorted(self.seconds.items())}
        text = json.dumps({"files": files}, indent=1, sort_keys=True) + "\n"
        self.target.write_text(text, encoding="utf-8")

"""tests/helpers/file_order.py: files longest first, each file's tests in their own order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.file_order import longest_first


@dataclass
class FakeItem:
    nodeid: str


def order(nodeids: list[str], seconds: dict[str, float]) -> list[str]:
    items = [FakeItem(n) for n in nodeids]
    return [i.nodeid for i in longest_first(items, seconds)]  # type: ignore[arg-type]


def test_the_longest_file_starts_first_and_each_keeps_its_order():
    nodeids = ["a.py::t1", "a.py::t2", "a.py::t3", "slow.py::t1", "b.py::t2", "b.py::t1"]
    got = order(nodeids, {"a.py": 3.0, "slow.py": 90.0, "b.py": 10.0})
    assert got == ["slow.py::t1", "b.py::t2", "b.py::t1", "a.py::t1", "a.py::t2", "a.py::t3"]


def test_an_unmeasured_file_counts_its_tests_at_the_median_and_ties_keep_collection_order():
    # Known: 1 s and 3 s per test (median 2 s); new.py has 4 tests, so 8 s: first.
    nodeids = ["x.py::t", "new.py::a", "new.py::b", "new.py::c", "new.py::d", "y.py::t"]
    got = order(nodeids, {"x.py": 1.0, "y.py": 3.0})
    assert [n.split("::")[0] for n in got] == ["new.py"] * 4 + ["y.py", "x.py"]
    assert order(["p.py::a", "q.py::a"], {}) == ["p.py::a", "q.py::a"]


def test_record_durations_writes_each_files_seconds(tmp_path: Path):
    (tmp_path / "test_two.py").write_text(
        "import time\ndef test_a():\n    time.sleep(0.2)\ndef test_b():\n    pass\n",
        encoding="utf-8",
    )
    target = tmp_path / "durations.json"
    conftest = Path(__file__).with_name("conftest.py")
    (tmp_path / "conftest.py").write_text(conftest.read_text(encoding="utf-8"), encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
    done = subprocess.run(
        [*command, "--record-durations", str(target), "test_two.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = json.loads(target.read_text(encoding="utf-8"))["files"]
    assert list(files) == ["test_two.py"]
    assert 0.2 <= files["test_two.py"] < 30

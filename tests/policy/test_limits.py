"""Policy files cannot take the service down: sizes, aliases, expansion, depth and scalars are
bounded while the YAML is read, each violation is a file:line issue naming the limit, and the
same bounds hold for `*_test.yaml` files and the config file.

Memory and work are bounded by measurement (a child process under RLIMIT_AS, its peak RSS),
never by how long something took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from jiragate.errors import PolicyLoadError, PolicyTestLoadError, YamlLimitError
from jiragate.policy import yamlsource
from jiragate.policy.commands import EXIT_POLICY_ERROR
from jiragate.policy.engine import load_policies
from jiragate.policy.loader import PolicyLimits
from jiragate.policy.testing import load_suite
from jiragate.policy.yamlsource import YamlLimits, parse
from jiragate.settings import Settings
from tests.policy.conftest import GROUPS
from tests.policy.samples import BOMB, BOMB_LIMIT_LINE

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])

SERVICE = os.pathsep.join([str(Path(__file__).resolve().parents[2] / "service"), os.getcwd()])


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "_Loader", request.param)


def _issues(directory: Path, limits: PolicyLimits | None = None) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(directory) if limits is None else load_policies(directory, limits)
    return [str(issue) for issue in caught.value.issues]


def test_the_bomb_is_a_few_hundred_bytes():
    assert len(BOMB.encode()) == 414
    assert BOMB.count("*") == 72


@pytest.mark.usefixtures("loader")
def test_a_billion_laughs_is_refused_at_the_line_that_crosses_the_node_limit(write_policies):
    directory = write_policies(groups=GROUPS, bomb=BOMB)
    (issue,) = _issues(directory)
    assert issue.startswith(f"{directory / 'bomb.yaml'}:{BOMB_LIMIT_LINE} ")
    assert "more than 500,000 nodes once aliases are expanded" in issue


# `jiragate check` under an address-space limit; on the way out it reports its own peak RSS,
# read as VmHWM, the high-water mark of this process's own memory since its exec. (Neither
# getrusage measure will do: RUSAGE_CHILDREN in the parent holds every other child this test
# run waited for, and Linux carries the forking parent's peak into the child's RUSAGE_SELF,
# so a long pytest run's size showed up as the child's.)
CHECK_CHILD = """
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({address_space},) * 2)
from jiragate.cli import main
try:
    code = main()
finally:
    with open("/proc/self/status") as status:
        peak = re.search(r"^VmHWM:\\s+(\\d+) kB", status.read(), re.M).group(1)
    print("peak-rss-kib", peak, file=sys.stderr)
sys.exit(code)
"""


def _check_in_a_child(target: Path, address_space: int = 512 * 1024 * 1024) -> tuple[int, str]:
    """`jiragate check target` in a child process limited to `address_space` bytes; its exit
    code and output (which ends with its peak RSS)."""
    code = CHECK_CHILD.format(address_space=address_space)
    done = subprocess.run(
        [sys.executable, "-c", code, "check", str(target)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard only: the old code ran out of memory well before
        env={**os.environ, "PYTHONPATH": SERVICE},
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_jiragate_check_refuses_the_bomb_in_bounded_memory(tmp_path: Path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "groups.yaml").write_text(textwrap.dedent(GROUPS), encoding="utf-8")
    (policy_dir / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    code, output = _check_in_a_child(policy_dir)
    assert code == EXIT_POLICY_ERROR, output  # a policy error, not a MemoryError or a crash
    assert f"bomb.yaml:{BOMB_LIMIT_LINE}" in output and "500,000 nodes" in output
    assert "MemoryError" not in output and "Traceback" not in output
    peak_kib = int(output.rsplit("peak-rss-kib ", 1)[1].split()[0])
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB"  # the old loader: MemoryError


def test_a_huge_file_is_refused_from_its_size_without_being_read(tmp_path: Path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "groups.yaml").write_text(textwrap.dedent(GROUPS), encoding="utf-8")
    huge = policy_dir / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: 2 GiB that take no disk, and no memory unless read
        handle.truncate(2 * 1024 * 1024 * 1024)
    code, output = _check_in_a_child(policy_dir)  # reading it whole would need 2 GiB
    assert code == EXIT_POLICY_ERROR, output
    assert f"{policy_dir} policy files too large together (2,147,483," in output
    assert "the limit is 16,777,216 bytes" in output


def test_a_100_mb_file_is_refused_by_the_loader_without_a_read(tmp_path: Path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    huge = policy_dir / "rules.yaml"
    with huge.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    # the set limit (16 MiB) refuses it from the sizes alone; with a bigger set limit the
    # file limit does, after opening it but before reading a byte
    (issue,) = _issues(policy_dir)
    assert "policy files too large together (104,857,600 bytes" in issue
    (issue,) = _issues(policy_dir, PolicyLimits(max_set_bytes=1 << 40))
    assert issue == f"{huge} file too large (104,857,600 bytes; the limit is 4,194,304 bytes)"


def test_files_over_the_set_limit_are_refused_before_any_is_read(write_policies):
    directory = write_policies(groups=GROUPS, a="# " + "x" * 600, b="# " + "y" * 600)
    (issue,) = _issues(directory, PolicyLimits(max_set_bytes=1000))
    assert issue.startswith(f"{directory} policy files too large together (1,")
    assert issue.endswith("the limit is 1,000 bytes)")


def test_too_many_files(write_policies):
    directory = write_policies(groups=GROUPS, a="", b="")
    (issue,) = _issues(directory, PolicyLimits(max_files=2))
    assert issue == f"{directory} 3 policy files (the limit is 2)"


# --------------------------------------------------------------------------- each YAML limit

ALIASES = "x: &x 1\nlist:\n" + "".join("  - *x\n" for _ in range(1001))
DEEP = "rules: " + "[" * 70 + "]" * 70 + "\n"
DEEP_BY_ALIAS = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
LONG_SCALAR = "description: " + "x" * (64 * 1024 + 1) + "\n"
LONG_KEY = "x" * (64 * 1024 + 1) + ": 1\n"
# Merges copy what they merge: a mapping of 600 keys merged 1,000 times is 600,000 nodes.
MERGE_BOMB = (
    "base: &base {"
    + ", ".join(f"k{i}: {i}" for i in range(600))
    + "}\n"
    + "".join(f"m{i}: {{<<: *base}}\n" for i in range(1000))
)
# Nested anchors each keep a copy of the lines inside them: 60 levels x 10,000 scalars.
NESTED_ANCHORS = "".join(f"{'  ' * i}a{i}: &a{i}\n" for i in range(60)) + "".join(
    f"{'  ' * 60}k{i}: {i}\n" for i in range(10_000)
)


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (ALIASES, 1003, "more than 1,000 aliases"),
        (DEEP, 1, "nested more than 64 levels deep"),
        (DEEP_BY_ALIAS, 2, "nested more than 64 levels deep"),
        (LONG_SCALAR, 1, "a scalar of 65,537 characters (more than 65,536)"),
        (LONG_KEY, 1, "a scalar of 65,537 characters (more than 65,536)"),
        (MERGE_BOMB, None, "more than 500,000 nodes once aliases are expanded"),
        (NESTED_ANCHORS, None, "more than 500,000 nodes once aliases are expanded"),
    ],
    ids=["aliases", "depth", "depth-by-alias", "scalar", "key", "merges", "nested-anchors"],
)
def test_each_yaml_limit_is_an_issue_with_its_line(write_policies, text, line, what):
    directory = write_policies(groups=GROUPS, big=text)
    (issue,) = _issues(directory)
    where = f"{directory / 'big.yaml'}:{line}" if line else f"{directory / 'big.yaml'}:"
    assert issue.startswith(where), issue
    assert f" YAML limit exceeded: {what}" in issue, issue


@pytest.mark.usefixtures("loader")
def test_the_limits_are_settable_and_legitimate_anchors_load(write_policies):
    rules = """
    rules:
      - id: eng-tickets
        match: &eng {project: ENG, action: jira_create_ticket}
        decision: allow
      - id: eng-high
        match: {<<: *eng, details.priority: High}
        decision: require_approval
        route_to: leads
    """
    directory = write_policies(groups=GROUPS, rules=rules)
    policies = load_policies(directory)
    assert [rule.id for rule in policies.rules] == ["eng-tickets", "eng-high"]
    tight = PolicyLimits(yaml=YamlLimits(max_aliases=0))
    (issue,) = _issues(directory, tight)
    assert "more than 0 aliases" in issue


def test_yamlsource_stops_before_the_expansion_exists():
    # The alias on line 6 would add 59,050 nodes; the budget is spent before a line is copied.
    with pytest.raises(YamlLimitError) as caught:
        parse(BOMB, YamlLimits(max_nodes=50_000))
    assert caught.value.line == 5


# --------------------------------------------------------------------------- other YAML


def test_a_bomb_in_a_policy_test_file_is_a_test_load_error(tmp_path: Path):
    suite = tmp_path / "bomb_test.yaml"
    suite.write_text(BOMB, encoding="utf-8")
    with pytest.raises(PolicyTestLoadError) as caught:
        load_suite(suite)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line) == (str(suite), BOMB_LIMIT_LINE)
    assert "500,000 nodes" in issue.message


def test_a_huge_policy_test_file_is_refused_without_a_read(tmp_path: Path):
    suite = tmp_path / "huge_test.yaml"
    with suite.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    with pytest.raises(PolicyTestLoadError, match=r"file too large \(104,857,600 bytes"):
        load_suite(suite)


def test_a_bomb_in_the_config_file_is_an_invalid_setting(tmp_path: Path):
    config = tmp_path / "jiragate.yaml"
    config.write_text(BOMB, encoding="utf-8")
    with pytest.raises(ValueError, match="500,000 nodes"):
        Settings.from_file(config)
    config.write_text("database_url: sqlite:///a.db\ndatabase_url: sqlite:///b.db\n")
    with pytest.raises(ValueError, match="duplicate key 'database_url'"):
        Settings.from_file(config)
    config.write_text(json.dumps({"database_url": "sqlite:///c.db"}))
    assert Settings.from_file(config).database_url == "sqlite:///c.db"

"""yamlsource.parse: the data `yaml.safe_load` gives, plus line numbers and duplicate keys.

Every test runs with libyaml's parser (when PyYAML has it) and with the pure-Python one.
"""

from __future__ import annotations

import datetime
import math
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.policy import yamlsource
from jiragate.policy.yamlsource import Lines, YamlProblem, format_path, parse

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__, autouse=True)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(yamlsource, "_Loader", request.param)
    yield request.param


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def parsed(text: str) -> tuple[Any, Lines, list[YamlProblem]]:
    return parse(doc(text))


# --------------------------------------------------------------------------- scalars

SCALARS = """
decimal: 42
negative: -17
underscored: 1_000
hex: 0x1F
yaml-1-2-octal: 0o17
old-octal: 017
binary: 0b101
sexagesimal-int: 1:30
float: 2.5
exponent: 6.8523015e+5
sexagesimal-float: 1:30.5
infinity: .inf
minus-infinity: -.Inf
bool-true: true
bool-yes: yes
bool-off: Off
bool-no: NO
null-word: null
tilde: ~
empty:
date: 2024-03-01
datetime: 2024-03-01T12:30:45Z
datetime-offset: 2024-03-01 12:30:45.25 +02:00
plain: text
quoted-number: "42"
single-quoted-bool: 'true'
explicit-str: !!str 123
explicit-int: !!int "7"
explicit-float: !!float "3"
explicit-bool: !!bool "yes"
explicit-null: !!null ""
binary-data: !!binary aGVsbG8=
folded: >
  two
  lines
literal: |
  kept
  as is
"""


def test_every_scalar_type_is_what_safe_load_gives() -> None:
    data, _, problems = parse(SCALARS)
    assert problems == []
    assert data == yaml.safe_load(SCALARS)
    assert {k: type(v) for k, v in data.items()} == {
        k: type(v) for k, v in yaml.safe_load(SCALARS).items()
    }
    # and spot checks, so the equality above is not between two wrong answers
    assert data["hex"] == 31 and data["yaml-1-2-octal"] == "0o17" and data["old-octal"] == 15
    assert data["binary"] == 5 and data["sexagesimal-int"] == 90 and data["underscored"] == 1000
    assert data["exponent"] == 685230.15 and data["minus-infinity"] == -math.inf
    assert data["bool-true"] is True and data["bool-yes"] is True
    assert data["bool-off"] is False and data["bool-no"] is False
    assert data["null-word"] is None and data["tilde"] is None and data["empty"] is None
    assert data["date"] == datetime.date(2024, 3, 1)
    assert data["datetime"] == datetime.datetime(2024, 3, 1, 12, 30, 45, tzinfo=datetime.UTC)
    offset = datetime.timezone(datetime.timedelta(hours=2))
    assert data["datetime-offset"] == datetime.datetime(2024, 3, 1, 12, 30, 45, 250000, offset)
    assert data["quoted-number"] == "42" and data["single-quoted-bool"] == "true"
    assert data["explicit-str"] == "123" and data["explicit-int"] == 7
    assert data["explicit-float"] == 3.0 and data["explicit-bool"] is True
    assert data["binary-data"] == b"hello"
    assert data["folded"] == "two lines\n" and data["literal"] == "kept\nas is\n"


def test_not_a_number_is_a_float_nan() -> None:
    data, _, _ = parse("a: .nan\nb: [.NaN]\n")
    assert math.isnan(data["a"]) and math.isnan(data["b"][0])


def test_keys_that_are_numbers_or_booleans_become_text() -> None:
    data, _, problems = parse("1: one\n2.5: two\ntrue: yes\n=: equals\n")
    assert problems == []
    assert data == {"1": "one", "2.5": "two", "True": True, "=": "equals"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\n~: nothing\n", 2),
        ("a: 1\n2024-01-01: a date\n", 2),
        ("a: 1\n? [x, y]\n: a list\n", 2),
        ("a: 1\n? {x: 1}\n: a mapping\n", 2),
        ("a: 1\n!!binary aGk=: bytes\n", 2),
    ],
)
def test_keys_that_are_not_text_are_reported_and_dropped(text: str, line: int) -> None:
    data, _, problems = parse(text)
    assert problems == [YamlProblem(line, (), "mapping keys must be text")]
    assert data == {"a": 1}


def test_an_anchor_inside_a_key_that_is_dropped_can_still_be_used() -> None:
    data, lines, problems = parse("? &k [a, b]\n: 1\nc:\n  d: *k\n")
    assert problems == [YamlProblem(1, (), "mapping keys must be text")]
    assert data == {"c": {"d": ["a", "b"]}}
    assert (lines.line(("c", "d")), lines.line(("c", "d", 1))) == (4, 1)


def test_a_scalar_document_and_an_empty_one() -> None:
    assert parse("42\n")[0] == 42
    data, lines, problems = parse("# only a comment\n")
    assert (data, lines.by_path, problems) == (None, {}, [])
    assert parse("")[0] is None
    data, lines, _ = parse("---\n")
    assert data is None and lines.line(()) == 2  # the empty value after ---


# --------------------------------------------------------------------------- line numbers

POLICY = """
# a comment first
rules:
  - id: first
    match:
      action: [jira_create_ticket, jira_create_tickets]
      details.priority: {at_least: High}
    decision: require_approval

  - id: second
    match:
      any:
        - project: ENG
        - count:
            gt: 10
    decision: deny
defaults:
  write: deny
"""


def test_line_numbers_of_mappings_sequences_and_scalars() -> None:
    data, lines, problems = parsed(POLICY)
    assert problems == []
    assert data["rules"][1]["match"]["any"][1] == {"count": {"gt": 10}}
    expected = {
        (): 2,
        ("rules",): 2,
        ("rules", 0): 3,
        ("rules", 0, "id"): 3,
        ("rules", 0, "match"): 4,
        ("rules", 0, "match", "action"): 5,
        ("rules", 0, "match", "action", 0): 5,
        ("rules", 0, "match", "action", 1): 5,
        ("rules", 0, "match", "details.priority"): 6,
        ("rules", 0, "match", "details.priority", "at_least"): 6,
        ("rules", 0, "decision"): 7,
        ("rules", 1): 9,
        ("rules", 1, "match", "any"): 11,
        ("rules", 1, "match", "any", 0): 12,
        ("rules", 1, "match", "any", 1): 13,
        ("rules", 1, "match", "any", 1, "count"): 13,
        ("rules", 1, "match", "any", 1, "count", "gt"): 14,
        ("rules", 1, "decision"): 15,
        ("defaults", "write"): 17,
    }
    for path, line in expected.items():
        assert lines.line(path) == line, format_path(path)


def test_a_path_not_written_falls_back_to_its_nearest_parent() -> None:
    _, lines, _ = parsed(POLICY)
    assert lines.line(("rules", 1, "route_to")) == 9
    assert lines.line(("rules", 7)) == 2
    assert lines.line(("nowhere", "at", "all")) == 2  # the root, after the comment
    assert Lines().line(("rules", 0)) is None


def test_a_block_mapping_value_is_on_its_keys_line_not_the_line_below() -> None:
    _, lines, _ = parse("a:\n\n  b:\n    - c\n")
    assert (lines.line(("a",)), lines.line(("a", "b")), lines.line(("a", "b", 0))) == (1, 3, 4)


def test_format_path() -> None:
    assert (
        format_path(("rules", 3, "match", "any", 0, "project")) == "rules[3].match.any[0].project"
    )
    assert format_path((2, "a")) == "[2].a"
    assert format_path(()) == ""


# --------------------------------------------------------------------------- duplicate keys


def test_a_duplicate_key_is_reported_with_both_lines_and_the_first_value_kept() -> None:
    data, _, problems = parsed(
        """
        rules:
          - id: a
            decision: allow
            match: {action: jira_search}
            decision: deny
        """
    )
    assert data["rules"][0]["decision"] == "allow"
    assert problems == [
        YamlProblem(
            5, ("rules", 0, "decision"), "duplicate key 'decision' (first written on line 3)"
        )
    ]


def test_duplicates_inside_a_dropped_value_are_not_reported_twice() -> None:
    data, _, problems = parsed(
        """
        a: {x: 1}
        a:
          x: 2
          x: 3
        b: 1
        """
    )
    assert data == {"a": {"x": 1}, "b": 1}
    assert [p.message for p in problems] == ["duplicate key 'a' (first written on line 1)"]


def test_keys_that_become_the_same_text_are_duplicates() -> None:
    _, _, problems = parse("1: a\n'1': b\n")
    assert problems == [YamlProblem(2, ("1",), "duplicate key '1' (first written on line 1)")]


# --------------------------------------------------------------------------- anchors, aliases


def test_an_alias_is_the_same_value_as_its_anchor() -> None:
    text = doc(
        """
        groups:
          leads: &leads [alice, bob]
        rules:
          - match: &m
              project: ENG
              count: {gt: 3}
          - match: *m
          - members: *leads
        limit: &n 10
        again: *n
        """
    )
    data, lines, problems = parse(text)
    assert problems == []
    assert data == yaml.safe_load(text)
    assert data["rules"][1]["match"] is data["rules"][0]["match"]
    assert data["rules"][2]["members"] is data["groups"]["leads"]
    assert data["again"] == 10
    # The alias's own path is where the alias is written; what is inside, where it was.
    assert lines.line(("rules", 1, "match")) == 7
    assert lines.line(("rules", 1, "match", "project")) == 5
    assert lines.line(("rules", 1, "match", "count", "gt")) == 6
    assert lines.line(("rules", 2, "members", 1)) == 2
    assert lines.line(("again",)) == 10


def test_an_alias_as_a_sequence_item_is_on_the_aliases_line() -> None:
    _, lines, _ = parsed(
        """
        base: &b {project: ENG}
        all:
          - *b
          - *b
        """
    )
    assert (lines.line(("all", 0)), lines.line(("all", 1))) == (3, 4)
    assert lines.line(("all", 1, "project")) == 1


def test_an_anchor_on_a_key_and_an_alias_as_a_key() -> None:
    data, _, problems = parse("&k name: 1\nother:\n  *k : 2\n")
    assert problems == []
    assert data == {"name": 1, "other": {"name": 2}}


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: *nope\n", "found undefined alias 'nope'", 1),
        ("a: &x 1\nb: &x 2\n", "second occurrence", 2),
        ("a: &x [1, *x]\n", "found an alias inside the node it names (a cycle)", 1),
    ],
)
def test_alias_errors_are_yaml_errors_with_a_mark(text: str, message: str, line: int) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert caught.value.problem_mark.line + 1 == line  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- merge keys

MERGES = """base: &base
  priority: 10
  decision: deny
extra: &extra
  priority: 20
  reason: from extra
rules:
  - <<: *base
    id: one
  - <<: [*extra, *base]
    id: two
  - id: three
    priority: 99
    <<: *base
  - <<: {decision: allow, id: inline}
    reason: four
  - <<: *base
    <<: *extra
"""


def test_merge_keys_follow_the_yaml_1_1_merge_rules() -> None:
    """The values the policy loader promises, from the merge-key spec
    (https://yaml.org/type/merge.html), never from one PyYAML release: 6.0.4 lets the later
    mapping of a `<<` list win and loses a nested merge's override, against the spec."""
    data, _, problems = parse(MERGES)
    assert problems == []
    rules = data["rules"]
    assert rules[0] == {"priority": 10, "decision": "deny", "id": "one"}
    # in a list of mappings the earlier wins
    assert rules[1] == {"priority": 20, "reason": "from extra", "decision": "deny", "id": "two"}
    # keys written in the mapping itself win, and are not duplicates
    assert rules[2] == {"id": "three", "priority": 99, "decision": "deny"}
    assert rules[3] == {"decision": "allow", "id": "inline", "reason": "four"}
    # two merge keys: the later wins
    assert rules[4] == {"priority": 20, "decision": "deny", "reason": "from extra"}


def test_merged_keys_are_on_the_lines_they_were_written() -> None:
    _, lines, _ = parse(MERGES)
    assert lines.line(("rules", 0, "priority")) == 2
    assert lines.line(("rules", 0, "id")) == 9
    assert lines.line(("rules", 1, "priority")) == 5  # from *extra, which wins
    assert lines.line(("rules", 1, "decision")) == 3
    assert lines.line(("rules", 2, "priority")) == 13  # written, not merged
    assert lines.line(("rules", 3, "decision")) == 15
    assert lines.line(("rules", 4, "priority")) == 5
    assert ("rules", 0, "<<") not in lines.by_path


def test_nested_merges() -> None:
    text = doc(
        """
        a: &a {x: 1, y: 1}
        b: &b
          <<: *a
          y: 2
        c:
          <<: *b
          z: 3
        """
    )
    data, lines, problems = parse(text)
    assert problems == []
    # b's own y overrides a's, and c merges b as b is: a nested merge keeps that override
    assert data == {"a": {"x": 1, "y": 1}, "b": {"x": 1, "y": 2}, "c": {"x": 1, "y": 2, "z": 3}}
    assert (lines.line(("c", "x")), lines.line(("c", "y")), lines.line(("c", "z"))) == (1, 4, 7)


def test_a_duplicate_inside_a_merged_mapping_is_still_reported() -> None:
    _, _, problems = parse("a:\n  <<: {x: 1, x: 2}\n")
    assert problems == [
        YamlProblem(2, ("a", "<<", "x"), "duplicate key 'x' (first written on line 2)")
    ]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "a:\n  <<: 3\n",
            "expected a mapping or list of mappings for merging, but found scalar",
            2,
        ),
        ("s: &s 3\na:\n  <<: *s\n", "but found scalar", 1),
        ("a:\n  <<: [{x: 1},\n    2]\n", "expected a mapping for merging, but found scalar", 3),
        ("l: &l [a]\na:\n  <<: [*l]\n", "expected a mapping for merging, but found sequence", 3),
    ],
)
def test_merging_something_else_than_mappings_is_an_error(
    text: str, message: str, line: int
) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert caught.value.problem_mark.line + 1 == line  # type: ignore[attr-defined]
    with pytest.raises(yaml.YAMLError, match="for merging"):
        yaml.safe_load(text)


def test_a_quoted_merge_key_is_just_text() -> None:
    assert parse("'<<': {a: 1}\n")[0] == {"<<": {"a": 1}}


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("rules:\n  - id: a\n   decision: allow\n", 3),
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 'unterminated\n", 2),
        ("a: 1\n---\nb: 2\n", 2),  # two documents
        ("a: !unknown 1\n", 1),
        ("a: =\n", 1),  # the YAML 1.1 value key `=` is text only as a key
        ("- <<\n", 1),
    ],
)
def test_errors_raise_yaml_errors_with_the_line(text: str, line: int) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        parse(text)
    assert caught.value.problem_mark.line + 1 == line  # type: ignore[attr-defined]
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)


# --------------------------------------------------------------------------- against PyYAML

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, width=32),
    st.text(alphabet="abcxyz -:#'\"0123456789.\n[]{},&*!|>%@`", max_size=12),
    st.dates(),
)
keys = st.text(alphabet="abcdefghij-_. 0123", min_size=1, max_size=8)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


def node_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The reference: lines read off PyYAML's composed node tree (what parse used to do)."""
    out: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...], line: int) -> None:
        out[path] = line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(yaml.safe_load(yaml.serialize(key))))
                walk(value, child, key.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index), item.start_mark.line + 1)

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, (), root.start_mark.line + 1)
    return out


@settings(max_examples=150, derandomize=True, deadline=None)
@given(data=documents, flow=st.sampled_from([False, True, None]), width=st.sampled_from([20, 80]))
def test_any_dumped_document_parses_as_safe_load_and_compose_say(
    data: Any, flow: bool | None, width: int
) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, width=width, sort_keys=False)
    parsed_data, lines, problems = parse(text)
    assert parsed_data == yaml.safe_load(text)
    assert lines.by_path == node_lines(text)
    # dumped keys are unique text, unless two keys dump to the same text (1 and "1" cannot
    # both appear here: keys are generated as text)
    assert problems == []


_PLAIN = (
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="#"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=150, deadline=None)
@given(before=_PLAIN, after=_PLAIN)
def test_the_quoting_hint_for_an_unquoted_colon_is_valid_yaml_for_the_same_text(
    before: str, after: str
) -> None:
    """Whatever the value, the fix the hint proposes parses to the text the author typed."""
    value = f"{before}: {after}"
    text = f"rules:\n  - id: x\n    reason: {value}\n"
    try:
        parse(text)
    except yaml.YAMLError as exc:
        line, message = yamlsource.describe_syntax_error(exc, text)
        if "must be quoted: " not in message:
            return  # another mistake in the drawn text (a stray quote, a flow bracket)
        suggestion = message.split("must be quoted: ", 1)[1]
        assert line == 3
        assert yaml.safe_load(suggestion) == {"reason": value}

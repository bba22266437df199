"""YAML with line numbers: parse a document and remember where every value was written.

PyYAML's `safe_load` forgets positions and silently keeps the last of two duplicate keys;
both would make policy errors hard to find. Here the document is composed into nodes once,
duplicate keys are reported, and a `Lines` map answers "which line holds rules[3].route_to".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

PathKey = tuple[str | int, ...]

# libyaml's composer, when PyYAML was built with it, is several times faster on big policy
# sets and keeps the same line marks; the pure-Python one is the fallback.
_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(slots=True)
class Lines:
    """1-based line numbers by path; a path not recorded falls back to its nearest parent."""

    by_path: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        key = tuple(path)
        while True:
            if key in self.by_path:
                return self.by_path[key]
            if not key:
                return None
            key = key[:-1]


def format_path(path: Sequence[str | int]) -> str:
    """`("rules", 3, "route_to")` -> `rules[3].route_to`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class YamlProblem:
    line: int | None
    path: PathKey
    message: str


def parse(text: str) -> tuple[Any, Lines, list[YamlProblem]]:
    """Parse one YAML document. Raises yaml.YAMLError on syntax errors (with a mark)."""
    node = yaml.compose(text, Loader=_Composer)
    lines = Lines()
    problems: list[YamlProblem] = []
    if node is None:
        return None, lines, problems
    constructor = yaml.SafeLoader("")
    data = _build(node, (), lines, problems, constructor)
    return data, lines, problems


def _build(
    node: yaml.Node,
    path: PathKey,
    lines: Lines,
    problems: list[YamlProblem],
    constructor: yaml.SafeLoader,
) -> Any:
    lines.by_path[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)  # resolves `<<` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(
                    YamlProblem(key_node.start_mark.line + 1, path, "mapping keys must be text")
                )
                continue
            key = str(key)
            if key in result:
                problems.append(
                    YamlProblem(
                        key_node.start_mark.line + 1,
                        (*path, key),
                        f"duplicate key {key!r} (first written on line "
                        f"{lines.by_path.get((*path, key), '?')})",
                    )
                )
                continue
            child_path = (*path, key)
            result[key] = _build(value_node, child_path, lines, problems, constructor)
            lines.by_path[child_path] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(child, (*path, index), lines, problems, constructor)
            for index, child in enumerate(node.value)
        ]
    return constructor.construct_object(node, deep=True)

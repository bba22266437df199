"""Strict JSON: the one decoding step for request bodies, and the same checks for values that
arrive already decoded (MCP tool arguments, Python callers).

Python's `json` accepts more than JSON (RFC 8259) and more than the store and Jira can take:
`NaN`/`Infinity` constants (they pass every `minimum`/`maximum`, since every comparison with
NaN is false), integers of any length (4301 digits raise a plain ValueError), lone UTF-16
surrogates (`"\\ud800"`: no UTF-8 encoding, so the database driver fails) and NUL characters
(PostgreSQL text cannot hold them). All of them are refused here, naming the JSON pointer of
the first offending value, before anything is evaluated or stored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from jiragate.errors import UnsafeJSONError

#: The largest integer magnitude accepted: a signed 64-bit value (a PostgreSQL bigint, a Java
#: long in Jira). Longer literals are refused before Python converts them.
MAX_INTEGER: Final = 2**63 - 1
_MAX_INTEGER_DIGITS: Final = len(str(MAX_INTEGER))
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused:
    """A number the decoder refused; the walk reports it with its pointer."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _parse_int(literal: str) -> int | _Refused:
    if len(literal.lstrip("-")) > _MAX_INTEGER_DIGITS or abs(int(literal)) > MAX_INTEGER:
        return _Refused(f"integer {_abbreviated(literal)} is out of range (at most ±{MAX_INTEGER})")
    return int(literal)


def _parse_float(literal: str) -> float | _Refused:
    value = float(literal)
    if not math.isfinite(value):
        return _Refused(f"number {_abbreviated(literal)} is out of range (not a finite number)")
    return value


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not JSON (only finite numbers are accepted)")


def _abbreviated(literal: str) -> str:
    return literal if len(literal) <= 24 else f"{literal[:12]}…({len(literal)} characters)"


def pointer(path: tuple[Any, ...]) -> str:
    """The RFC 6901 JSON pointer of `path` ("" is the whole document)."""
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)


def string_problem(text: str) -> str | None:
    """Why a string cannot be accepted (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    if not text.isascii() and _SURROGATE.search(text):
        return "contains a lone UTF-16 surrogate (not valid Unicode)"
    return None


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        return string_problem(value)
    if isinstance(value, _Refused):
        return value.problem
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        return f"integer {_abbreviated(str(value))} is out of range (at most ±{MAX_INTEGER})"
    return None


def check_value(value: Any, *, prefix: tuple[Any, ...] = ()) -> None:
    """Raise UnsafeJSONError naming the first value (or key) that is not strict JSON;
    `prefix` is where `value` sits in the document (for the pointer)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, prefix)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                problem = string_problem(key) if isinstance(key, str) else None
                if problem is not None:
                    raise UnsafeJSONError(pointer((*path, key)), f"the key {problem}")
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(node))
        else:
            problem = _problem(node)
            if problem is not None:
                raise UnsafeJSONError(pointer(path), problem)


def loads(text: str) -> Any:
    """`json.loads`, strictly: raises json.JSONDecodeError for malformed JSON and
    UnsafeJSONError (with the pointer) for a value that is JSON but not acceptable."""
    value = json.loads(
        text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
    )
    check_value(value)
    return value

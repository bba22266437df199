"""Condition operators, as one data table.

Each operator names the field types it applies to, checks its argument once at load time,
prepares it (a frozenset, a compiled pattern, a priority ordinal), and tests a value. The
compiler turns an operator and a fact getter into one closure; the explainer calls `test`
directly to report actual values.

A condition on a fact the action does not have (an absent `details` field, an agent-less
dry run) is false for every operator except `exists: false`: absence never satisfies a
comparison, so a rule cannot be matched or dodged by leaving a field out.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


MISSING: Final = _Missing()

# Jira's default priority scheme, lowest first; `at_least: High` means High or Highest.
PRIORITIES: Final = ("Lowest", "Low", "Medium", "High", "Highest")
PRIORITY_ORDINAL: Final = {name: rank for rank, name in enumerate(PRIORITIES)}

# Field type families the loader derives from the catalog's JSON Schemas.
STRING, NUMBER, BOOLEAN, ARRAY, OBJECT, PRIORITY, ANY = (
    "string",
    "number",
    "boolean",
    "array",
    "object",
    "priority",
    "any",
)
SCALARS: Final = frozenset({STRING, NUMBER, BOOLEAN, PRIORITY, ANY})


class ArgumentError(ValueError):
    """An operator's argument does not fit (message says what would)."""


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    description: str
    applies_to: frozenset[str]
    prepare: Callable[[Any], Any]
    test: Callable[[Any, Any], bool]  # (present value, prepared argument) -> bool


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(arg: Any) -> Any:
    if isinstance(arg, list | dict):
        raise ArgumentError("expects a single value, not a list or mapping")
    return arg


def _value_set(arg: Any) -> frozenset[Any]:
    if not isinstance(arg, list) or not arg:
        raise ArgumentError("expects a non-empty list of values")
    return frozenset(_scalar(item) for item in arg)


def _number(arg: Any) -> float:
    if not _is_number(arg):
        raise ArgumentError(f"expects a number, got {arg!r}")
    return float(arg)


def _range(arg: Any) -> tuple[float, float]:
    if not isinstance(arg, list) or len(arg) != 2:
        raise ArgumentError("expects [low, high]")
    low, high = _number(arg[0]), _number(arg[1])
    if low > high:
        raise ArgumentError(f"low {arg[0]} is above high {arg[1]}")
    return low, high


def _glob(arg: Any) -> re.Pattern[str]:
    if not isinstance(arg, str) or not arg:
        raise ArgumentError("expects a non-empty pattern string")
    return re.compile(fnmatch.translate(arg))


def _regex(arg: Any) -> re.Pattern[str]:
    if not isinstance(arg, str) or not arg:
        raise ArgumentError("expects a non-empty regular expression")
    try:
        return re.compile(arg)
    except re.error as exc:
        raise ArgumentError(f"is not a valid regular expression: {exc}") from exc


def _boolean(arg: Any) -> bool:
    if not isinstance(arg, bool):
        raise ArgumentError("expects true or false")
    return arg


def _priority(arg: Any) -> int:
    if arg not in PRIORITY_ORDINAL:
        raise ArgumentError(f"expects a Jira priority ({', '.join(PRIORITIES)}), got {arg!r}")
    return PRIORITY_ORDINAL[arg]


def _in(value: Any, values: frozenset[Any]) -> bool:
    try:
        return value in values
    except TypeError:  # an unhashable value (a list) is in no set of scalars
        return False


def _contains(value: Any, item: Any) -> bool:
    if isinstance(value, str):
        return isinstance(item, str) and item in value
    if isinstance(value, list):
        return item in value
    return False


def _ordinal(value: Any) -> int | None:
    return PRIORITY_ORDINAL.get(value) if isinstance(value, str) else None


def _at_least(value: Any, rank: int) -> bool:
    ordinal = _ordinal(value)
    return ordinal is not None and ordinal >= rank


def _at_most(value: Any, rank: int) -> bool:
    ordinal = _ordinal(value)
    return ordinal is not None and ordinal <= rank


def _comparison(compare: Callable[[float, float], bool]) -> Callable[[Any, float], bool]:
    def test(value: Any, bound: float) -> bool:
        return _is_number(value) and compare(value, bound)

    return test


_ALL_TYPES = frozenset({STRING, NUMBER, BOOLEAN, ARRAY, OBJECT, PRIORITY, ANY})
_TEXT = frozenset({STRING, PRIORITY, ANY})
_NUMERIC = frozenset({NUMBER, ANY})

OPERATORS: Final[dict[str, Operator]] = {
    op.name: op
    for op in (
        Operator("eq", "is equal to", SCALARS, _scalar, lambda v, a: v == a),
        Operator("ne", "is not equal to", SCALARS, _scalar, lambda v, a: v != a),
        Operator("in", "is one of", SCALARS, _value_set, _in),
        Operator("not_in", "is none of", SCALARS, _value_set, lambda v, a: not _in(v, a)),
        Operator("gt", "is greater than", _NUMERIC, _number, _comparison(lambda v, a: v > a)),
        Operator("gte", "is at least", _NUMERIC, _number, _comparison(lambda v, a: v >= a)),
        Operator("lt", "is less than", _NUMERIC, _number, _comparison(lambda v, a: v < a)),
        Operator("lte", "is at most", _NUMERIC, _number, _comparison(lambda v, a: v <= a)),
        Operator(
            "between",
            "is within (inclusive)",
            _NUMERIC,
            _range,
            lambda v, a: _is_number(v) and a[0] <= v <= a[1],
        ),
        Operator(
            "glob",
            "matches the pattern",
            _TEXT,
            _glob,
            lambda v, a: isinstance(v, str) and a.match(v) is not None,
        ),
        Operator(
            "matches",
            "matches the regular expression",
            _TEXT,
            _regex,
            lambda v, a: isinstance(v, str) and a.search(v) is not None,
        ),
        # `exists` is special-cased by the compiler: it is the one test of absence.
        Operator("exists", "is present", _ALL_TYPES, _boolean, lambda v, a: a),
        Operator("contains", "contains", frozenset({ARRAY, STRING, ANY}), _scalar, _contains),
        Operator("at_least", "is a priority at least", frozenset({PRIORITY}), _priority, _at_least),
        Operator("at_most", "is a priority at most", frozenset({PRIORITY}), _priority, _at_most),
    )
}


def apply_operator(operator: str, value: Any, prepared: Any) -> bool:
    """Apply one operator to one (possibly absent) value; the slow path used by explain."""
    if operator == "exists":
        return (value is not MISSING) is prepared
    if value is MISSING:
        return False
    return OPERATORS[operator].test(value, prepared)

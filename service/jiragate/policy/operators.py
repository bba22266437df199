"""Condition operators, as one data table.

Each operator names the field types it applies to, checks its argument once at load time,
prepares it (a frozenset, a compiled pattern, a priority bound), and tests a value. The
compiler turns an operator and a fact getter into one closure; the explainer calls `test`
directly to report actual values.

*Priorities are the site's.* `at_least` / `at_most` compare in the policy set's declared
order (`priorities:`, default Jira's five; catalog/priorities.py), which `prepare` is
given. A value that is not in that order ("Blocker", "p1" on a P1..P4 site) cannot be
compared, and is never decided in the agent's favour: the prepared `PriorityBound` says
what such a comparison yields. Alone it is `at_least` true (the unknown ranks above the
highest, so it is gated) and `at_most` false (it is not "low"); the compiler and the
explainer set it by where the condition stands (`PriorityBound.failing_closed`): true where
holding makes the rule stricter (a deny or approval rule), false where holding would let
the action through (an allow rule), flipped under each `not`.

A condition on a fact the action does not have (an absent `details` field, an agent-less
dry run) is false for every operator except `exists: false`: absence never satisfies a
comparison, so a rule cannot be matched or dodged by leaving a field out.

*Why RE2 for `matches`:* Python's `re` backtracks, so `^(a+)+$` takes time doubling with
every character of an agent's summary and blocks the event loop. RE2 matches in time linear
in the input, whatever the pattern; it has no backreferences or lookaround, and a pattern
that needs them is refused at load time with the reason. `$` means the end of the text only
(never "before a trailing newline", as in `re`). `glob` stays with `fnmatch`, whose
translation makes every star an atomic group, so it cannot backtrack catastrophically; its
patterns are bounded in length too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

import re2

from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


MISSING: Final = _Missing()

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

#: Longest `matches` or `glob` pattern, in characters.
MAX_PATTERN_CHARS: Final = 1_000
#: Memory RE2 may use for one compiled pattern (its program and its DFA cache); a pattern
#: whose program alone would not fit is refused as too large.
MAX_PATTERN_MEMORY: Final = 2 * 1024 * 1024


class ArgumentError(ValueError):
    """An operator's argument does not fit (message says what would)."""


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    description: str
    applies_to: frozenset[str]
    #: (argument as written, the set's priority order) -> the prepared argument
    prepare_with: Callable[[Any, PriorityOrder], Any]
    test: Callable[[Any, Any], bool]  # (present value, prepared argument) -> bool

    def prepare(self, argument: Any, order: PriorityOrder = JIRA_PRIORITIES) -> Any:
        """Check and prepare an argument (ArgumentError says what would fit)."""
        return self.prepare_with(argument, order)


@dataclass(frozen=True, slots=True)
class PriorityBound:
    """A prepared `at_least` / `at_most` argument: its level in the set's order, and what
    the comparison yields for a value not in that order (`unknown`)."""

    name: str
    level: int
    order: PriorityOrder
    unknown: bool

    def failing_closed(self, gate: bool) -> PriorityBound:
        """This bound where holding is the strict outcome (`gate`: a deny or approval rule,
        not negated) or the lenient one: an unknown value then holds, or does not."""
        return self if self.unknown is gate else replace(self, unknown=gate)


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


def _pattern_text(arg: Any, what: str) -> str:
    if not isinstance(arg, str) or not arg:
        raise ArgumentError(f"expects a non-empty {what}")
    if len(arg) > MAX_PATTERN_CHARS:
        raise ArgumentError(
            f"pattern is {len(arg):,} characters long; the limit is {MAX_PATTERN_CHARS:,}"
        )
    return arg


def _glob(arg: Any) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(_pattern_text(arg, "pattern string")))


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False  # the refusal is reported as a policy issue, not on stderr
    return options


_RE2_OPTIONS: Final = _re2_options()


def compile_regex(pattern: str) -> Any:
    """Compile a policy author's regular expression with RE2 (linear-time matching).
    Raises ArgumentError saying why RE2 cannot take it."""
    text = _pattern_text(pattern, "regular expression")
    try:
        return re2.compile(text, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        reason = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        hint = _hint(text, reason)
        message = f"is not a valid regular expression (RE2 syntax): {reason}"
        raise ArgumentError(f"{message} ({hint})" if hint else message) from exc


# Why RE2 refused what Python's `re` would take, by what its message starts with.
_HINTS: Final = (
    ("invalid perl operator: (?=", "lookahead is not supported"),
    ("invalid perl operator: (?!", "lookahead is not supported"),
    ("invalid perl operator: (?<=", "lookbehind is not supported"),
    ("invalid perl operator: (?<!", "lookbehind is not supported"),
    ("invalid perl operator: (?>", "atomic groups are not needed: RE2 never backtracks"),
    ("bad repetition operator: ++", "possessive quantifiers are not needed: RE2 never backtracks"),
    ("bad repetition operator: *+", "possessive quantifiers are not needed: RE2 never backtracks"),
    ("invalid escape sequence: \\Z", "write \\z for the very end of the text"),
    ("pattern too large", "its compiled form needs more than 2 MiB; simplify it"),
)


def _hint(pattern: str, reason: str) -> str | None:
    if "(?P=" in pattern or re.match(r"invalid escape sequence: \\[1-9]", reason):
        return "backreferences are not supported"
    return next((hint for start, hint in _HINTS if reason.startswith(start)), None)


def _boolean(arg: Any) -> bool:
    if not isinstance(arg, bool):
        raise ArgumentError("expects true or false")
    return arg


def _priority(unknown: bool) -> Callable[[Any, PriorityOrder], PriorityBound]:
    def prepare(arg: Any, order: PriorityOrder) -> PriorityBound:
        level = order.level(arg)
        if level is None:
            raise ArgumentError(
                f"expects one of the set's priorities ({', '.join(order.names)}), got "
                f"{arg!r} (names are exact; declare the site's with a top-level `priorities:`)"
            )
        return PriorityBound(arg, level, order, unknown)

    return prepare


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


def _at_least(value: Any, bound: PriorityBound) -> bool:
    level = bound.order.level(value)
    return bound.unknown if level is None else level >= bound.level


def _at_most(value: Any, bound: PriorityBound) -> bool:
    level = bound.order.level(value)
    return bound.unknown if level is None else level <= bound.level


#: The operators whose prepared argument is a `PriorityBound`.
PRIORITY_OPERATORS: Final = frozenset({"at_least", "at_most"})


def _plain(prepare: Callable[[Any], Any]) -> Callable[[Any, PriorityOrder], Any]:
    """An argument check that does not depend on the site's priorities."""
    return lambda arg, _order: prepare(arg)


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
        Operator("eq", "is equal to", SCALARS, _plain(_scalar), lambda v, a: v == a),
        Operator("ne", "is not equal to", SCALARS, _plain(_scalar), lambda v, a: v != a),
        Operator("in", "is one of", SCALARS, _plain(_value_set), _in),
        Operator("not_in", "is none of", SCALARS, _plain(_value_set), lambda v, a: not _in(v, a)),
        Operator(
            "gt", "is greater than", _NUMERIC, _plain(_number), _comparison(lambda v, a: v > a)
        ),
        Operator("gte", "is at least", _NUMERIC, _plain(_number), _comparison(lambda v, a: v >= a)),
        Operator("lt", "is less than", _NUMERIC, _plain(_number), _comparison(lambda v, a: v < a)),
        Operator("lte", "is at most", _NUMERIC, _plain(_number), _comparison(lambda v, a: v <= a)),
        Operator(
            "between",
            "is within (inclusive)",
            _NUMERIC,
            _plain(_range),
            lambda v, a: _is_number(v) and a[0] <= v <= a[1],
        ),
        Operator(
            "glob",
            "matches the pattern",
            _TEXT,
            _plain(_glob),
            lambda v, a: isinstance(v, str) and a.match(v) is not None,
        ),
        Operator(
            "matches",
            "matches the regular expression",
            _TEXT,
            _plain(compile_regex),
            lambda v, a: isinstance(v, str) and a.search(v) is not None,
        ),
        # `exists` is special-cased by the compiler: it is the one test of absence.
        Operator("exists", "is present", _ALL_TYPES, _plain(_boolean), lambda v, a: a),
        Operator(
            "contains", "contains", frozenset({ARRAY, STRING, ANY}), _plain(_scalar), _contains
        ),
        Operator(
            "at_least",
            "is a priority at least",
            frozenset({PRIORITY}),
            _priority(unknown=True),
            _at_least,
        ),
        Operator(
            "at_most",
            "is a priority at most",
            frozenset({PRIORITY}),
            _priority(unknown=False),
            _at_most,
        ),
    )
}


def argument_key(value: Any) -> Any:
    """A hashable stand-in for an operator's argument as written, for caches of prepared
    arguments and compiled tests. It tells apart what `==` would confuse: 1, 1.0 and True
    are one dict key but not one argument (`eq: true` is no `eq: 1`)."""
    if isinstance(value, list):
        return ("list", tuple(argument_key(item) for item in value))
    if isinstance(value, dict):
        return ("dict", tuple((key, argument_key(item)) for key, item in value.items()))
    return (type(value).__name__, value)


def apply_operator(operator: str, value: Any, prepared: Any) -> bool:
    """Apply one operator to one (possibly absent) value; the slow path used by explain."""
    if operator == "exists":
        return (value is not MISSING) is prepared
    if value is MISSING:
        return False
    return OPERATORS[operator].test(value, prepared)

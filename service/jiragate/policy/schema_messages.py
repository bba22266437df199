"""JSON Schema errors, reworded for people editing YAML (policy files and policy tests)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from jsonschema.exceptions import ValidationError, best_match

from jiragate.policy.operators import OPERATORS

_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "null",
}


def most_specific(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the sub-error that went deepest is the one worth reading.

    A branch that failed only because the value is of another type says nothing the author
    can use (`{at_leest: High}` "is not of type 'string'"): when a branch of the value's own
    type failed too, its error is the one reported (the unknown operator, the operator's
    argument)."""
    while error.context:
        candidates = [e for e in error.context if not _wrong_branch(e)] or error.context
        deeper = best_match(candidates)
        if deeper is None:
            break
        error = deeper
    return error


def _wrong_branch(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def friendly(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if allowed and set(allowed) <= set(OPERATORS):
            return unknown_operator_message(extra, allowed)
        hint = ", ".join(allowed)
        if error.schema.get("patternProperties"):
            hint += ", details.<field>"
        listed = ", ".join(map(repr, extra))
        return f"unknown key(s) {listed} (allowed: {hint}){_guess(extra, allowed)}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "enum":
        options = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not one of: {options}"
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} has the wrong form (expected to match {error.validator_value})"
    if error.validator == "type" and _operator_of(error) is not None:
        return _argument_message(error)
    return error.message


def unknown_operator_message(unknown: Iterable[str], valid: Iterable[str]) -> str:
    """`unknown operator 'at_leest' (did you mean 'at_least'?); operators: …`."""
    names = sorted(unknown)
    valid = sorted(valid)
    listed = ", ".join(map(repr, names))
    noun = "operator" if len(names) == 1 else "operators"
    return f"unknown {noun} {listed}{_guess(names, valid)}; operators: {', '.join(valid)}"


def _guess(unknown: Iterable[str], valid: list[str]) -> str:
    """` (did you mean 'at_least'?)` for each unknown name close to a valid one."""
    pairs = [
        (name, match[0])
        for name in unknown
        if (match := difflib.get_close_matches(str(name), valid, n=1, cutoff=0.6))
    ]
    if len(pairs) == 1:
        return f" (did you mean {pairs[0][1]!r}?)"
    if pairs:
        return f" (did you mean {', '.join(f'{a!r} -> {b!r}' for a, b in pairs)}?)"
    return ""


def _operator_of(error: ValidationError) -> str | None:
    """The operator whose argument `error` is about, e.g. `in` for `{in: High}`."""
    path = list(error.absolute_path)
    if path and isinstance(path[-1], str) and path[-1] in OPERATORS:
        return path[-1]
    return None


def _argument_message(error: ValidationError) -> str:
    operator = _operator_of(error)
    wanted = error.validator_value
    kinds = [wanted] if isinstance(wanted, str) else list(wanted)
    expected = " or ".join(_JSON_TYPES.get(kind, kind) for kind in kinds)
    example = _EXAMPLES.get(str(operator))
    shown = f", e.g. {example}" if example else ""
    return f"{operator!r} takes {expected}{shown}; got {error.instance!r}"


_EXAMPLES: Mapping[str, str] = {
    "in": "{in: [High, Highest]}",
    "not_in": "{not_in: [Low, Lowest]}",
    "between": "{between: [1, 10]}",
    "gt": "{gt: 10}",
    "gte": "{gte: 10}",
    "lt": "{lt: 10}",
    "lte": "{lte: 10}",
    "glob": '{glob: "jira_create_*"}',
    "matches": '{matches: "^ENG-[0-9]+$"}',
    "exists": "{exists: true}",
}

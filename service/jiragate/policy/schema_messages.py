"""JSON Schema errors, reworded for people editing YAML (policy files and policy tests)."""

from __future__ import annotations

from jsonschema.exceptions import ValidationError, best_match


def most_specific(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the sub-error that went deepest is the one worth reading."""
    while error.context:
        deeper = best_match(error.context)
        if deeper is None:
            break
        error = deeper
    return error


def friendly(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = ", ".join(allowed)
        if error.schema.get("patternProperties"):
            hint += ", details.<field>"
        return f"unknown key(s) {', '.join(map(repr, extra))} (allowed: {hint})"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "enum":
        options = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not one of: {options}"
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} has the wrong form (expected to match {error.validator_value})"
    return error.message

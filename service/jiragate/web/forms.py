"""The "edit before approving" form: which fields a reviewer may change, and the patch.

Editable fields come from the action's JSON Schema: its top-level properties, except the
ones that say *what* the action is about (project, issue, epic, version, board) and nested
objects (`tickets`, `updates`, `fields`), which are shown but not edited here. Issue key lists
become checkboxes: a reviewer may drop issues, never add them. The gateway decides whether an
edit is acceptable (`Gateway.check_edit`); this module only turns form text into typed values
and names the field when that fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiragate.catalog import load_action_schema
from jiragate.web.previews import label_for

PREFIX = "edit-"
SHOWN_SUFFIX = "-shown"
#: Fields that identify what the action is about: changing them is a different action.
_IDENTITY = {"projectKey", "issueKey", "epicKey", "parentKey", "versionId", "boardId"}
_KEY_LISTS = {"issueKeys", "childIssueKeys", "addChildIssueKeys"}
_SEPARATORS = re.compile(r"[\s,]+")
#: "The reviewer left an optional, unset field empty": not part of the edit.
_UNSET = object()


@dataclass(slots=True)
class EditField:
    """One input of the edit form, with what the reviewer typed and any error in it."""

    name: str
    label: str
    widget: str  # number | select | keys | labels | text | textarea | checkbox | date | nullable
    original: Any
    value: Any  # the form value: a string, a list of kept keys, or a bool
    options: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    hint: str = ""
    error: str = ""
    changed: bool = False

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "edit-field-" + self.name


def _widget(name: str, schema: Mapping[str, Any]) -> str | None:
    if name in _IDENTITY:
        return None
    if name in _KEY_LISTS:
        return "keys"
    kinds = {s.get("type") for s in schema.get("oneOf", [])} or {schema.get("type")}
    if "null" in kinds:
        return "nullable"
    if kinds == {"integer", "string"}:
        return "text"  # a sprint id or name
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or {}
        return "labels" if items.get("type") == "string" else None
    if kind == "object":
        return None
    if "enum" in schema:
        return "select"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "checkbox"
    if kind == "string":
        if schema.get("format") == "date":
            return "date"
        return "textarea" if int(schema.get("maxLength", 0)) > 255 else "text"
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def editable_fields(action: str, original: Mapping[str, Any]) -> list[EditField]:
    """The form's fields with the original values filled in."""
    schema = load_action_schema(action)
    fields: list[EditField] = []
    for name, prop in (schema.get("properties") or {}).items():
        widget = _widget(name, prop)
        if widget is None:
            continue
        if widget == "keys" and name not in original:
            continue  # there is nothing to drop
        current = original.get(name, prop.get("default"))
        item = EditField(
            name=name,
            label=label_for(name),
            widget=widget,
            original=current,
            value=_initial_value(widget, current),
            options=[str(o) for o in prop.get("enum", [])],
            minimum=prop.get("minimum"),
            maximum=prop.get("maximum"),
            hint=_hint(action, name, widget),
        )
        if name == "issueCount" and isinstance(current, int):
            item.maximum = current  # an edit may only lower the count
        fields.append(item)
    return fields


def _initial_value(widget: str, current: Any) -> Any:
    if widget == "keys":
        return list(current or [])
    if widget == "checkbox":
        return bool(current)
    return _as_text(current)


def _hint(action: str, name: str, widget: str) -> str:
    if name == "issueCount":
        return "Lower it to create fewer tickets; the first ones are kept."
    if widget == "keys":
        return "Untick an issue to leave it out."
    if widget == "labels":
        return "Separate labels with commas or spaces."
    if widget == "nullable":
        return "Leave empty to unassign; -1 means the project's default assignee."
    if name == "sprintId":
        return "A sprint id or name, such as sprint_42."
    if name == "priority" and action == "jira_create_tickets":
        return "Applies to every ticket."
    return ""


def read_form(fields: Sequence[EditField], form: Mapping[str, Any], getlist: Any) -> dict[str, Any]:
    """Fill `fields` from a submitted form; return the patch (only the changed fields).

    A field that cannot be read gets an `error` and stays out of the patch; a field the form
    does not carry at all is left as proposed."""
    patch: dict[str, Any] = {}
    for item in fields:
        key = item.input_name
        # A field the form did not carry stays as proposed. Checkboxes send nothing when
        # unticked, so their fields carry a marker saying they were on the form.
        shown = key + SHOWN_SUFFIX if item.widget in ("keys", "checkbox") else key
        if shown not in form:
            continue
        if item.widget == "keys":
            kept = [str(k) for k in getlist(key)]
            ordered = [k for k in item.original or [] if k in kept]
            item.value = ordered
            if not ordered:
                item.error = "Keep at least one issue, or reject the action instead."
                continue
            parsed: Any = ordered
        elif item.widget == "checkbox":
            item.value = form.get(key) == "true"
            parsed = item.value
        else:
            text = str(form.get(key, "") or "")
            item.value = text
            try:
                parsed = _parse(item, text)
            except ValueError as exc:
                item.error = str(exc)
                continue
            if parsed is _UNSET:
                continue
        if parsed != item.original:
            item.changed = True
            patch[item.name] = parsed
    return patch


def _parse(item: EditField, text: str) -> Any:
    stripped = text.strip() if item.widget != "textarea" else text
    if item.widget == "nullable":
        return stripped or None
    if not stripped and item.original is None:
        return _UNSET  # left empty and never set: not part of the edit
    if item.widget == "number":
        try:
            number = float(stripped) if "." in stripped else int(stripped)
        except ValueError:
            raise ValueError(f"{item.label} must be a number, got {stripped!r}") from None
        if item.minimum is not None and number < item.minimum:
            raise ValueError(f"{item.label} must be at least {item.minimum:g}")
        if item.maximum is not None and number > item.maximum:
            raise ValueError(f"{item.label} can be at most {item.maximum:g} (lower, not higher)")
        return number
    if item.widget == "select":
        if stripped not in item.options:
            raise ValueError(f"{item.label} must be one of {', '.join(item.options)}")
        return stripped
    if item.widget == "labels":
        return list(dict.fromkeys(p for p in _SEPARATORS.split(stripped) if p))
    if item.name == "sprintId":
        if not stripped:
            raise ValueError("Sprint cannot be empty")
        return int(stripped) if stripped.isdigit() else stripped
    return stripped

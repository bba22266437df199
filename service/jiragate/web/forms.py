"""The "edit before approving" form: which fields a reviewer may change, and the patch.

The inputs come from the action's JSON Schema (the widget) and its edit rules in the catalog
(whether and how it may change): fixed fields, and fields the proposal does not set, are not
offered; counts and story points are capped at the proposed value; a priority offers only
the proposed one and lower; issue key lists become checkboxes (untick to drop); a flag that
may only be turned off is offered only when it is on. Nested objects (`tickets`, `updates`,
`fields`) are shown but not edited here. The gateway decides whether an edit is acceptable
(`Gateway.check_edit`, the one check): a field posted although the form does not offer it
still goes into the patch, and is refused there with the field and rule. This module only
turns form text into typed values and names the field when that fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiragate.catalog import (
    JIRA_PRIORITIES,
    EditRule,
    PriorityOrder,
    load_action_schema,
    rule_of,
)
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
    #: False: the edit rules let a reviewer change nothing here, so the form does not offer it.
    editable: bool = True

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


def editable_fields(
    action: str, original: Mapping[str, Any], priorities: PriorityOrder = JIRA_PRIORITIES
) -> list[EditField]:
    """The form's fields with the original values filled in (`editable` says which to show);
    a priority offers the proposed one and the lower ones in `priorities`, the site's order
    (`Gateway.priority_order`)."""
    schema = load_action_schema(action)
    fields: list[EditField] = []
    for name, prop in (schema.get("properties") or {}).items():
        widget = _widget(name, prop)
        rule = rule_of(action, name)
        if widget is None or not isinstance(rule, EditRule):
            continue  # nested objects and lists of objects are not edited in the form
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
            hint=_hint(action, name, rule),
            editable=_offered(rule, name in original, current)
            # With proposed tickets, the reviewer picks them one by one (the tickets table);
            # the count follows from that choice.
            and not (name == "issueCount" and isinstance(original.get("tickets"), list)),
        )
        if rule in (EditRule.NARROW_COUNT, EditRule.MAX) and isinstance(current, int | float):
            item.maximum = current  # an edit may only lower it
        if rule is EditRule.LOWER_PRIORITY and current in priorities:
            item.options = list(priorities.at_or_below(current))
        if prop.get("x-jiragate-site") == "priority":
            # The site's names have no enum in the schema; a reviewer may lower a priority
            # in the site's order (the edit rule), and keep one the order does not know as
            # it is (no lower one can be told).
            item.widget = "select"
            if current not in priorities:
                item.options = [str(current)] if current is not None else []
        fields.append(item)
    return fields


def _offered(rule: EditRule, proposed: bool, current: Any) -> bool:
    """Whether a reviewer can change the field at all (the gateway enforces it either way)."""
    if rule is EditRule.FALSE_ONLY:
        return current is True
    return rule is not EditRule.FIXED and proposed


def _initial_value(widget: str, current: Any) -> Any:
    if widget == "keys":
        return list(current or [])
    if widget == "checkbox":
        return bool(current)
    return _as_text(current)


_HINTS = {
    EditRule.NARROW_COUNT: "Lower it, not higher.",
    EditRule.MAX: "Lower it, not higher.",
    EditRule.LOWER_PRIORITY: "The proposed priority or lower.",
    EditRule.SUBSET: "Remove entries (separated by commas or spaces); none can be added.",
    EditRule.FALSE_ONLY: "You may turn this off, not on.",
}


def _hint(action: str, name: str, rule: EditRule) -> str:
    if name == "issueCount":
        return "Lower it to create fewer tickets; the first ones are kept."
    if name in _KEY_LISTS:
        return "Untick an issue to leave it out."
    if rule is EditRule.SUBSET and "abels" in name:
        return "Remove labels (separated by commas or spaces); none can be added."
    if name == "priority" and action == "jira_create_tickets":
        return "The proposed priority or lower; tickets above it are lowered to it."
    return _HINTS.get(rule, "")


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
            # A key that was never proposed (a crafted post) stays in, for the gateway to refuse.
            ordered += [k for k in dict.fromkeys(kept) if k not in ordered]
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
    patch.update(_unlisted_inputs(fields, form))
    return patch


def _unlisted_inputs(fields: Sequence[EditField], form: Mapping[str, Any]) -> dict[str, Any]:
    """`edit-*` inputs the form does not have (a crafted post, e.g. `edit-fields`): passed on
    as typed, so the gateway refuses them naming the field, rather than ignoring them."""
    known = {item.name for item in fields}
    unlisted: dict[str, Any] = {}
    for key in form:
        name = str(key).removeprefix(PREFIX).removesuffix(SHOWN_SUFFIX)
        if str(key).startswith(PREFIX) and name not in known:
            text = str(form.get(key, ""))
            try:
                unlisted[name] = json.loads(text)
            except ValueError:
                unlisted[name] = text
    return unlisted


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


TICKETS_SHOWN = "tickets-shown"
TICKET_KEEP = "ticket-keep"


def ticket_input(index: int, name: str) -> str:
    """The form name of one ticket's input (`ticket-3-summary`, `ticket-3-priority`)."""
    return f"ticket-{index}-{name}"


def read_tickets(
    original: Mapping[str, Any], form: Mapping[str, Any], getlist: Any
) -> tuple[list[dict[str, Any]] | None, str]:
    """The reviewer's choice of proposed tickets: (the edited tickets, or None when the form
    did not carry the table or changed nothing; an error for the reviewer, or "").

    Each kept ticket is the proposed one with the summary and priority the reviewer typed
    (a priority equal to the one it would inherit is left unset). Indexes that were never
    proposed are ignored: this reads a choice among the proposed tickets, it cannot add one;
    the gateway's check refuses anything else (a crafted `edit-tickets`)."""
    proposed = original.get("tickets")
    if TICKETS_SHOWN not in form or not isinstance(proposed, list):
        return None, ""
    keep = {str(value) for value in getlist(TICKET_KEEP)}
    tickets: list[dict[str, Any]] = []
    for index, ticket in enumerate(proposed):
        if str(index) not in keep or not isinstance(ticket, Mapping):
            continue
        edited = dict(ticket)
        summary = " ".join(str(form.get(ticket_input(index, "summary"), "")).split())
        if summary and summary != ticket.get("summary"):
            edited["summary"] = summary
        priority = str(form.get(ticket_input(index, "priority"), "") or "")
        inherited = ticket.get("priority", original.get("priority"))
        if priority and priority != inherited:
            edited["priority"] = priority
        tickets.append(edited)
    if not tickets:
        return None, "Keep at least one ticket, or reject the action instead."
    if tickets == proposed:
        return None, ""
    return tickets, ""

"""The facts a policy condition can test, and their types.

An action is seen by the policy as a flat mapping of facts:

| fact       | from                                              | type    |
|------------|---------------------------------------------------|---------|
| `action`   | the envelope's action name                        | string  |
| `kind`     | the catalog (never the agent): read/write/destructive | string |
| `agent`    | the identity behind the API key (None in a bare dry run) | string |
| `project`  | `details.projectKey`, else the project of the issue keys | string |
| `count`    | how many issues the action creates or touches     | number  |
| `details.<path>` | any field of the action's `details`         | from the action's JSON Schema |
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from jiragate.catalog import (
    ACTION_NAMES,
    ActionKind,
    ActionRequest,
    ActionSpec,
    load_action_schema,
    project_of,
)
from jiragate.catalog.priorities import JIRA_DEFAULT_NAMES
from jiragate.policy.operators import (
    ANY,
    ARRAY,
    BOOLEAN,
    NUMBER,
    OBJECT,
    PRIORITY,
    STRING,
)

Facts = dict[str, Any]

#: One segment of a details path: a name, or a quoted name (a custom field such as
#: `details.customFields."Story point estimate"` has spaces and dots in its name).
_SEGMENT = re.compile(r'"([^"\\]{1,255})"|([A-Za-z_][A-Za-z0-9_]*)')


def split_path(path: str) -> list[str]:
    """`customFields."Story Points".x` -> ["customFields", "Story Points", "x"]."""
    parts: list[str] = []
    position = 0
    while True:
        found = _SEGMENT.match(path, position)
        if found is None:
            raise ValueError(f"not a details path: {path!r}")
        parts.append(found.group(1) if found.group(1) is not None else found.group(2))
        position = found.end()
        if position == len(path):
            return parts
        if path[position] != ".":
            raise ValueError(f"not a details path: {path!r}")
        position += 1


KINDS: Final = ("read", "write", "destructive")
TOP_LEVEL_FACTS: Final[dict[str, str]] = {
    "action": STRING,
    "kind": STRING,
    "agent": STRING,
    "project": STRING,
    "count": NUMBER,
}
# The values a top-level fact may take, when the set is closed (checked at load time).
CLOSED_VALUES: Final[dict[str, tuple[str, ...]]] = {"action": ACTION_NAMES, "kind": KINDS}


def build_facts(request: ActionRequest, agent: str | None, spec: ActionSpec | None = None) -> Facts:
    """The facts of one action; `spec` is its catalog entry when the caller has it already
    (the engine: one catalog lookup per decision)."""
    details = request.details
    if spec is None:
        spec = request.spec
    return {
        "action": request.action,
        "kind": _KIND_TEXT[spec.kind],  # Enum.value is a slow descriptor on the hot path
        "agent": agent,
        "project": project_of(details),
        "count": spec.count(details),
        "details": details,
    }


_KIND_TEXT: Final[dict[ActionKind, str]] = {kind: kind.value for kind in ActionKind}


# --------------------------------------------------------------------------- details types


def _family(schema: Mapping[str, Any]) -> set[str]:
    """The type families a JSON Schema fragment admits (null is left out)."""
    if schema.get("x-jiragate-site") == "priority" or (
        "enum" in schema and set(schema["enum"]) <= set(JIRA_DEFAULT_NAMES)
    ):
        return {PRIORITY}
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        return set().union(*(_family(branch) for branch in branches))
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    families = set()
    for name in types:
        if name in ("integer", "number"):
            families.add(NUMBER)
        elif name in ("string", "boolean", "array", "object"):
            families.add({"string": STRING, "boolean": BOOLEAN, "array": ARRAY}.get(name, OBJECT))
        elif name is None and "enum" in schema:
            families.add(STRING)
    return families


def _lookup(schema: Mapping[str, Any], parts: list[str]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] = schema
    for part in parts:
        properties = node.get("properties")
        if isinstance(properties, Mapping) and part in properties:
            node = properties[part]
        elif isinstance(node.get("additionalProperties"), Mapping):
            # A map such as customFields: any key, each value by one schema.
            node = node["additionalProperties"]
        else:
            return None
    return node


def schema_node(schema: Mapping[str, Any], parts: list[str]) -> Mapping[str, Any] | None:
    """The schema of `details.<parts>` in one action's schema, or None."""
    return _lookup(schema, parts)


class FieldInfo:
    """What the catalog says about one `details.<path>` across a set of actions."""

    __slots__ = ("actions", "enum", "family")

    def __init__(self, family: str, actions: tuple[str, ...], enum: tuple[Any, ...] | None) -> None:
        self.family = family
        self.actions = actions
        self.enum = enum


def details_field(path: str, actions: Iterable[str]) -> FieldInfo | None:
    """Type of `details.<path>` in the given actions, or None if none of them has it."""
    names = tuple(actions)
    if _BUILT_IN.issuperset(names):  # fixed schemas: the answer never changes
        return _cached_details_field(path, names)
    return _details_field(path, names)  # an action registered at run time may be replaced


_BUILT_IN: Final = frozenset(ACTION_NAMES)


@lru_cache(maxsize=4096)  # the loader asks once per condition: 30,000 times at 10,000 rules
def _cached_details_field(path: str, actions: tuple[str, ...]) -> FieldInfo | None:
    return _details_field(path, actions)


def _details_field(path: str, actions: tuple[str, ...]) -> FieldInfo | None:
    parts = split_path(path)
    families: set[str] = set()
    found: list[str] = []
    enums: set[Any] = set()
    open_values = False
    for action in actions:
        node = _lookup(load_action_schema(action), parts)
        if node is None:
            continue
        found.append(action)
        families |= _family(node)
        if "enum" in node:
            enums.update(node["enum"])
        else:
            open_values = True
    if not found:
        return None
    family = families.pop() if len(families) == 1 else ANY
    enum = None if open_values or not enums else tuple(sorted(enums, key=str))
    return FieldInfo(family, tuple(found), enum)


def known_details_fields(actions: Iterable[str]) -> list[str]:
    """Every top-level and nested object field of the given actions' details, for messages."""
    names: set[str] = set()

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for name, child in (node.get("properties") or {}).items():
            names.add(prefix + name)
            if isinstance(child, Mapping) and child.get("type") == "object":
                walk(child, f"{prefix}{name}.")

    for action in actions:
        walk(load_action_schema(action), "")
    return sorted(names)

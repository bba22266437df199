"""What an action is: its kind, schema, count, edit rules and preview, in one `ActionSpec`.

Every built-in action is declared once, in `jiragate.catalog.actions`, and registered here
(`register`), in the order users see in listings and error messages. Everything that asks
about an action — validation, the facts policies see, reviewer edits, the inbox preview, the
Jira adapter (whose handlers register against the spec name, jira -> catalog) — reads its
spec from this registry, so adding an action is one spec, one schema, one handler.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jiragate.catalog.priorities import PriorityOrder
from jiragate.catalog.rules import FieldRule
from jiragate.errors import DetailsViolation, UnknownActionError


class ActionKind(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


class SideEffects(enum.StrEnum):
    """What an action does to what is already in Jira, as MCP's `destructiveHint` tells a
    client: nothing (a read), only adds or edits (additive), or may destroy or renumber what
    was there (destructive). Most actions follow their kind; a write such as moving an issue
    to another project (a new key, fields and status dropped where the target lacks them)
    declares `DESTRUCTIVE` without becoming a DESTRUCTIVE action (which policies deny by
    default)."""

    NONE = "none"
    ADDITIVE = "additive"
    DESTRUCTIVE = "destructive"


_KIND_EFFECTS = {
    ActionKind.READ: SideEffects.NONE,
    ActionKind.WRITE: SideEffects.ADDITIVE,
    ActionKind.DESTRUCTIVE: SideEffects.DESTRUCTIVE,
}


#: How the inbox shows what an action would do (web/previews.py): the tickets it would
#: create, each issue's status / assignee / sprint / points before and after, the issues it
#: would remove, or (generic) the issues it touches and its details.
PreviewKind = Literal["tickets", "transition", "assign", "sprint", "points", "remove", "generic"]
PREVIEW_KINDS: tuple[str, ...] = (
    "tickets",
    "transition",
    "assign",
    "sprint",
    "points",
    "remove",
    "generic",
)

Details = Mapping[str, Any]
#: A check a JSON Schema cannot express, beyond the ones every action gets (one project,
#: NFC labels, JQL inside its project): each broken rule as a violation with its pointer.
Invariant = Callable[[Details], Iterable[DetailsViolation]]
#: Adjusts the effective payload after a reviewer's patch was laid over the details
#: (`(details, patch, effective, site priorities) -> effective`), e.g. a lower issueCount
#: keeps the first tickets, a bulk priority caps the tickets' in the site's order.
PatchHook = Callable[[Details, Details, dict[str, Any], PriorityOrder], dict[str, Any]]
#: An edit rule across fields (`(original, effective) -> violations`), after the per-field rules.
CrossFieldCheck = Callable[[Details, Details], list[DetailsViolation]]


@dataclass(frozen=True, slots=True, eq=False)
class ActionSpec:
    """One action, everything the gateway knows about it (compared by identity)."""

    name: str
    kind: ActionKind
    #: Repeating the action with the same details leaves Jira as one call would.
    idempotent: bool
    #: How many issues the (validated) action creates or touches: the policies' `count`.
    count: Callable[[Details], int]
    #: field -> how a reviewer may change it (docs/approvals.md); a field not listed is fixed.
    edit_rules: Mapping[str, FieldRule] = field(default_factory=dict)
    preview: PreviewKind = "generic"
    #: The preview's heading, when the kind's own ("Issues this action touches", …) is not it.
    preview_heading: str | None = None
    invariants: tuple[Invariant, ...] = ()
    patch_hook: PatchHook | None = None
    cross_field_check: CrossFieldCheck | None = None
    #: The JSON Schema of `details`; None reads `schemas/actions/<name>.json`.
    inline_schema: Mapping[str, Any] | None = None
    #: What the action does to what exists (MCP's destructiveHint); None follows `kind`.
    side_effects: SideEffects | None = None
    #: The projects the action writes to besides its `project` fact (a move's target). The
    #: policies decide the action once per project and the strictest decision holds
    #: (policy/engine.py), so a rule scoping an agent to projects covers every one of them.
    other_projects: Callable[[Details], tuple[str, ...]] | None = None

    @property
    def effects(self) -> SideEffects:
        """The declared side effects, else the ones of the action's kind."""
        return self.side_effects if self.side_effects is not None else _KIND_EFFECTS[self.kind]

    def projects_besides(self, details: Details) -> tuple[str, ...]:
        """The (validated) action's other projects, `()` for an action in one project."""
        return self.other_projects(details) if self.other_projects is not None else ()

    @property
    def schema(self) -> dict[str, Any]:
        if self.inline_schema is not None:
            return dict(self.inline_schema)
        return _schema_file(self.name)

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))


class ActionRegistry(Mapping[str, ActionSpec]):
    """Action name -> spec, in registration order (the order of listings)."""

    def __init__(self) -> None:
        self._specs: dict[str, ActionSpec] = {}

    def __getitem__(self, name: str) -> ActionSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def add(self, spec: ActionSpec) -> ActionSpec:
        if spec.name in self._specs:
            raise ValueError(f"action {spec.name!r} is declared twice")
        if spec.preview not in PREVIEW_KINDS:
            raise ValueError(f"action {spec.name!r}: unknown preview kind {spec.preview!r}")
        # A declaration may announce more harm than its kind, never less: a read changes
        # nothing, a write changes something, a destructive action is never "additive".
        if (spec.kind is ActionKind.READ) != (spec.effects is SideEffects.NONE) or (
            spec.kind is ActionKind.DESTRUCTIVE and spec.effects is not SideEffects.DESTRUCTIVE
        ):
            raise ValueError(
                f"action {spec.name!r}: a {spec.kind.value} cannot have {spec.effects.value} "
                "side effects"
            )
        self._specs[spec.name] = spec
        return spec

    def remove(self, name: str) -> None:
        del self._specs[name]


CATALOG = ActionRegistry()


def register(spec: ActionSpec) -> ActionSpec:
    """Add an action to the catalog (the built-ins do this when `jiragate.catalog` loads)."""
    return CATALOG.add(spec)


@contextmanager
def registered(spec: ActionSpec) -> Iterator[ActionSpec]:
    """The catalog with `spec` in it for the duration (tests and tools that try an action).

    Names imported as `ACTION_NAMES` elsewhere are the built-ins, fixed when the catalog
    loaded; everything that looks an action up by name (`get_spec`, `CATALOG`) sees it."""
    register(spec)
    try:
        yield spec
    finally:
        CATALOG.remove(spec.name)


def get_spec(name: object) -> ActionSpec:
    """The catalog entry for `name`, or an error listing the known actions."""
    if not isinstance(name, str) or name not in CATALOG:
        raise UnknownActionError(name, tuple(CATALOG))
    return CATALOG[name]


def schemas_dir() -> Path:
    """The directory holding the JSON Schemas (installed wheel first, then the source tree)."""
    packaged = Path(__file__).parents[1] / "_data" / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "schemas"


@cache
def _schema_file(name: str) -> dict[str, Any]:
    path = schemas_dir() / "actions" / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def load_action_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the action's `details`."""
    return get_spec(name).schema

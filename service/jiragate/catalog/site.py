"""What one Jira site calls things: its issue types, priorities, statuses, resolutions, fields
and link types, as data, and the checks of an action's details against them.

Sites differ (Data Center's "Sub-task", priorities "P1".."P4", a type "Incident", a
team-managed project with only "Story point estimate"), so the action schemas hold no enums
for these: the values are checked here, against the `SiteMetadata` the gateway fetched through
the adapter (jiragate.jira.sitemeta) or a saved snapshot (`jiragate jira snapshot`). This
module is pure: it never fetches; the caller passes the site in.

Which details hold which kind of site value is read from the action schemas: a property
annotated `"x-jiragate-site": "priority" | "issuetype" | "status" | "resolution"`, and the
`customFields` objects (keys are custom field names or ids).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from jiragate.catalog.spec import ActionSpec, get_spec
from jiragate.errors import DetailsViolation

SITE_KINDS: Final = ("priority", "issuetype", "status", "resolution")
#: The snapshot format's version (`jiragate jira snapshot` writes it; `check --site` reads it).
SNAPSHOT_VERSION: Final = 1
#: The names Jira sites give the story points field (company-managed, older, team-managed).
STORY_POINT_NAMES: Final = ("Story Points", "Story points", "Story point estimate")
_STORY_POINT_FOLDED: Final = frozenset(name.casefold() for name in STORY_POINT_NAMES)
#: The custom fields that have an action (or detail) of their own, which `customFields` may
#: therefore not set: (what the field is, where it is set instead, by default and per action).
_OWN_FIELDS: Final = {
    **{
        name: (
            "a story points field",
            "jira_update_story_points",
            {"jira_create_ticket": "its `storyPoints`"},
        )
        for name in _STORY_POINT_FOLDED
    },
    "epic name": ("an epic's name", "jira_update_epic's `epicName`", {}),
}
#: Field names (case-folded) `customFields` refuses, for `jiragate check`'s warning.
OWN_FIELD_NAMES: Final = frozenset(_OWN_FIELDS)
_LISTED = 30  # valid values shown in one error message


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of the site (`GET /field`): custom fields are matched by `name`."""

    id: str
    name: str
    custom: bool = False
    type: str | None = None
    #: A custom field's plugin type (`schema.custom`, e.g. Jira Software's LexoRank) and
    #: numeric id (`schema.customId`): what tells the site's default Rank field.
    custom_type: str | None = None
    custom_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "custom": self.custom,
            "type": self.type,
        }
        if self.custom_type is not None:
            shown["customType"] = self.custom_type
        if self.custom_id is not None:
            shown["customId"] = self.custom_id
        return shown


@dataclass(frozen=True, slots=True)
class SiteMetadata:
    """A site's vocabulary. Tuples keep the site's order (priorities: highest first)."""

    flavour: str = "cloud"
    priorities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    #: Every issue type of the site; `project_issue_types` narrows them per project.
    issue_types: tuple[str, ...] = ()
    subtask_types: tuple[str, ...] = ()
    project_issue_types: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fields: tuple[FieldInfo, ...] = ()
    link_types: tuple[str, ...] = ()

    # ------------------------------------------------------------------ lookups

    def values(self, kind: str, project: str | None = None) -> tuple[str, ...]:
        """The valid values of one kind (issue types: the project's, when known)."""
        if kind == "issuetype":
            if project is not None and project in self.project_issue_types:
                return self.project_issue_types[project]
            return self.issue_types
        return {
            "priority": self.priorities,
            "status": self.statuses,
            "resolution": self.resolutions,
        }[kind]

    def custom_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.fields if f.custom)

    def fields_named(self, name: str) -> list[FieldInfo]:
        """Fields whose name is `name` (case-insensitive, as Jira's JQL matches them)."""
        folded = name.casefold()
        return [f for f in self.fields if f.name.casefold() == folded]

    def field_by_id(self, field_id: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.id == field_id), None)

    @property
    def subtask_type(self) -> str | None:
        """The site's sub-task type name ("Subtask" on Cloud, "Sub-task" on Data Center)."""
        return self.subtask_types[0] if self.subtask_types else None

    # ------------------------------------------------------------------ snapshot

    def as_dict(self) -> dict[str, Any]:
        return {
            "jiragateSiteSnapshot": SNAPSHOT_VERSION,
            "flavour": self.flavour,
            "priorities": list(self.priorities),
            "statuses": list(self.statuses),
            "resolutions": list(self.resolutions),
            "issueTypes": list(self.issue_types),
            "subtaskTypes": list(self.subtask_types),
            "projectIssueTypes": {k: list(v) for k, v in sorted(self.project_issue_types.items())},
            "fields": [f.as_dict() for f in self.fields],
            "linkTypes": list(self.link_types),
        }

    @classmethod
    def from_dict(cls, data: object) -> SiteMetadata:
        """A snapshot read back; ValueError names what is missing or malformed."""
        if not isinstance(data, Mapping) or data.get("jiragateSiteSnapshot") != SNAPSHOT_VERSION:
            raise ValueError(
                "not a Jiragate site snapshot (expected an object with "
                f'"jiragateSiteSnapshot": {SNAPSHOT_VERSION}; make one with '
                "`jiragate jira snapshot --out site.json`)"
            )

        def names(key: str) -> tuple[str, ...]:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"site snapshot: {key!r} must be a list of names")
            return tuple(value)

        projects = data.get("projectIssueTypes", {})
        if not isinstance(projects, Mapping):
            raise ValueError("site snapshot: 'projectIssueTypes' must map project keys to lists")
        fields_raw = data.get("fields", [])
        if not isinstance(fields_raw, list):
            raise ValueError("site snapshot: 'fields' must be a list")
        parsed: list[FieldInfo] = []
        for index, item in enumerate(fields_raw):
            if not isinstance(item, Mapping) or not all(
                isinstance(item.get(k), str) for k in ("id", "name")
            ):
                raise ValueError(f"site snapshot: fields[{index}] needs string 'id' and 'name'")
            custom_type, custom_id = item.get("customType"), item.get("customId")
            if custom_type is not None and not isinstance(custom_type, str):
                raise ValueError(f"site snapshot: fields[{index}].customType must be a string")
            if custom_id is not None and (
                isinstance(custom_id, bool) or not isinstance(custom_id, int)
            ):
                raise ValueError(f"site snapshot: fields[{index}].customId must be an integer")
            parsed.append(
                FieldInfo(
                    str(item["id"]),
                    str(item["name"]),
                    bool(item.get("custom")),
                    item.get("type"),
                    custom_type,
                    custom_id,
                )
            )
        project_types: dict[str, tuple[str, ...]] = {}
        for key, types in projects.items():
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise ValueError(f"site snapshot: projectIssueTypes[{key!r}] must list names")
            project_types[str(key)] = tuple(types)
        return cls(
            flavour=str(data.get("flavour", "cloud")),
            priorities=names("priorities"),
            statuses=names("statuses"),
            resolutions=names("resolutions"),
            issue_types=names("issueTypes"),
            subtask_types=names("subtaskTypes"),
            project_issue_types=project_types,
            fields=tuple(parsed),
            link_types=names("linkTypes"),
        )


# --------------------------------------------------------------------------- messages


def suggestion(value: str, valid: Sequence[str]) -> str:
    """ ", did you mean 'X'?" for a near miss (case or a typo), else ""."""
    folded = {v.casefold(): v for v in valid}
    if value.casefold() in folded:
        return f"; did you mean {folded[value.casefold()]!r}? (names are matched exactly)"
    close = difflib.get_close_matches(value, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def listing(valid: Sequence[str]) -> str:
    shown = ", ".join(repr(v) for v in valid[:_LISTED])
    more = f" and {len(valid) - _LISTED} more" if len(valid) > _LISTED else ""
    return (shown + more) or "none"


_NOUNS: Final = {
    "priority": "priority",
    "issuetype": "issue type",
    "status": "status",
    "resolution": "resolution",
}


def unknown_value_message(kind: str, value: str, valid: Sequence[str], where: str) -> str:
    noun = _NOUNS[kind]
    article = "an" if noun[0] in "aeiou" else "a"
    return (
        f"{value!r} is not {article} {noun} {where}{suggestion(value, valid)} "
        f"(valid: {listing(valid)})"
    )


# --------------------------------------------------------------------------- details


Path = tuple[str, ...]  # property names; "*" for every item of a list


def _paths(schema: Mapping[str, Any], prefix: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, kind) of every site-dependent property a schema declares."""
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        kind = sub.get("x-jiragate-site")
        if kind in SITE_KINDS:
            yield (*prefix, name), str(kind)
        elif name == "customFields":
            yield (*prefix, name), "customfield"
        else:
            yield from _paths(sub, (*prefix, name))
            items = sub.get("items")
            if isinstance(items, Mapping):
                yield from _paths(items, (*prefix, name, "*"))


@cache
def _site_paths(spec: ActionSpec) -> tuple[tuple[Path, str], ...]:
    # Per spec object (compared by identity): an action registered at run time gets its own.
    return tuple(_paths(spec.schema))


def _at(node: Any, path: Path, pointer: str) -> Iterator[tuple[str, Any]]:
    if not path:
        yield pointer, node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _at(item, rest, f"{pointer}/{index}")
    elif isinstance(node, dict) and head in node:
        yield from _at(node[head], rest, f"{pointer}/{head}")


def site_values(spec: ActionSpec, details: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(pointer, kind, value) of every site-dependent value in `details`, by the schema's
    `x-jiragate-site` annotations; kind "customfield" for each key of a `customFields`."""
    for path, kind in _site_paths(spec):
        for pointer, value in _at(details, path, ""):
            if kind == "customfield":
                if isinstance(value, dict):
                    for key in value:
                        yield f"{pointer}/{key}", kind, key
            elif isinstance(value, str):
                yield pointer, kind, value


def resolve_custom_field(site: SiteMetadata, key: str) -> tuple[FieldInfo | None, str | None]:
    """The custom field a `customFields` key names (an id, or a name), or why none."""
    if key.startswith("customfield_"):
        found = site.field_by_id(key)
        if found is not None and found.custom:
            return found, None
        return None, f"this site has no custom field {key}"
    named = [f for f in site.fields_named(key) if f.custom]
    if len(named) == 1:
        return named[0], None
    if len(named) > 1:
        ids = ", ".join(f.id for f in named)
        return None, (
            f"{len(named)} custom fields are named {key!r} on this site ({ids}); name it by id"
        )
    names = sorted({f.name for f in site.custom_fields()})
    return None, (
        f"this site has no custom field named {key!r}{suggestion(key, names)} "
        f"(custom fields: {listing(names)})"
    )


def own_field_problem(
    action: str, name: str, field_id: str | None = None, *, story_points: bool = False
) -> str | None:
    """Why `customFields` may not set this field, or None. A story points field and Data
    Center's Epic Name have an action (or detail) of their own, and a second way to set them
    would step around the rules on it: a policy that gates `jira_update_story_points` (or
    matches `details.storyPoints`), or routes epic changes to other reviewers than field
    edits, must see every change, as it does the sprint, epic link and rank fields'.
    `story_points`: the field is the one the settings name as story points, whatever its
    name."""
    own = _OWN_FIELDS.get("story points" if story_points else name.casefold())
    if own is None:
        return None
    what, home, homes = own
    named = f"{name!r} ({field_id})" if field_id else repr(name)
    return (
        f"{named} is {what}: set it with {homes.get(action, home)}, where the rules on it "
        "apply, not through customFields"
    )


def site_violations(
    action: str, details: Mapping[str, Any], site: SiteMetadata
) -> list[DetailsViolation]:
    """Every value of `details` this site does not have, each with the site's valid ones.

    A kind the site listed nothing for (metadata that could not be read) is not checked:
    Jira itself still refuses an invalid value, and an empty list would refuse every one."""
    from jiragate.catalog.details import project_of  # details imports spec; avoid a cycle

    project = project_of(details)
    violations: list[DetailsViolation] = []
    for pointer, kind, value in site_values(get_spec(action), details):
        if kind == "customfield":
            if not site.fields:
                continue
            found, problem = resolve_custom_field(site, value)
            if problem:
                violations.append(DetailsViolation(pointer, "site-field", problem))
            elif found is not None:
                own = own_field_problem(action, found.name, found.id)
                if own:
                    violations.append(DetailsViolation(pointer, "own-action-field", own))
            continue
        valid = site.values(kind, project)
        if not valid or value in valid:
            continue
        where = (
            f"of project {project} on this site"
            if kind == "issuetype" and project in site.project_issue_types
            else "on this site"
        )
        violations.append(
            DetailsViolation(
                pointer, f"site-{kind}", unknown_value_message(kind, value, valid, where)
            )
        )
    return sorted(violations, key=lambda v: _document_order(v.pointer))


def _document_order(pointer: str) -> tuple[tuple[int, int | str], ...]:
    """/tickets/2/x before /tickets/10/x: list indexes compare as numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in pointer.split("/"))


def custom_fields_by_name(values: Mapping[str, Any], site: SiteMetadata) -> dict[str, Any]:
    """A `customFields` object keyed by field name (what policies match), ids resolved; a key
    that names no single field is kept as given (site_violations refuses it)."""
    named: dict[str, Any] = {}
    for key, value in values.items():
        found, _ = resolve_custom_field(site, key)
        name = found.name if found is not None and len(site.fields_named(found.name)) == 1 else key
        named[name] = value
    return named


def with_named_custom_fields(details: Mapping[str, Any], site: SiteMetadata) -> dict[str, Any]:
    """`details` with every `customFields` object keyed by field name, so a policy on
    `details.customFields."Story Points"` sees a value an agent sent by id too."""

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {
                key: custom_fields_by_name(value, site)
                if key == "customFields" and isinstance(value, Mapping)
                else walk(value)
                for key, value in node.items()
            }
        return node

    named: dict[str, Any] = walk(details)
    return named

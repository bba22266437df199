"""The action catalog: every Jira action the gateway knows, what kind it is, and its schema.

The catalog, not the agent, decides whether an action is a read, a write or destructive
(PRODUCT.md, principle 2). Each action's `details` are described by a JSON Schema in
`schemas/actions/<name>.json`; on top of the schema the catalog enforces invariants a schema
cannot express: an action stays inside one Jira project (for a search, its JQL names no other
project: jiragate.jql), and a bulk creation's `issueCount` agrees with the tickets it lists.

It also derives the *facts* that policies match on besides `details`: the `project` an action
touches and the `count` of issues it touches or creates; and it declares, per action and
field, how a reviewer's edit may change the details (`EDIT_RULES`, checked by
`narrowed_details`).
"""

from __future__ import annotations

import enum
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.validators import validator_for

from jiragate import jql, strictjson
from jiragate.errors import (
    ActionError,
    DetailsViolation,
    EditRefusedError,
    InvalidDetailsError,
    InvalidJQLError,
    UnknownActionError,
    UnsafeJSONError,
)


class ActionKind(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One catalog entry."""

    name: str
    kind: ActionKind
    #: Repeating the action with the same details leaves Jira as one call would.
    idempotent: bool
    #: Where the default count comes from when the action creates or touches issues.
    count_from: str | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return load_action_schema(self.name)

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))


# The order here is the order users see in listings and error messages.
_SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("jira_get_issue", ActionKind.READ, idempotent=True),
    ActionSpec("jira_search", ActionKind.READ, idempotent=True),
    ActionSpec("jira_get_transitions", ActionKind.READ, idempotent=True),
    ActionSpec("jira_list_sprints", ActionKind.READ, idempotent=True),
    ActionSpec("jira_create_ticket", ActionKind.WRITE, idempotent=False),
    ActionSpec("jira_create_tickets", ActionKind.WRITE, idempotent=False, count_from="issueCount"),
    ActionSpec("jira_transition_issues", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_move_to_sprint", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_update_story_points", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_update_fields", ActionKind.WRITE, idempotent=False),
    ActionSpec("jira_assign_issues", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_add_comment", ActionKind.WRITE, idempotent=False),
    ActionSpec("jira_create_epic", ActionKind.WRITE, idempotent=False),
    ActionSpec("jira_update_epic", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_create_release", ActionKind.WRITE, idempotent=False),
    ActionSpec("jira_update_release", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_release_version", ActionKind.WRITE, idempotent=True),
    ActionSpec("jira_delete_issues", ActionKind.DESTRUCTIVE, idempotent=True),
    ActionSpec("jira_archive_issues", ActionKind.DESTRUCTIVE, idempotent=True),
)

CATALOG: Mapping[str, ActionSpec] = {spec.name: spec for spec in _SPECS}
ACTION_NAMES: tuple[str, ...] = tuple(CATALOG)

# Keys of `details` that hold issue keys, by shape: a single key or a list of keys.
_SINGLE_KEY_FIELDS = ("issueKey", "epicKey", "parentKey")
_KEY_LIST_FIELDS = ("issueKeys", "childIssueKeys", "addChildIssueKeys")


def schemas_dir() -> Path:
    """The directory holding the JSON Schemas (installed wheel first, then the source tree)."""
    packaged = Path(__file__).parent / "_data" / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_action_schema(name: str) -> dict[str, Any]:
    path = schemas_dir() / "actions" / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_action_schema(name)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _is_date(value: object) -> bool:
    # The same test jsonschema's format checker applies to "date", so both paths agree.
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@cache
def _fast_check(name: str) -> Callable[[Any], Any]:
    """The schema compiled to Python code (fastjsonschema): about 12x faster than walking it.

    It only answers "valid or not" on the hot path; any failure is re-checked by jsonschema,
    which names every pointer and rule. Our action schemas use only keywords that draft 7 and
    2020-12 define alike, so the compiled draft-7 check agrees (tests/policy/test_catalog.py
    checks that on generated instances)."""
    schema = {**load_action_schema(name), "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(schema, formats={"date": _is_date})


def get_spec(name: object) -> ActionSpec:
    """The catalog entry for `name`, or an error listing the known actions."""
    if not isinstance(name, str) or name not in CATALOG:
        raise UnknownActionError(name, ACTION_NAMES)
    return CATALOG[name]


# --------------------------------------------------------------------------- the envelope


_ENVELOPE_FIELDS = {"action", "summary", "details", "justification"}
MAX_SUMMARY = 1000
MAX_JUSTIFICATION = 4000


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """A proposed action as an agent sends it: `{action, summary, details, justification?}`."""

    action: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    justification: str | None = None

    @property
    def spec(self) -> ActionSpec:
        return CATALOG[self.action]

    @property
    def kind(self) -> ActionKind:
        return self.spec.kind

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action,
            "summary": self.summary,
            "details": self.details,
        }
        if self.justification is not None:
            out["justification"] = self.justification
        return out


def _envelope_error(message: str) -> ActionError:
    return ActionError(f"invalid request envelope: {message}")


def parse_envelope(data: object) -> ActionRequest:
    """Check the envelope, the action name and its details; return a validated request.

    Unknown envelope fields are refused rather than ignored, so nothing an agent adds (a
    `kind`, a `readonly` flag) can change how the gateway classifies the action.
    """
    if not isinstance(data, Mapping):
        raise _envelope_error(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _ENVELOPE_FIELDS)
    if unknown:
        raise _envelope_error(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
            "action, summary, details, justification"
        )
    if "action" not in data:
        raise _envelope_error("missing required field 'action'")
    spec = get_spec(data["action"])
    for name in ("summary", "justification"):
        if isinstance(data.get(name), str):
            problem = strictjson.string_problem(data[name])
            if problem is not None:
                raise UnsafeJSONError(f"/{name}", problem)
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise _envelope_error("'summary' must be a non-empty string")
    if len(summary) > MAX_SUMMARY:
        raise _envelope_error(f"'summary' is longer than {MAX_SUMMARY} characters")
    justification = data.get("justification")
    if justification is not None and not isinstance(justification, str):
        raise _envelope_error("'justification' must be a string")
    if justification is not None and len(justification) > MAX_JUSTIFICATION:
        raise _envelope_error(f"'justification' is longer than {MAX_JUSTIFICATION} characters")
    details = data.get("details", {})
    validate_details(spec.name, details)
    return ActionRequest(
        action=spec.name,
        summary=summary,
        details=normalise_details(details),
        justification=justification,
    )


def normalise_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """The (validated) details policies see and the store keeps. A search's JQL is replaced
    by its canonical serialisation (jiragate.jql), the text Jira will be sent inside the
    project restriction: a policy matching `details.jql` sees what runs, not spellings
    (escapes, quoting, case) that read differently from what Jira executes."""
    normalised = dict(details)
    if isinstance(normalised.get("jql"), str):
        normalised["jql"] = jql.canonical(normalised["jql"], normalised.get("projectKey"))
    return normalised


# --------------------------------------------------------------------------- details


def _pointer(path: Iterator[Any] | Any) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)


def validate_details(name: str, details: object) -> None:
    """Raise InvalidDetailsError naming every JSON pointer and rule broken."""
    spec = get_spec(name)
    if not isinstance(details, Mapping):
        raise InvalidDetailsError(
            name, [DetailsViolation("", "type", "details must be a JSON object")]
        )
    try:
        # Before the schema: NaN passes every minimum/maximum, and neither the store nor
        # Jira can take a NUL, a lone surrogate or an integer beyond 64 bits.
        strictjson.check_value(details)
    except UnsafeJSONError as exc:
        violation = DetailsViolation(exc.pointer, "strict-json", exc.problem)
        raise InvalidDetailsError(name, [violation]) from None
    try:
        _fast_check(spec.name)(details)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        violations = _invariant_violations(spec, details)
        if violations:
            raise InvalidDetailsError(name, violations)
        return
    errors = sorted(_validator(spec.name).iter_errors(details), key=lambda e: list(e.path))
    violations = [
        DetailsViolation(_pointer(error.absolute_path), str(error.validator), error.message)
        for error in errors
    ]
    if not violations:
        violations = _invariant_violations(spec, details)
    if violations:
        raise InvalidDetailsError(name, violations)


def _invariant_violations(spec: ActionSpec, details: Mapping[str, Any]) -> list[DetailsViolation]:
    violations: list[DetailsViolation] = []
    tickets = details.get("tickets")
    if tickets is not None and len(tickets) != details["issueCount"]:
        violations.append(
            DetailsViolation(
                "/issueCount",
                "count-matches-tickets",
                f"issueCount is {details['issueCount']} but {len(tickets)} tickets are given",
            )
        )
    violations.extend(_jql_violations(details))
    projects: dict[str, str] = {}
    if "projectKey" in details:
        projects[details["projectKey"]] = "/projectKey"
    for pointer, key in _referenced_issue_keys(details):
        project = key.rsplit("-", 1)[0]
        if projects and project not in projects:
            first = next(iter(projects))
            violations.append(
                DetailsViolation(
                    pointer,
                    "single-project",
                    f"{key} is in project {project}, but this action is about {first} "
                    "(one action stays inside one project; split it)",
                )
            )
            break
        projects.setdefault(project, pointer)
    violations.extend(_non_canonical_labels(details))
    return violations


def _label_pointers(details: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name in ("labels", "addLabels", "removeLabels"):
        for index, label in enumerate(details.get(name) or ()):
            yield f"/{name}/{index}", label
    fields = details.get("fields")  # an object in jira_update_fields, a list in reads
    if isinstance(fields, Mapping):
        for index, label in enumerate(fields.get("labels") or ()):
            yield f"/fields/labels/{index}", label
    for number, ticket in enumerate(details.get("tickets") or ()):
        for index, label in enumerate(ticket.get("labels") or ()):
            yield f"/tickets/{number}/labels/{index}", label


def _non_canonical_labels(details: Mapping[str, Any]) -> Iterator[DetailsViolation]:
    """Labels must be in Unicode NFC: "é" typed as e + U+0301 is another label to a
    policy's `contains`, but may be the same one to Jira (the schema's pattern already
    refuses whitespace and control and format characters)."""
    for pointer, label in _label_pointers(details):
        if isinstance(label, str) and not unicodedata.is_normalized("NFC", label):
            yield DetailsViolation(
                pointer,
                "canonical",
                f"label {label!r} is not in Unicode normal form NFC; send "
                f"{unicodedata.normalize('NFC', label)!r}",
            )


def _jql_violations(details: Mapping[str, Any]) -> list[DetailsViolation]:
    """A search's JQL must parse and name no project but its projectKey (jiragate.jql)."""
    text = details.get("jql")
    if not isinstance(text, str):
        return []
    try:
        jql.canonical(text, details.get("projectKey"))
    except InvalidJQLError as exc:
        return [DetailsViolation("/jql", "jql-in-project", str(exc))]
    return []


def _referenced_issue_keys(details: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name in _SINGLE_KEY_FIELDS:
        if isinstance(details.get(name), str):
            yield f"/{name}", details[name]
    for name in _KEY_LIST_FIELDS:
        for index, key in enumerate(details.get(name) or ()):
            yield f"/{name}/{index}", key
    for index, update in enumerate(details.get("updates") or ()):
        yield f"/updates/{index}/issueKey", update["issueKey"]


# --------------------------------------------------------------------------- facts


def project_of(details: Mapping[str, Any]) -> str | None:
    """The one project a (validated) action is about, or None when it names none."""
    if isinstance(details.get("projectKey"), str):
        return str(details["projectKey"])
    for _, key in _referenced_issue_keys(details):
        return key.rsplit("-", 1)[0]
    return None


def count_of(name: str, details: Mapping[str, Any]) -> int:
    """How many issues a (validated) action creates or touches."""
    if name == "jira_create_tickets":
        return int(details["issueCount"])
    if name == "jira_search":
        return int(details.get("maxResults", 50))
    if name == "jira_update_story_points":
        return len(details["updates"])
    if name in ("jira_create_epic", "jira_update_epic"):
        children = details.get("childIssueKeys") or details.get("addChildIssueKeys") or ()
        return 1 + len(children)
    if "issueKeys" in details:
        return len(details["issueKeys"])
    if name in (
        "jira_list_sprints",
        "jira_create_release",
        "jira_update_release",
        "jira_release_version",
    ):
        return 0
    return 1


def issue_keys_of(details: Mapping[str, Any]) -> set[str]:
    return {key for _, key in _referenced_issue_keys(details)}


# --------------------------------------------------------------------------- reviewer edits
#
# A reviewer approves what the agent proposed, or less of it. Which fields a reviewer may
# change, and how, is declared here per action and field (EDIT_RULES, shown as a table in
# docs/approvals.md); every field not listed is fixed. `narrowed_details` is the one check,
# used by Gateway.check_edit for API, inbox and Cheqpoint decisions alike.


class EditRule(enum.StrEnum):
    """How a reviewer may change one field of an action's details."""

    #: May not change (the default for every field not listed).
    FIXED = "fixed"
    #: A count (issueCount, maxResults) may only go down.
    NARROW_COUNT = "narrow_count"
    #: A number (story points) may not go above what was proposed.
    MAX = "max"
    #: A priority may only go down: Highest > High > Medium > Low > Lowest.
    LOWER_PRIORITY = "lower_priority"
    #: A list (issue keys, labels to add or remove) may only lose items.
    SUBSET = "subset"
    #: A text the action writes (summary, description, comment) may be reworded.
    TEXT = "text"
    #: A flag may be turned off, never on (deleteSubtasks).
    FALSE_ONLY = "false_only"


@dataclass(frozen=True, slots=True)
class NestedRules:
    """A nested object (`fields`): each key by its rule (unlisted keys are fixed). A key may
    be left out — that field is then not changed in Jira — but none may be added."""

    rules: Mapping[str, FieldRule]


@dataclass(frozen=True, slots=True)
class ItemRules:
    """A list of objects (`tickets`, `updates`): the edit keeps some of the proposed items, in
    their order, each narrowed by `rules`. An `inherited` field an item does not set has its
    parent's value (a ticket without its own priority has the bulk priority)."""

    rules: Mapping[str, FieldRule]
    inherited: tuple[str, ...] = ()


FieldRule = EditRule | NestedRules | ItemRules

#: The priority order of the site, highest first (the schemas' priority enum).
PRIORITIES: tuple[str, ...] = ("Highest", "High", "Medium", "Low", "Lowest")
_PRIORITY_RANK = {name: len(PRIORITIES) - index for index, name in enumerate(PRIORITIES)}

_FIXED, _TEXT, _SUBSET = EditRule.FIXED, EditRule.TEXT, EditRule.SUBSET
_LOWER = EditRule.LOWER_PRIORITY
_TICKET = ItemRules(
    {
        "summary": _FIXED,
        "description": _FIXED,
        "issueType": _FIXED,
        "priority": _LOWER,
        "labels": _SUBSET,
    },
    inherited=("issueType", "priority", "labels"),
)
_STORY_POINTS = ItemRules({"issueKey": _FIXED, "storyPoints": EditRule.MAX})
_ISSUE_TEXTS = {"summary": _TEXT, "description": _TEXT, "priority": _LOWER}

#: action -> field -> rule. Identity (project, issue, epic, version, board), targets (sprint,
#: status, assignee, issue type, dates) and queries (JQL) are fixed: a reviewer who wants
#: another target rejects with a note, and the agent proposes that action for policy to
#: decide. Label *lists that replace* an issue's labels (update_fields' fields.labels,
#: update_epic's labels) are fixed too: dropping a label from them would remove it in Jira.
EDIT_RULES: Mapping[str, Mapping[str, FieldRule]] = {
    "jira_get_issue": {"fields": _SUBSET},
    "jira_search": {"fields": _SUBSET, "maxResults": EditRule.NARROW_COUNT},
    "jira_get_transitions": {},
    "jira_list_sprints": {},
    "jira_create_ticket": {**_ISSUE_TEXTS, "labels": _SUBSET, "storyPoints": EditRule.MAX},
    "jira_create_tickets": {
        "issueCount": EditRule.NARROW_COUNT,
        "priority": _LOWER,
        "labels": _SUBSET,
        "tickets": _TICKET,
    },
    "jira_transition_issues": {"issueKeys": _SUBSET, "comment": _TEXT},
    "jira_move_to_sprint": {"issueKeys": _SUBSET},
    "jira_update_story_points": {"updates": _STORY_POINTS},
    "jira_update_fields": {
        "issueKeys": _SUBSET,
        "fields": NestedRules({**_ISSUE_TEXTS, "labels": _FIXED, "duedate": _FIXED}),
        "addLabels": _SUBSET,
        "removeLabels": _SUBSET,
    },
    "jira_assign_issues": {"issueKeys": _SUBSET},
    "jira_add_comment": {"body": _TEXT},
    "jira_create_epic": {**_ISSUE_TEXTS, "labels": _SUBSET, "childIssueKeys": _SUBSET},
    "jira_update_epic": {**_ISSUE_TEXTS, "addChildIssueKeys": _SUBSET},
    "jira_create_release": {"name": _TEXT, "description": _TEXT},
    "jira_update_release": {"name": _TEXT, "description": _TEXT},
    "jira_release_version": {},
    "jira_delete_issues": {"issueKeys": _SUBSET, "deleteSubtasks": EditRule.FALSE_ONLY},
    "jira_archive_issues": {"issueKeys": _SUBSET},
}


def edit_rules(name: str) -> Mapping[str, FieldRule]:
    """The action's edit rules by top-level field; a field not listed is fixed."""
    return EDIT_RULES[get_spec(name).name]


def rule_of(name: str, field_name: str) -> FieldRule:
    return edit_rules(name).get(field_name, EditRule.FIXED)


def apply_patch(name: str, details: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The effective payload: `details` with the keys of a reviewer's `patch` overridden.

    A patch is a shallow override (Cheqpoint's `modifiedDetails`), not RFC 7396: a `null`
    value sets the key to null, it does not delete it, and a nested object (`fields`) is
    replaced by the patch's. For bulk creation, lowering `issueCount` keeps the first tickets;
    a priority the reviewer sets is a ceiling for every ticket (tickets above it are lowered
    to it), and labels the reviewer sets are the most any ticket keeps.
    """
    effective = {**details, **patch}
    tickets = effective.get("tickets")
    if name != "jira_create_tickets" or not isinstance(tickets, list):
        return effective
    kept = [dict(ticket) if isinstance(ticket, Mapping) else ticket for ticket in tickets]
    count = effective.get("issueCount")
    # A patch carrying the proposed tickets unchanged (a whole payload sent back) is no edit.
    edited = "tickets" in patch and not _same(patch["tickets"], details.get("tickets"))
    if not edited and type(count) is int and 0 < count < len(kept):
        kept = kept[:count]
    if "priority" in patch:
        _cap_priorities(kept, patch["priority"])
    if "labels" in patch:
        _cap_labels(kept, patch["labels"])
    effective["tickets"] = kept
    return effective


def _cap_priorities(tickets: list[Any], ceiling: object) -> None:
    if not isinstance(ceiling, str) or ceiling not in _PRIORITY_RANK:
        return  # not a priority: the schema check that follows names it
    for ticket in tickets:
        if isinstance(ticket, dict) and "priority" in ticket:
            own = _PRIORITY_RANK.get(ticket["priority"], len(PRIORITIES) + 1)
            if own >= _PRIORITY_RANK[ceiling]:
                del ticket["priority"]  # it inherits the (lower) bulk priority


def _cap_labels(tickets: list[Any], allowed: object) -> None:
    if not isinstance(allowed, list):
        return
    for ticket in tickets:
        if isinstance(ticket, dict) and isinstance(ticket.get("labels"), list):
            kept = [label for label in ticket["labels"] if label in allowed]
            if sorted(map(str, kept)) == sorted(map(str, allowed)):
                del ticket["labels"]  # the same as the bulk labels: inherit them
            else:
                ticket["labels"] = kept


def narrowed_details(name: str, details: Mapping[str, Any], patch: object) -> dict[str, Any]:
    """The effective payload of a reviewer's patch over (validated) `details`.

    Raises EditRefusedError naming each field and rule when the patch has unknown fields,
    the effective payload is invalid, or it does more than narrow the action. Policy is not
    consulted here (the gateway evaluates the effective payload again)."""
    if not isinstance(patch, Mapping):
        raise EditRefusedError(
            [DetailsViolation("", "type", "an edit must be a JSON object (a patch)")]
        )
    unknown = _unknown_fields(name, patch)
    if unknown:
        raise EditRefusedError(unknown)
    effective = apply_patch(name, details, patch)
    try:
        validate_details(name, effective)
    except InvalidDetailsError as exc:
        raise EditRefusedError(exc.violations, invalid_for=name) from exc
    violations = edit_violations(name, details, effective)
    if not violations:
        violations = [
            DetailsViolation("", "not_wider", r) for r in _widening(name, details, effective)
        ]
    if violations:
        raise EditRefusedError(violations)
    return effective


def widening_reasons(
    name: str, original: Mapping[str, Any], effective: Mapping[str, Any]
) -> list[str]:
    """Why an edited payload does more than the original (empty when it only narrows)."""
    violations = edit_violations(name, original, effective)
    return [str(v) for v in violations] or _widening(name, original, effective)


def _unknown_fields(name: str, patch: Mapping[str, Any]) -> list[DetailsViolation]:
    known = load_action_schema(get_spec(name).name).get("properties") or {}
    return [
        DetailsViolation(_pointer([key]), "unknown_field", f"is not a field of {name}")
        for key in patch
        if key not in known
    ]


def edit_violations(
    name: str, original: Mapping[str, Any], effective: Mapping[str, Any]
) -> list[DetailsViolation]:
    """Each field of `effective` that the action's edit rules do not allow, with the rule."""
    rules = edit_rules(name)
    violations: list[DetailsViolation] = []
    keys = [*original, *(key for key in effective if key not in original)]
    for key in keys:
        violations += _field_violations(
            _pointer([key]),
            rules.get(key, EditRule.FIXED),
            original.get(key, _MISSING),
            effective.get(key, _MISSING),
            (original, effective),
            droppable=False,
        )
    check = _CROSS_FIELD_CHECKS.get(name)
    if check is not None:
        violations += check(original, effective)
    return violations


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING: Any = _Missing()


def _same(before: object, after: object) -> bool:
    # Type-exact: True == 1 and 1 == 1.0 in Python, but not as a Jira payload.
    return json.dumps(before, sort_keys=True, default=repr) == json.dumps(
        after, sort_keys=True, default=repr
    )


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _rule_name(rule: FieldRule) -> str:
    if isinstance(rule, NestedRules):
        return "nested"
    if isinstance(rule, ItemRules):
        return "narrow_items"
    return rule.value


def _field_violations(
    pointer: str,
    rule: FieldRule,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
    *,
    droppable: bool,
) -> list[DetailsViolation]:
    if _same(before, after):
        return []
    if after is _MISSING:
        if droppable:
            return []  # left out of a nested object: that field is not changed
        return [DetailsViolation(pointer, _rule_name(rule), "may not be removed")]
    if before is _MISSING and rule is EditRule.FALSE_ONLY:
        before = False  # unset means false
    if before is _MISSING:
        return [
            DetailsViolation(
                pointer, _rule_name(rule), "was not in the proposed action; an edit cannot add it"
            )
        ]
    if isinstance(rule, NestedRules):
        return _nested_violations(pointer, rule, before, after)
    if isinstance(rule, ItemRules):
        return _item_violations(pointer, rule, before, after, parents)
    reason = _SCALAR_CHECKS[rule](before, after)
    return [] if reason is None else [DetailsViolation(pointer, rule.value, reason)]


def _nested_violations(
    pointer: str, rule: NestedRules, before: Any, after: Any
) -> list[DetailsViolation]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [DetailsViolation(pointer, "nested", "must stay an object")]
    violations: list[DetailsViolation] = []
    for key in [*before, *(k for k in after if k not in before)]:
        violations += _field_violations(
            f"{pointer}/{key}",
            rule.rules.get(key, EditRule.FIXED),
            before.get(key, _MISSING),
            after.get(key, _MISSING),
            (before, after),
            droppable=True,
        )
    return violations


def _item_violations(
    pointer: str,
    rule: ItemRules,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> list[DetailsViolation]:
    """Each edited item must narrow a proposed item, in order (a subsequence). Matching each
    to the earliest proposed item it narrows finds a match whenever one exists."""
    if not isinstance(before, list) or not isinstance(after, list):
        return [DetailsViolation(pointer, "narrow_items", "must stay a list")]
    position = 0
    for index, item in enumerate(after):
        where = f"{pointer}/{index}"
        tried = [
            _item_field_violations(where, rule, proposed, item, parents)
            for proposed in before[position:]
        ]
        matched = next((n for n, found in enumerate(tried) if not found), None)
        if matched is None:
            return _closest_miss(where, tried)
        position += matched + 1
    return []


def _closest_miss(where: str, tried: list[list[DetailsViolation]]) -> list[DetailsViolation]:
    """Why an edited item narrows none of the proposed items left: the nearest one's reasons."""
    order = "each item must narrow one of the proposed items, kept in their order"
    if not tried or any(v.pointer == where for v in tried[0]):
        return [DetailsViolation(where, "narrow_items", f"is not a proposed item ({order})")]
    # The nearest proposed item: the one it differs from in the fewest fixed fields, then
    # in the fewest fields at all.
    first, *rest = min(tried, key=lambda found: (sum(v.rule == "fixed" for v in found), len(found)))
    return [DetailsViolation(first.pointer, first.rule, f"{first.message} ({order})"), *rest]


def _item_field_violations(
    pointer: str,
    rule: ItemRules,
    before: Any,
    after: Any,
    parents: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> list[DetailsViolation]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [DetailsViolation(pointer, "narrow_items", "must be an object")]
    violations: list[DetailsViolation] = []
    for key in dict.fromkeys([*rule.rules, *before, *after]):
        inherited = key in rule.inherited
        old = before.get(key, parents[0].get(key, _MISSING) if inherited else _MISSING)
        new = after.get(key, parents[1].get(key, _MISSING) if inherited else _MISSING)
        violations += _field_violations(
            f"{pointer}/{key}",
            rule.rules.get(key, EditRule.FIXED),
            old,
            new,
            (before, after),
            droppable=False,
        )
    return violations


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lowered(before: Any, after: Any) -> str | None:
    if not _is_number(before) or not _is_number(after):
        return "must be a number"
    if after <= before:
        return None
    return f"may only be lowered, but the count grew from {before} to {after}"


def _at_most(before: Any, after: Any) -> str | None:
    if not _is_number(before) or not _is_number(after):
        return "must be a number"
    if after <= before:
        return None
    return f"may not go above the proposed {before}, but the edit makes it {after}"


def _lower_priority(before: Any, after: Any) -> str | None:
    if before not in _PRIORITY_RANK or after not in _PRIORITY_RANK:
        return f"must be one of {', '.join(PRIORITIES)}"
    if _PRIORITY_RANK[after] <= _PRIORITY_RANK[before]:
        return None
    order = " > ".join(PRIORITIES)
    return f"may only be lowered ({order}), but {after} is above the proposed {before}"


def _subset(before: Any, after: Any) -> str | None:
    if not isinstance(before, list) or not isinstance(after, list):
        return "must be a list"
    proposed = {_show(item) for item in before}
    added = [item for item in after if _show(item) not in proposed]
    if not added:
        return None
    return "may only drop items, but the edit adds " + ", ".join(str(item) for item in added)


def _text(before: Any, after: Any) -> str | None:
    return None if isinstance(after, str) else "must be text"


def _false_only(before: Any, after: Any) -> str | None:
    if after is False:
        return None
    return f"may only be turned off, never on (proposed {_show(before)}, edited {_show(after)})"


def _fixed(before: Any, after: Any) -> str:
    return f"may not be changed by a reviewer (proposed {_show(before)}, edited {_show(after)})"


_SCALAR_CHECKS: Mapping[EditRule, Callable[[Any, Any], str | None]] = {
    EditRule.FIXED: _fixed,
    EditRule.NARROW_COUNT: _lowered,
    EditRule.MAX: _at_most,
    EditRule.LOWER_PRIORITY: _lower_priority,
    EditRule.SUBSET: _subset,
    EditRule.TEXT: _text,
    EditRule.FALSE_ONLY: _false_only,
}


def _replaced_label_list(
    original: Mapping[str, Any], effective: Mapping[str, Any]
) -> list[DetailsViolation]:
    """update_fields with `fields.labels` sets the whole list Jira ends with (labels, plus
    addLabels, minus removeLabels): then dropping a label to add would remove it from
    issues that have it, and dropping one to remove would add it. Both lists are fixed."""
    fields = effective.get("fields")
    if not isinstance(fields, Mapping) or "labels" not in fields:
        return []
    return [
        DetailsViolation(
            f"/{key}",
            EditRule.FIXED.value,
            "may not be changed while fields.labels replaces the issues' labels",
        )
        for key in ("addLabels", "removeLabels")
        if not _same(original.get(key, _MISSING), effective.get(key, _MISSING))
    ]


_CROSS_FIELD_CHECKS: Mapping[
    str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[DetailsViolation]]
] = {"jira_update_fields": _replaced_label_list}


def _widening(name: str, original: Mapping[str, Any], effective: Mapping[str, Any]) -> list[str]:
    """A second, coarse check behind the rules: no other project, no larger count, no new
    issues. It can only fire if a rule above is wrong."""
    reasons: list[str] = []
    before, after = project_of(original), project_of(effective)
    if before != after:
        reasons.append(f"the project changed from {before} to {after}")
    if count_of(name, effective) > count_of(name, original):
        reasons.append(
            f"the count grew from {count_of(name, original)} to {count_of(name, effective)}"
        )
    added = issue_keys_of(effective) - issue_keys_of(original)
    if added:
        reasons.append(f"issues were added: {', '.join(sorted(added))}")
    return reasons

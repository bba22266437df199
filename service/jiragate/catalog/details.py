"""Validating an action: the envelope, its details (schema, then invariants), and the facts.

On top of each action's JSON Schema the catalog enforces invariants a schema cannot express:
every action stays inside one Jira project (for a search, its JQL names no other project:
jiragate.jql), labels are in NFC, and whatever the action's spec adds (`ActionSpec.invariants`,
e.g. a bulk creation's `issueCount` agrees with the tickets it lists). It also derives the
*facts* that policies match on besides `details`: the `project` an action touches and the
`count` of issues it touches or creates (`ActionSpec.count`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.validators import validator_for

from jiragate import jql, strictjson
from jiragate.catalog.spec import CATALOG, ActionKind, ActionSpec, get_spec
from jiragate.errors import (
    ActionError,
    DetailsViolation,
    InvalidDetailsError,
    InvalidJQLError,
    UnsafeJSONError,
)

# Keys of `details` that hold issue keys, by shape: a single key or a list of keys.
_SINGLE_KEY_FIELDS = (
    "issueKey",
    "epicKey",
    "parentKey",
    "rankBeforeIssue",
    "rankAfterIssue",
    "otherIssueKey",
)
_KEY_LIST_FIELDS = ("issueKeys", "childIssueKeys", "addChildIssueKeys")


@cache
def _validator(spec: ActionSpec) -> jsonschema.protocols.Validator:
    schema = spec.schema
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
def _fast_check(spec: ActionSpec) -> Callable[[Any], Any]:
    """The schema compiled to Python code (fastjsonschema): about 12x faster than walking it.

    It only answers "valid or not" on the hot path; any failure is re-checked by jsonschema,
    which names every pointer and rule. Our action schemas use only keywords that draft 7 and
    2020-12 define alike, so the compiled draft-7 check agrees (tests/policy/test_catalog.py
    checks that on generated instances). `use_default=False`: a check must not write the
    schema's defaults into the agent's details, as jsonschema (the slow path) never does, or
    the same request would be stored and hashed differently depending on which path ran."""
    schema = {**spec.schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(schema, formats={"date": _is_date}, use_default=False)


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


def pointer_of(path: Iterator[Any] | Any) -> str:
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
        _fast_check(spec)(details)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        violations = _invariant_violations(spec, details)
        if violations:
            raise InvalidDetailsError(name, violations)
        return
    errors = sorted(_validator(spec).iter_errors(details), key=lambda e: list(e.path))
    violations = [
        DetailsViolation(pointer_of(error.absolute_path), str(error.validator), error.message)
        for error in errors
    ]
    if not violations:
        violations = _invariant_violations(spec, details)
    if violations:
        raise InvalidDetailsError(name, violations)


def _invariant_violations(spec: ActionSpec, details: Mapping[str, Any]) -> list[DetailsViolation]:
    violations: list[DetailsViolation] = []
    for invariant in spec.invariants:
        violations.extend(invariant(details))
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
    violations.extend(_own_fields_by_name(spec.name, details))
    return violations


def _own_fields_by_name(action: str, details: Mapping[str, Any]) -> Iterator[DetailsViolation]:
    """A field with an action of its own (story points, Epic Name) named in `customFields`
    (by id it is found against the site: catalog.site.site_violations, and again by the
    adapter before anything is sent)."""
    from jiragate.catalog.site import own_field_problem  # site imports details lazily too

    custom = details.get("customFields")
    if not isinstance(custom, Mapping):
        return
    for key in custom:
        problem = own_field_problem(action, key)
        if problem:
            yield DetailsViolation(pointer_of(("customFields", key)), "own-action-field", problem)


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
    """How many issues a (validated) action creates or touches (its spec says how)."""
    return get_spec(name).count(details)


def issue_keys_of(details: Mapping[str, Any]) -> set[str]:
    return {key for _, key in _referenced_issue_keys(details)}

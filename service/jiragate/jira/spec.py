"""Validate Jira REST traffic against Atlassian's official OpenAPI specifications.

The specs live beside this module in `openapi/` (verbatim copies; see its README):

- `jira-platform.v3.json` — Jira Cloud platform REST API v3 (`/rest/api/3/...`).
- `jira-software.v3.json` — Jira Software (agile) REST API (`/rest/agile/1.0/...`).
- `jira-servicedesk.subset.json` — Jira Service Management (`/rest/servicedeskapi/...`):
  *not* Atlassian's file but a hand-kept subset written from its public reference (Atlassian
  publishes no JSM OpenAPI here), holding only the operations Jiragate calls; see its README.

All are OpenAPI 3.0.1 documents; schemas are checked with `openapi_schema_validator`'s OAS 3.0
dialect (`OAS30WriteValidator` for request bodies, so a client may not send read-only fields;
`OAS30ReadValidator` for response bodies), with `$ref`s resolved through a `referencing` registry
holding the whole document.

Public interface::

    validate_request(method, path, *, query=None, body=None, flavour=None) -> list[str]
    validate_response(method, path, status, body) -> list[str]
    find_operation(method, path) -> Operation

An empty list means valid. Paths are concrete (`/rest/api/3/issue/ENG-1/transitions`); a full
URL or a path with a query string is accepted too.

What this module adds to, or relaxes in, the spec — every deviation is listed here:

1. **Data Center (`/rest/api/2/...`)** has no spec in this repository. A v2 path is checked
   against the v3 operation of the same shape, with these differences by design:
   - v2 carries *plain-text strings* where v3 carries Atlassian Document Format (ADF) objects:
     `fields.description` and `fields.environment` of issue create/edit/bulk create/transition
     bodies and of issue responses, and `body` of comment requests and responses. The v3 schema
     itself types these loosely (`fields` is a free map, `Comment.body` is `{}`), so we add an
     explicit flavour check instead: on v3 they must be ADF documents
     (`{"type": "doc", "version": 1, "content": [...]}`), on v2 they must be strings (or null).
     ADF structure: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
   - `/rest/api/2/search` is checked against the v3 `/rest/api/3/search` operation (same
     `SearchResults` shape with `startAt/maxResults/total`); the v3 one is retired (see 3).
2. **Unassign**: `PUT .../issue/{key}/assignee` with `{"accountId": null}` (or v2
   `{"name": null}`) is documented by Atlassian as "unassign" although the `User` schema types
   `accountId` as a non-nullable string. Those two nulls are accepted.
   https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-assignee-put
3. **Retired search**: `GET/POST /rest/api/3/search` answer `410 Gone` since Atlassian removed
   them (CHANGE-2046, https://developer.atlassian.com/changelog/#CHANGE-2046); the spec copy
   still lists them without a 410, so 410 with an `ErrorCollection` body is accepted there.
4. **Statuses any call may answer**: 401 (every operation needs authentication, many omit it),
   429 (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/) and 503 are
   accepted on every operation, with an `ErrorCollection` body or none.
5. **Error bodies**: where the spec declares an error status (>= 400) without a schema, the body
   (if any) is checked against `ErrorCollection`, Jira's documented error shape.
6. **Timestamps**: Jira writes `date-time` values with a colon-less offset
   (`2024-05-01T09:00:00.000+0000`), which strict RFC 3339 rejects; that form is accepted.
7. **Agile**: the software spec gives response *examples* but no schemas; `SprintBean` is used
   for `GET /rest/agile/1.0/sprint/{sprintId}` and for the `values` of
   `GET /rest/agile/1.0/board/{boardId}/sprint`. Its `state` query parameter is typed
   `{"type": "object", "additionalProperties": false}` — a spec bug for a comma-separated
   string — so query parameters typed as property-less objects are not checked. The same bug
   types `fields` of the Agile issue lists (`GET /rest/agile/1.0/board/{boardId}/issue`,
   `/backlog`, `/sprint/{sprintId}/issue`) as an array of such objects, where Jira takes
   field names (`fields=summary,status`); arrays of property-less objects are not checked
   either.
8. **Bulk move** (`POST /rest/api/3/bulk/issues/move`): `IssueBulkMovePayload` requires
   `targetToMultipleSourceMapping`, a property it does not define (its mapping is
   `targetToSourcesMapping`, as the request example and Atlassian's reference show), and
   each mapping (`targetToSourcesMapping`) requires `issueIdOrKeys` where the property is
   `issueIdsOrKeys`, so no request could pass; both are checked with the defined names
   required instead. Its task
   (`GET /rest/api/3/bulk/queue/{taskId}`, `BulkOperationProgress`) types `created`,
   `started` and `updated` as `date-time` strings while the operation's own examples give
   epoch milliseconds (`"created":1704110400000`); both forms are accepted there.
   https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-bulk-operations/
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from jiragate.errors import OpenAPISpecError

SPEC_DIR = Path(__file__).resolve().parent / "openapi"
PLATFORM_SPEC = "jira-platform.v3.json"
SOFTWARE_SPEC = "jira-software.v3.json"
SERVICEDESK_SPEC = "jira-servicedesk.subset.json"

_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
_ALWAYS_POSSIBLE_STATUSES = frozenset({401, 429, 503})
_RETIRED = {("get", "/rest/api/3/search"), ("post", "/rest/api/3/search")}
_ADF_BODIES = {
    # (method, v3 template) -> where the plain-text-vs-ADF fields live in the request body
    ("post", "/rest/api/3/issue"): "fields",
    ("put", "/rest/api/3/issue/{issueIdOrKey}"): "fields",
    ("post", "/rest/api/3/issue/{issueIdOrKey}/transitions"): "fields",
    ("post", "/rest/api/3/issue/bulk"): "issueUpdates[].fields",
    ("post", "/rest/api/3/issue/{issueIdOrKey}/comment"): "comment",
    ("put", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"): "comment",
}
_RICH_TEXT_FIELDS = ("description", "environment")


@dataclass(frozen=True, slots=True)
class Spec:
    """One loaded OpenAPI document and the registry that resolves its `$ref`s."""

    name: str
    uri: str
    document: Mapping[str, Any]
    registry: Registry[Any]
    routes: tuple[tuple[re.Pattern[str], str, int], ...]  # (regex, template, specificity)


@dataclass(frozen=True, slots=True)
class Operation:
    """The spec operation a concrete request maps to."""

    spec: Spec
    template: str  # the spec's path template, e.g. /rest/api/3/issue/{issueIdOrKey}
    method: str  # lower case
    definition: Mapping[str, Any]
    path_params: Mapping[str, str]
    flavour: str  # "cloud" (v3), "dc" (v2 checked as v3), "agile" or "servicedesk"


class UnknownOperation(LookupError):
    """No spec operation matches the method and path; the message says which part failed."""


# --------------------------------------------------------------------------- loading


@functools.cache
def load_spec(name: str) -> Spec:
    """Load one spec file once per process (they are megabytes); fail loudly if missing."""
    path = SPEC_DIR / name
    if not path.is_file():
        raise OpenAPISpecError(
            f"Jira OpenAPI spec {name!r} not found at {path}; the package ships it in "
            f"jiragate/jira/openapi/ — reinstall or restore the file"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OpenAPISpecError(f"Jira OpenAPI spec {path} is unreadable: {exc}") from exc
    uri = f"urn:jiragate:openapi:{name}"
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(uri, resource)
    routes = tuple(
        sorted(
            ((*_template_regex(template), template) for template in document.get("paths", {})),
            key=lambda route: route[1],
            reverse=True,
        )
    )
    return Spec(
        name=name,
        uri=uri,
        document=document,
        registry=registry,
        routes=tuple((regex, template, rank) for regex, rank, template in routes),
    )


def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    # Literal segments outrank parameters (`/issue/bulk` beats `/issue/{issueIdOrKey}`): the
    # rank reads the segments left to right, literal = 1, parameter = 0.
    pattern = []
    rank = 0
    for segment in template.strip("/").split("/"):
        found = re.fullmatch(r"\{([^}]+)\}", segment)
        if found:
            pattern.append(f"(?P<{_group(found.group(1))}>[^/]+)")
            rank = rank * 2
        else:
            pattern.append(re.escape(segment))
            rank = rank * 2 + 1
    return re.compile("/" + "/".join(pattern)), rank


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


# --------------------------------------------------------------------------- routing


def _split(path: str, query: Mapping[str, Any] | None) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(path)
    merged: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        merged.setdefault(key, []).append(value)
    for key, value in (query or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        merged.setdefault(key, []).extend(_as_text(v) for v in values)
    return parts.path or "/", merged


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_operation(method: str, path: str) -> Operation:
    """Map a concrete method and path to its spec operation, or raise `UnknownOperation`."""
    concrete = urlsplit(path).path.rstrip("/") or "/"
    lowered = method.lower()
    if concrete.startswith("/rest/agile/1.0/"):
        spec, flavour, lookup = load_spec(SOFTWARE_SPEC), "agile", concrete
    elif concrete.startswith("/rest/servicedeskapi/"):
        # One path on both flavours: JSM's REST API carries no version.
        spec, flavour, lookup = load_spec(SERVICEDESK_SPEC), "servicedesk", concrete
    elif concrete.startswith("/rest/api/3/"):
        spec, flavour, lookup = load_spec(PLATFORM_SPEC), "cloud", concrete
    elif concrete.startswith("/rest/api/2/"):
        spec, flavour = load_spec(PLATFORM_SPEC), "dc"
        lookup = "/rest/api/3/" + concrete.removeprefix("/rest/api/2/")
    else:
        raise UnknownOperation(
            f"{concrete} is not under /rest/api/2, /rest/api/3, /rest/agile/1.0 or "
            "/rest/servicedeskapi"
        )
    allowed: list[str] = []
    for regex, template, _rank in spec.routes:
        found = regex.fullmatch(lookup)
        if not found:
            continue
        item = spec.document["paths"][template]
        if lowered not in item:
            allowed.extend(m.upper() for m in item if m in _METHODS)
            continue
        names = re.findall(r"\{([^}]+)\}", template)
        params = {name: found.group(_group(name)) for name in names}
        return Operation(spec, template, lowered, item[lowered], params, flavour)
    if allowed:
        raise UnknownOperation(
            f"{method.upper()} is not an operation on {concrete} "
            f"(the spec allows: {', '.join(sorted(set(allowed)))})"
        )
    raise UnknownOperation(f"{concrete} matches no path in {spec.name}")


# --------------------------------------------------------------------------- schemas


def _absolute_refs(schema: Any, base: str) -> Any:
    # Only the operation's own (inline) schema needs rewriting: refs inside referenced
    # components resolve against the registry resource they came from.
    if isinstance(schema, dict):
        return {
            key: (
                base + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _absolute_refs(value, base)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute_refs(item, base) for item in schema]
    return schema


def _jira_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3339 with the offset's colon optional, as Jira writes it.
    return bool(_DATE_TIME.fullmatch(value))


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})")
_FORMATS = copy.deepcopy(oas30_format_checker)
_FORMATS.checks("date-time")(_jira_date_time)


def _error_collection() -> dict[str, Any]:
    """Jira's error shape, taken from the platform spec (the software spec has no copy)."""
    schema: dict[str, Any] = load_spec(PLATFORM_SPEC).document["components"]["schemas"][
        "ErrorCollection"
    ]
    return schema


@functools.lru_cache(maxsize=1024)
def _validator(spec_name: str, schema_json: str, direction: str) -> Validator:
    spec = load_spec(spec_name)
    schema = _absolute_refs(json.loads(schema_json), spec.uri)
    cls = OAS30WriteValidator if direction == "write" else OAS30ReadValidator
    validator: Validator = cls(schema, registry=spec.registry, format_checker=_FORMATS)
    return validator


def _schema_problems(
    spec: Spec, schema: Mapping[str, Any], instance: object, direction: str, where: str
) -> list[str]:
    validator = _validator(spec.name, json.dumps(schema, sort_keys=True), direction)
    problems = []
    errors: Iterable[ValidationError] = validator.iter_errors(instance)
    for error in sorted(errors, key=lambda e: list(e.absolute_path)):
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        problems.append(f"{where}{pointer}: {_short(error.message)}")
    return problems


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _json_schema(content: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()), None)
    if not media:
        return None
    schema = media.get("schema")
    return schema if isinstance(schema, Mapping) else None


# --------------------------------------------------------------------------- requests


def validate_request(
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    body: object | None = None,
) -> list[str]:
    """Problems with this request according to the spec (empty = valid)."""
    concrete, params = _split(path, query)
    try:
        operation = find_operation(method, concrete)
    except UnknownOperation as exc:
        return [str(exc)]
    problems = _parameter_problems(operation, params)
    problems += _request_body_problems(operation, body)
    return problems


def _parameter_problems(operation: Operation, query: Mapping[str, list[str]]) -> list[str]:
    problems: list[str] = []
    for parameter in operation.definition.get("parameters", []):
        location, name = parameter.get("in"), parameter.get("name")
        schema = parameter.get("schema") or {}
        if location == "path":
            raw: list[str] | None = [operation.path_params[name]]
        elif location == "query":
            raw = query.get(name)
        else:
            continue  # headers and cookies are the transport's business
        if raw is None:
            if parameter.get("required"):
                problems.append(f"{location} parameter {name!r} is required")
            continue
        if _untyped_object(schema) or (
            schema.get("type") == "array" and _untyped_object(schema.get("items") or {})
        ):
            continue  # see the module docstring, item 7
        value, problem = _coerce(raw, schema)
        if problem:
            problems.append(f"{location} parameter {name!r}: {problem}")
            continue
        problems += _schema_problems(
            operation.spec, schema, value, "write", f"{location} parameter {name!r}"
        )
    return problems


def _untyped_object(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" and not schema.get("properties")


def _coerce(raw: list[str], schema: Mapping[str, Any]) -> tuple[object, str | None]:
    kind = schema.get("type")
    if kind == "array":
        items = [piece for value in raw for piece in value.split(",") if piece != ""]
        coerced = []
        for item in items:
            value, problem = _coerce([item], schema.get("items") or {})
            if problem:
                return None, problem
            coerced.append(value)
        return coerced, None
    text = raw[-1]
    if kind == "integer":
        try:
            return int(text), None
        except ValueError:
            return None, f"{text!r} is not an integer"
    if kind == "number":
        try:
            return float(text), None
        except ValueError:
            return None, f"{text!r} is not a number"
    if kind == "boolean":
        if text.lower() in {"true", "false"}:
            return text.lower() == "true", None
        return None, f"{text!r} is not true or false"
    return text, None


def _request_body_problems(operation: Operation, body: object | None) -> list[str]:
    declared = operation.definition.get("requestBody")
    if declared is None:
        return [] if body is None else ["this operation takes no request body"]
    if body is None:
        return ["a JSON request body is required"] if declared.get("required") else []
    problems: list[str] = []
    schema = _json_schema(declared.get("content"))
    if (operation.method, operation.template) == _BULK_MOVE:
        schema = _bulk_move_payload()  # module docstring, item 8
    if schema is not None:
        checked = _relax_unassign(operation, body)
        problems += _schema_problems(operation.spec, schema, checked, "write", "body")
    problems += _rich_text_problems(operation, body)
    return problems


_BULK_MOVE = ("post", "/rest/api/3/bulk/issues/move")
_BULK_PROGRESS = ("get", "/rest/api/3/bulk/queue/{taskId}")
_PROGRESS_TIMES = ("created", "started", "updated")


def _bulk_move_payload() -> dict[str, Any]:
    components = load_spec(PLATFORM_SPEC).document["components"]["schemas"]
    mapping: dict[str, Any] = copy.deepcopy(components["targetToSourcesMapping"])
    mapping["required"] = [
        "issueIdsOrKeys" if name == "issueIdOrKeys" else name for name in mapping["required"]
    ]
    schema: dict[str, Any] = copy.deepcopy(components["IssueBulkMovePayload"])
    schema["required"] = ["targetToSourcesMapping"]
    schema["properties"]["targetToSourcesMapping"]["additionalProperties"] = mapping
    return schema


def _bulk_progress() -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(
        load_spec(PLATFORM_SPEC).document["components"]["schemas"]["BulkOperationProgress"]
    )
    for name in _PROGRESS_TIMES:
        schema["properties"][name] = {
            "oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}]
        }
    return schema


def _relax_unassign(operation: Operation, body: object) -> object:
    # Module docstring, item 2: a null accountId/name means "unassign".
    if operation.template != "/rest/api/3/issue/{issueIdOrKey}/assignee":
        return body
    if not isinstance(body, dict):
        return body
    return {k: v for k, v in body.items() if not (k in {"accountId", "name"} and v is None)}


def _rich_text_problems(operation: Operation, body: object) -> list[str]:
    where = _ADF_BODIES.get((operation.method, operation.template))
    if where is None or operation.flavour == "agile" or not isinstance(body, Mapping):
        return []
    problems: list[str] = []
    if where == "comment":
        if "body" in body:
            problems += _flavour_problem(operation.flavour, body["body"], "body/body")
        return problems
    if where == "fields":
        containers = [("body/fields", body.get("fields"))]
    else:
        updates = body.get("issueUpdates")
        containers = [
            (f"body/issueUpdates/{index}/fields", update.get("fields"))
            for index, update in enumerate(updates if isinstance(updates, list) else [])
            if isinstance(update, Mapping)
        ]
    for prefix, fields in containers:
        if not isinstance(fields, Mapping):
            continue
        for name in _RICH_TEXT_FIELDS:
            if name in fields:
                problems += _flavour_problem(operation.flavour, fields[name], f"{prefix}/{name}")
    return problems


def _flavour_problem(flavour: str, value: object, where: str) -> list[str]:
    if value is None:
        return []
    if flavour == "dc":
        if isinstance(value, str):
            return []
        return [
            f"{where}: Data Center (REST v2) expects plain text here, not {type(value).__name__}"
        ]
    problem = adf_problem(value)
    return [f"{where}: Cloud (REST v3) expects an ADF document here: {problem}"] if problem else []


def adf_problem(value: object) -> str | None:
    """Why `value` is not a minimal Atlassian Document Format document, or None if it is."""
    if not isinstance(value, Mapping):
        return f"got {type(value).__name__}, not an object"
    if value.get("type") != "doc":
        return 'the root node must have "type": "doc"'
    if value.get("version") != 1:
        return 'the root node must have "version": 1'
    content = value.get("content")
    if not isinstance(content, list):
        return 'the root node must have a "content" array'
    for index, node in enumerate(content):
        if not isinstance(node, Mapping) or not isinstance(node.get("type"), str):
            return f"content[{index}] is not a node with a string type"
    return None


# --------------------------------------------------------------------------- responses


def validate_response(method: str, path: str, status: int, body: object | None) -> list[str]:
    """Problems with this response according to the spec (empty = valid).

    `body` is the decoded JSON body, or None when the response has no body.
    """
    try:
        operation = find_operation(method, path)
    except UnknownOperation as exc:
        return [str(exc)]
    responses: Mapping[str, Any] = operation.definition.get("responses", {})
    declared = responses.get(str(status)) or responses.get("default")
    if (operation.method, operation.template) in _RETIRED and status == 410:
        declared = {"content": {"application/json": {"schema": _error_collection()}}}
    elif declared is None and status in _ALWAYS_POSSIBLE_STATUSES:
        declared = {}
    if declared is None:
        listed = ", ".join(sorted(responses))
        return [
            f"status {status} is not declared for {method.upper()} {operation.template} ({listed})"
        ]
    schema = _json_schema(declared.get("content")) or _overlay_schema(operation, status)
    if (operation.method, operation.template) == _BULK_PROGRESS and status == 200:
        schema = _bulk_progress()  # module docstring, item 8
    if schema is None and status >= 400:
        schema = _error_collection()
    if status == 204:
        return [] if body is None else ["a 204 response must have no body"]
    if schema is None:
        return []
    if body is None:
        if status >= 400:
            return []  # an error status without a body is allowed everywhere
        return [f"status {status} of {operation.template} must have a JSON body"]
    problems = _schema_problems(operation.spec, schema, body, "read", "response")
    problems += _response_rich_text_problems(operation, status, body)
    return problems


def _overlay_schema(operation: Operation, status: int) -> Mapping[str, Any] | None:
    if status != 200 or operation.flavour != "agile" or operation.method != "get":
        return None
    sprint = {"$ref": "#/components/schemas/SprintBean"}
    if operation.template == "/rest/agile/1.0/sprint/{sprintId}":
        return sprint
    if operation.template == "/rest/agile/1.0/board/{boardId}/sprint":
        return {
            "type": "object",
            "properties": {
                "maxResults": {"type": "integer"},
                "startAt": {"type": "integer"},
                "total": {"type": "integer"},
                "isLast": {"type": "boolean"},
                "values": {"type": "array", "items": sprint},
            },
            "required": ["values"],
            "additionalProperties": False,
        }
    return None


def _response_rich_text_problems(operation: Operation, status: int, body: object) -> list[str]:
    if operation.flavour in {"agile", "servicedesk"} or status >= 300:
        return []
    if not isinstance(body, Mapping):
        return []
    template = operation.template
    problems: list[str] = []
    if template.endswith("/comment") or template.endswith("/comment/{id}"):
        if "body" in body:
            problems += _flavour_problem(operation.flavour, body["body"], "response/body")
        return problems
    issues: list[tuple[str, object]] = []
    if template == "/rest/api/3/issue/{issueIdOrKey}" and operation.method == "get":
        issues = [("response", body)]
    elif template in {"/rest/api/3/search/jql", "/rest/api/3/search"}:
        found = body.get("issues")
        if isinstance(found, list):
            issues = [(f"response/issues/{i}", issue) for i, issue in enumerate(found)]
    for prefix, issue in issues:
        fields = issue.get("fields") if isinstance(issue, Mapping) else None
        if not isinstance(fields, Mapping):
            continue
        for name in _RICH_TEXT_FIELDS:
            if name in fields:
                where = f"{prefix}/fields/{name}"
                problems += _flavour_problem(operation.flavour, fields[name], where)
    return problems


def is_known_path(method: str, path: str) -> bool:
    """Whether the spec has an operation for this method and concrete path."""
    try:
        find_operation(method, path)
    except UnknownOperation:
        return False
    return True


__all__ = [
    "OpenAPISpecError",
    "Operation",
    "UnknownOperation",
    "adf_problem",
    "find_operation",
    "is_known_path",
    "load_spec",
    "validate_request",
    "validate_response",
]

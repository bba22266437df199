"""What `/openapi.json` says about every route: who may call it, what body it takes, and
every status it answers with its body.

Bodies are parsed by hand, strictly (api.deps.json_object), so FastAPI cannot infer them:
the request bodies here are built from the real schemas (the catalog's action schemas, the
decision and Cheqpoint request shapes) and attached with `openapi_extra`. Errors are answered
by `api.app.error_response`, never by FastAPI's default `{"detail": [...]}`, so each route
declares its error statuses with the envelope models below (`documented(...)`), and
`install_openapi` removes the default 422 FastAPI adds to routes that never answer it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import jsonschema
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from jiragate.catalog import ACTION_NAMES, MAX_JUSTIFICATION, MAX_SUMMARY, load_action_schema
from jiragate.examples import SEED_EDIT, SEED_ENVELOPE, SEED_NOTE
from jiragate.gateway.records import ActionStatus
from jiragate.web.auth import SESSION_COOKIE

# --------------------------------------------------------------------------- error bodies


class ErrorBody(BaseModel):
    """Jiragate's error envelope (every error outside `/api/`). Some errors add fields, named
    below; a client may rely on `error` and `message` alone."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(min_length=1, description="A stable code, e.g. invalid_body.")
    message: str = Field(min_length=1, description="What is wrong, for a human.")
    problems: list[str] | None = Field(
        default=None, description="invalid_request / invalid_query: one line per problem."
    )
    violations: list[dict[str, Any]] | None = Field(
        default=None,
        description="invalid_details / edit_refused: each JSON pointer and the rule it breaks.",
    )
    pointer: str | None = Field(
        default=None, description="invalid_json_value: where the value is (RFC 6901)."
    )
    known_actions: list[str] | None = Field(
        default=None, description="unknown_action: the catalog's action names."
    )


class CheqpointErrorBody(BaseModel):
    """Cheqpoint's error body (every error under `/api/`), as its official SDK reads it."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(min_length=1, description="What is wrong, for a human.")


ERROR_DESCRIPTIONS: Final[Mapping[int, str]] = {
    400: "The body, a header or the action is malformed; the message names what",
    401: "No API key, or one that is unknown or revoked (WWW-Authenticate: Bearer)",
    403: "The key's role may not make this call",
    404: "Not found, or not visible to this caller",
    409: "Conflicts with the stored state",
    413: "The request body is over max_body_bytes",
    422: "A parameter or field is invalid; the message names it",
    502: "Jira refused or failed the action",
    503: "The database, the approval backend or the active policy revision is unavailable",
}

# --------------------------------------------------------------------------- answers

ACTION_VIEW_SCHEMA: Final[dict[str, Any]] = {
    "title": "ActionView",
    "type": "object",
    "description": "An action as the gate holds it (docs/api.md, 'The action view').",
    "required": ["id", "status", "agent", "action", "kind", "decision", "approval", "links"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": [status.value for status in ActionStatus]},
        "agent": {"type": "string"},
        "action": {"enum": list(ACTION_NAMES)},
        "kind": {"type": "string"},
        "summary": {"type": "string"},
        "justification": {"type": ["string", "null"]},
        "details": {"type": "object"},
        "effective_details": {"type": ["object", "null"]},
        "decision": {"type": "object"},
        "review_group": {"type": ["string", "null"]},
        "rule": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "policy_revision": {"type": ["string", "null"]},
        "approval": {"type": "object"},
        "result": {"type": ["object", "null"]},
        "error": {"type": ["string", "null"]},
        "attempts": {"type": "integer"},
        "links": {"type": "object"},
    },
}


_REF_TEMPLATE: Final = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF_TEMPLATE.format(model=name)}


def action_or_error(description: str) -> dict[str, Any]:
    """A status answered with the action (the policy's or Jira's outcome) or an error."""
    schema = {"anyOf": [_ref("ActionView"), _ref(ErrorBody.__name__)]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def action_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("ActionView")}},
    }


# --------------------------------------------------------------------------- security

AGENT: Final = "agentKey"
REVIEWER: Final = "reviewerKey"
ADMIN: Final = "adminKey"
CHEQPOINT_AGENT: Final = "cheqpointAgentKey"
INBOX_SESSION: Final = "inboxSession"

SECURITY_SCHEMES: Final[dict[str, dict[str, Any]]] = {
    AGENT: {
        "type": "http",
        "scheme": "bearer",
        "description": "An agent's API key (settings `agents`): submits and reads its actions.",
    },
    REVIEWER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A reviewer's API key (settings `reviewers`): decides actions of the "
        "groups the reviewer is in.",
    },
    ADMIN: {
        "type": "http",
        "scheme": "bearer",
        "description": "A reviewer's API key with `admin: true`: policies and the audit trail.",
    },
    CHEQPOINT_AGENT: {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An agent's API key, as the Cheqpoint SDK sends it (or as `apiKey` "
        "in the body).",
    },
    INBOX_SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The reviewer inbox's session cookie, set by signing in at "
        "/inbox/signin. It applies to the /inbox pages only (docs/inbox.md), never to "
        "/v1 or /api: those take API keys.",
    },
}

Auth = Literal["agent", "reviewer", "admin", "any", "cheqpoint", "none"]
_SECURITY: Final[Mapping[str, list[dict[str, list[str]]]]] = {
    "agent": [{AGENT: []}],
    "reviewer": [{REVIEWER: []}],
    "admin": [{ADMIN: []}],
    "any": [{AGENT: []}, {REVIEWER: []}],
    "cheqpoint": [{CHEQPOINT_AGENT: []}],
    "none": [],
}


# --------------------------------------------------------------------------- request bodies


def _action_envelope(name: str) -> dict[str, Any]:
    details = {
        key: value
        for key, value in load_action_schema(name).items()
        if key not in ("$schema", "$id")
    }
    # Absent details are read as {}: required exactly when {} is not valid details.
    empty_is_valid = jsonschema.Draft202012Validator(details).is_valid({})
    return {
        "type": "object",
        "title": f"{name} envelope",
        "required": ["action", "summary", *([] if empty_is_valid else ["details"])],
        "additionalProperties": False,
        "properties": {
            "action": {"const": name},
            "summary": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_SUMMARY,
                "pattern": r"\S",
                "description": "Not blank.",
            },
            "details": details,
            "justification": {"type": "string", "maxLength": MAX_JUSTIFICATION},
        },
    }


def action_envelope_schema() -> dict[str, Any]:
    """The envelope `POST /v1/evaluate` and `/v1/actions` take: one shape per catalog action,
    its `details` being that action's schema (schemas/actions/<action>.json). The catalog
    checks two more invariants no schema says: one project per action, and a bulk
    creation's `issueCount` agreeing with its tickets."""
    return {
        "title": "ActionEnvelope",
        "oneOf": [_action_envelope(name) for name in ACTION_NAMES],
    }


DECISION_SCHEMA: Final[dict[str, Any]] = {
    "title": "Decision",
    "type": "object",
    "required": ["verdict"],
    "additionalProperties": False,
    "properties": {
        "verdict": {"enum": ["approve", "reject"]},
        "note": {"type": "string", "maxLength": 4000},
        "modifiedDetails": {
            "type": "object",
            "description": "A patch over the details (approve only); it may only narrow the "
            "action (docs/api.md, 'Approve with edits').",
        },
        "snapshot": {
            "type": "string",
            "description": "The approval.snapshot.hash the reviewer was shown; a decision "
            "on an older snapshot is refused (docs/approvals.md).",
        },
    },
}

CHEQPOINT_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "title": "CheqpointRequest",
    "type": "object",
    "required": ["action", "summary"],
    "description": "Cheqpoint's approval request. `action` is a catalog action, optionally "
    "behind a review group's `cheqpoint.action_prefix`; other fields are ignored.",
    "properties": {
        "action": {"type": "string", "examples": list(ACTION_NAMES)},
        "summary": {"type": "string", "minLength": 1, "maxLength": MAX_SUMMARY},
        "details": {"type": "object"},
        "justification": {"type": "string", "maxLength": MAX_JUSTIFICATION},
        "apiKey": {"type": "string", "description": "The agent's key, if not in x-api-key."},
        "maxWaitMs": {"type": "number", "minimum": 0, "description": "At most 10000 is used."},
        "riskScore": {},
        "trace": {},
        "webhookUrl": {
            "type": "string",
            "description": "Must start with one of cheqpoint.callback_url_prefixes.",
        },
        "callbackUrl": {"type": "string", "description": "Another name for webhookUrl."},
    },
}

WEBHOOK_SCHEMA: Final[dict[str, Any]] = {
    "title": "CheqpointWebhook",
    "type": "object",
    "required": ["id"],
    "description": "Only `id` is used: the approval is then fetched from Cheqpoint.",
    "properties": {"id": {"type": "string", "minLength": 1}, "status": {}},
}


def json_body(schema: Mapping[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": dict(schema)}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


ENVELOPE_BODY: Final = json_body(_ref("ActionEnvelope"), SEED_ENVELOPE)
DECISION_BODY: Final = json_body(
    _ref("Decision"), {"verdict": "approve", "modifiedDetails": SEED_EDIT, "note": SEED_NOTE}
)
CHEQPOINT_BODY: Final = json_body(_ref("CheqpointRequest"))
WEBHOOK_BODY: Final = json_body(_ref("CheqpointWebhook"))


def extra_schemas() -> dict[str, dict[str, Any]]:
    """The schemas the operations reference by name (components/schemas)."""
    return {
        **{
            model.__name__: model.model_json_schema(ref_template=_REF_TEMPLATE)
            for model in (ErrorBody, CheqpointErrorBody)
        },
        "ActionEnvelope": action_envelope_schema(),
        "Decision": DECISION_SCHEMA,
        "CheqpointRequest": CHEQPOINT_REQUEST_SCHEMA,
        "CheqpointWebhook": WEBHOOK_SCHEMA,
        "ActionView": ACTION_VIEW_SCHEMA,
    }


# --------------------------------------------------------------------------- per route


def error_responses(
    statuses: Iterable[int],
    *,
    cheqpoint: bool = False,
    descriptions: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error statuses, each with the envelope its path answers.
    The content is spelled out rather than given as a `model`: FastAPI would list a model
    under the route's own media type (JSON Lines, Prometheus text), and errors are JSON."""
    model = CheqpointErrorBody if cheqpoint else ErrorBody
    said = {**ERROR_DESCRIPTIONS, **(descriptions or {})}
    content = {"application/json": {"schema": _ref(model.__name__)}}
    return {status: {"description": said[status], "content": content} for status in statuses}


def documented(
    *,
    auth: Auth,
    errors: Iterable[int],
    body: Mapping[str, Any] | None = None,
    cheqpoint: bool = False,
    descriptions: Mapping[int, str] | None = None,
    responses: Mapping[int | str, dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The decorator arguments (`**documented(...)`) that make a route's operation say who
    may call it, its request body, and exactly the error statuses it answers."""
    declared = error_responses(errors, cheqpoint=cheqpoint, descriptions=descriptions)
    for status, response in (responses or {}).items():
        declared[status] = {**declared.get(status, {}), **response}
    openapi_extra: dict[str, Any] = {"security": _SECURITY[auth], **(body or {}), **(extra or {})}
    return {"responses": declared, "openapi_extra": openapi_extra}


# --------------------------------------------------------------------------- the document

_FRAMEWORK_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")


def _is_framework_422(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def finish_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes and body schemas; drop FastAPI's `{"detail": [...]}` 422,
    which this service never answers (routes that can answer 422 declare ours)."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {}).update(extra_schemas())
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses and _is_framework_422(responses["422"]):
                del responses["422"]
    for name in _FRAMEWORK_SCHEMAS:
        components["schemas"].pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (served at /openapi.json) the finished document, built once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""Request-body schemas for the OpenAPI document (bodies are parsed by hand, strictly)."""

from __future__ import annotations

from typing import Any

from jiragate.catalog import ACTION_NAMES
from jiragate.examples import SEED_ENVELOPE

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["action", "summary"],
    "additionalProperties": False,
    "properties": {
        "action": {"type": "string", "enum": list(ACTION_NAMES)},
        "summary": {"type": "string", "minLength": 1, "maxLength": 1000},
        "details": {
            "type": "object",
            "description": "The action's details; see schemas/actions/<action>.json.",
        },
        "justification": {"type": "string", "maxLength": 4000},
    },
}

ENVELOPE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ENVELOPE_SCHEMA,
                "example": SEED_ENVELOPE,
            }
        },
    }
}

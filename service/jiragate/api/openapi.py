"""Request-body schemas for the OpenAPI document (bodies are parsed by hand, strictly)."""

from __future__ import annotations

from typing import Any

from jiragate.catalog import ACTION_NAMES, load_action_schema

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
                "example": {
                    "action": "jira_create_tickets",
                    "summary": "AI requesting creation of 12 tickets from overnight error log scan",
                    "details": {
                        "projectKey": "ENG",
                        "issueCount": 12,
                        "issueType": "Bug",
                        "priority": "High",
                        "labels": ["ai-generated", "error-log-triage"],
                        "sprintId": "sprint_42",
                    },
                },
            }
        },
    }
}


def action_schemas() -> dict[str, Any]:
    return {name: load_action_schema(name) for name in ACTION_NAMES}

"""The seed's example, as written on Cheqpoint's page: one source for the API docs' example,
the demo and the tests.

An error-log bot asks for 12 High bugs; an engineering lead approves 4 of them, as Medium.
"""

from __future__ import annotations

from typing import Any, Final

SEED_ENVELOPE: Final[dict[str, Any]] = {
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
}

SEED_EDIT: Final[dict[str, Any]] = {"issueCount": 4, "priority": "Medium"}
SEED_NOTE: Final = "Approving 4 tickets as Medium priority. Review full list before adding more."


def seed_envelope() -> dict[str, Any]:
    """A fresh, deep copy (callers add tickets or change fields freely)."""
    import copy

    return copy.deepcopy(SEED_ENVELOPE)

"""Sample actions shared by the policy tests."""

from __future__ import annotations


def envelope(action: str, **details: object) -> dict[str, object]:
    return {"action": action, "summary": f"test {action}", "details": details}


SEED = {
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

"""Issue history: what the sandbox records of a change, and Jira's changelog shape of it.

Only status changes are recorded (a transition is the change reads ask about most: "when did
it move to In Review?"); Jira records every field, which no test here needs yet."""

from __future__ import annotations

from typing import Any

from jiragate.jira.sandbox.render import user_json
from jiragate.jira.sandbox.state import Issue, SandboxState, User, now_iso, status


def record_change(
    state: SandboxState, issue: Issue, author: User | None, field: str, before: str, after: str
) -> None:
    """Append one change of `field` to the issue's history (hold the lock)."""
    ids = {"status": (status(before).id, status(after).id)} if field == "status" else {}
    source, target = ids.get(field, (None, None))
    issue.history.append(
        {
            "id": str(state.next_misc()),
            "author": author.account_id if author else "",
            "created": now_iso(),
            "items": [
                {
                    "field": field,
                    "fieldtype": "jira",
                    "from": source,
                    "fromString": before,
                    "to": target,
                    "toString": after,
                }
            ],
        }
    )


def history_json(state: SandboxState, entry: dict[str, Any], flavour: str) -> dict[str, Any]:
    """One changelog entry as `GET /issue/{key}/changelog` and `expand=changelog` show it."""
    return {
        "id": entry["id"],
        "author": user_json(state, state.users.get(str(entry["author"])), flavour),
        "created": entry["created"],
        "items": [dict(item) for item in entry["items"]],
    }

"""Sample actions shared by the policy tests."""

from __future__ import annotations

from jiragate.examples import seed_envelope


def envelope(action: str, **details: object) -> dict[str, object]:
    return {"action": action, "summary": f"test {action}", "details": details}


SEED = seed_envelope()

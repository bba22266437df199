"""Sample actions shared by the policy tests."""

from __future__ import annotations

from jiragate.examples import seed_envelope


def envelope(action: str, **details: object) -> dict[str, object]:
    return {"action": action, "summary": f"test {action}", "details": details}


SEED = seed_envelope()

# A billion laughs: nine levels of nine aliases, 9**9 strings described in 414 bytes
# (the bomb in the report was 416).
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
BOMB_LIMIT_LINE = 6  # where 500,000 expanded nodes are crossed

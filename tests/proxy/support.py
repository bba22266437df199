"""What the proxy tests share: a gated request's answer read as a Jira client reads it."""

from __future__ import annotations

import httpx


def held_action(response: httpx.Response) -> str:
    """The action id a gated request's Jira-shaped 409 names ("... Action act_…; ...")."""
    assert response.status_code == 409, response.text
    message = response.json()["errorMessages"][0]
    return message.split("Action ", 1)[1].split(";", 1)[0]

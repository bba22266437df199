"""Slack interactivity: verify a request, read the click.

Verification is slack_sdk's `SignatureVerifier`: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`
with the app's Signing Secret, and a timestamp no more than 5 minutes from now. A replay (the
same signature again, inside the window, to any replica) is refused by the caller through
the outbox's `first_sight`. The click is then only a request: the gateway maps the Slack
user to a reviewer account and decides through the same use case as the inbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from jiragate.approvals.notify.messages import (
    APPROVE_ACTION_ID,
    OPEN_ACTION_ID,
    REJECT_ACTION_ID,
    SNAPSHOT_SEPARATOR,
)

#: Slack's window for request timestamps (seconds), which SignatureVerifier applies.
REPLAY_WINDOW_SECONDS = 5 * 60
VERDICTS = {APPROVE_ACTION_ID: "approve", REJECT_ACTION_ID: "reject"}


class InteractionError(ValueError):
    """The request is not a usable interaction (the message says why)."""


@dataclass(frozen=True, slots=True)
class Click:
    slack_user_id: str
    #: "approve", "reject", or None for the "Open in inbox" link button (nothing to do).
    verdict: str | None
    action_id: str
    response_url: str | None
    #: The hash of the snapshot the message showed (None: a message that carried none).
    snapshot: str | None = None


def verify(secrets: list[str], body: bytes, timestamp: str, signature: str) -> bool:
    """True when one of the Slack apps' signing secrets signed `body` within the window."""
    if not timestamp or not signature:
        return False
    try:
        body.decode("utf-8")  # Slack sends UTF-8; slack_sdk would raise on anything else
    except UnicodeDecodeError:
        return False
    return any(
        SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature)
        for secret in secrets
    )


def parse_click(body: bytes) -> Click:
    """The first button of a `block_actions` payload (form field `payload`, JSON)."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload: Any = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        raise InteractionError("the body must be a form with a JSON `payload`") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise InteractionError("only block_actions interactions are handled")
    user = payload.get("user")
    actions = payload.get("actions")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise InteractionError("the payload names no Slack user")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise InteractionError("the payload holds no action")
    action = actions[0]
    action_id = action.get("action_id")
    value = action.get("value")
    if action_id == OPEN_ACTION_ID:
        return Click(user["id"], None, str(value or ""), None)
    if action_id not in VERDICTS or not isinstance(value, str) or not value:
        raise InteractionError(f"unknown button {action_id!r}")
    response_url = payload.get("response_url")
    target, _, snapshot = value.partition(SNAPSHOT_SEPARATOR)
    return Click(
        slack_user_id=user["id"],
        verdict=VERDICTS[action_id],
        action_id=target,
        response_url=response_url if isinstance(response_url, str) else None,
        snapshot=snapshot or None,
    )

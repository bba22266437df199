"""Shared pieces of the notification tests: settings with channels pointing at loopback
receivers, Slack-signed interaction requests, and waiting for what a worker round does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from tests.helpers.service import KEYS

T = TypeVar("T")

SIGNING_SECRET = "slack-signing-secret-for-tests-0001"
BOT_TOKEN = "xoxb-test-bot-token-0000000001"
SLACK_IDS = {"lead-alice": "U0ALICE", "lead-bob": "U0BOB", "pm-carol": "U0CAROL"}
SECRET_ENV = {
    "JG_TEST_SLACK_BOT_TOKEN": BOT_TOKEN,
    "JG_TEST_SLACK_SIGNING_SECRET": SIGNING_SECRET,
}


def reviewers(**emails: str) -> list[dict[str, Any]]:
    """The test reviewers of tests.helpers.service, with Slack ids and optional emails."""
    out = []
    for name in ("lead-alice", "lead-bob", "pm-carol", "pm-dave", "auditor"):
        account: dict[str, Any] = {"name": name, "api_key": KEYS[name]}
        if name in SLACK_IDS:
            account["slack_user_id"] = SLACK_IDS[name]
        if name.replace("-", "_") in emails:
            account["email"] = emails[name.replace("-", "_")]
        if name == "auditor":
            account["admin"] = True
        out.append(account)
    return out


def slack_channel(api_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "eng-slack",
        "kind": "slack",
        "groups": ["engineering-leads", "project-managers"],
        "bot_token": {"env": "JG_TEST_SLACK_BOT_TOKEN"},
        "channel": "C0JIRAGATE",
        "signing_secret": {"env": "JG_TEST_SLACK_SIGNING_SECRET"},
        "api_url": api_url,
        **extra,
    }


def fast_delivery(**extra: Any) -> dict[str, Any]:
    return {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "timeout_seconds": 3, **extra}


def click_body(slack_user: str, button: str, action_id: str, response_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user, "username": slack_user.lower()},
        # Slack gives every click its own trigger id and action timestamp.
        "trigger_id": uuid.uuid4().hex,
        "actions": [
            {
                "action_id": button,
                "value": action_id,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None
) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


def post_click(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/v1/slack/interactions", content=body, headers=headers, timeout=15)


def wait_for(what: Callable[[], T], description: str, timeout: float = 60) -> T:
    """Poll until `what()` is truthy (a worker round runs every 50 ms in these tests; the
    bound is generous because the machines are shared and noisy)."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {description}")
        time.sleep(0.05)

"""Jiragate wired to the fake Cheqpoint, for tests over real HTTP.

`serve_fake_cheqpoint(key)` serves `tests.helpers.fake_cheqpoint` on loopback and yields its
URL and state; `cheqpoint_backend(url, key)` is the settings overrides that make a
`running_service`/`service_on` use it as the approval backend; `post_signed_webhook(...)` is
what Cheqpoint does when a decision is made: a webhook signed with the shared secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import serve_app
from tests.helpers.service import WEBHOOK_SECRET


@contextmanager
def serve_fake_cheqpoint(connection_key: str) -> Iterator[tuple[str, FakeCheqpoint]]:
    """The fake Cheqpoint on loopback: its base URL and its state (to decide, inject faults)."""
    app, state = create_fake_cheqpoint(connection_key)
    with serve_app(app) as url:
        yield url, state


def cheqpoint_backend(url: str, connection_key: str) -> dict[str, Any]:
    """Settings overrides for Cheqpoint at `url` as the approval backend.

    The poll interval is a minute so that, within a test, a decision arrives by webhook.
    """
    return {
        "approval_backend": "cheqpoint",
        "cheqpoint": {
            "url": url,
            "connection_key": connection_key,
            "webhook_secret": WEBHOOK_SECRET,
            "poll_interval": 60,
        },
    }


def post_signed_webhook(
    service_url: str, raw: bytes, *, secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    """POST `raw` to Jiragate's Cheqpoint webhook, signed with `secret` as Cheqpoint signs."""
    return httpx.post(
        f"{service_url}/v1/webhooks/cheqpoint",
        content=raw,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(secret, raw),
        },
        timeout=30,
    )

"""Jiragate wired to the fake Cheqpoint, for tests over real HTTP.

`serve_fake_cheqpoint(key)` serves `tests.helpers.fake_cheqpoint` on loopback and yields its
URL and state; `cheqpoint_backend(url, key)` is the settings overrides that make a
`running_service`/`service_on` use it as the approval backend; `post_signed_webhook(...)` is
what Cheqpoint does when a decision is made: a webhook signed with the shared secret.

A test module that runs against Cheqpoint makes its two module-scoped fixtures with
`cheqpoint = fake_cheqpoint_fixture(KEY)` and `service = cheqpoint_service_fixture("service",
KEY, "tmp-dir-name")` (the fixture factories give each module its own key and directory).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from jiragate.approvals.cheqpoint import SIGNATURE_HEADER, sign_webhook
from tests.api.support import DB_KINDS, service_on
from tests.helpers.fake_cheqpoint import FakeCheqpoint, create_fake_cheqpoint
from tests.helpers.servers import serve_app
from tests.helpers.service import WEBHOOK_SECRET, Service


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


def fake_cheqpoint_fixture(connection_key: str) -> Any:
    """A module-scoped fixture named `cheqpoint`: the served fake's URL and state."""

    @pytest.fixture(scope="module", name="cheqpoint")
    def served_cheqpoint() -> Iterator[tuple[str, FakeCheqpoint]]:
        with serve_fake_cheqpoint(connection_key) as served:
            yield served

    return served_cheqpoint


def cheqpoint_service_fixture(
    name: str, connection_key: str, directory_name: str, **overrides: Any
) -> Any:
    """A module-scoped fixture named `name`: a service per database kind whose approval
    backend is the module's `cheqpoint` fixture, with further settings `overrides`."""

    @pytest.fixture(scope="module", params=DB_KINDS, name=name)
    def service_behind_cheqpoint(
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
        cheqpoint: tuple[str, FakeCheqpoint],
    ) -> Iterator[Service]:
        url, _ = cheqpoint
        with service_on(
            request,
            request.param,
            tmp_path_factory.mktemp(directory_name),
            **cheqpoint_backend(url, connection_key),
            **overrides,
        ) as running:
            yield running

    return service_behind_cheqpoint

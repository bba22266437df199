"""Mail over STARTTLS and implicit TLS to a real local SMTP server (aiosmtpd) with a
throwaway CA (trustme): the password (from a secret file) is only sent encrypted, the
server's certificate is verified, and a server whose certificate we do not trust gets
nothing."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from jiragate.approvals.notify.messages import Notice
from jiragate.approvals.notify.senders import Senders
from jiragate.settings import Settings
from tests.helpers.servers import free_port
from tests.notify.receivers import _Mailbox
from tests.notify.test_settings import NOW, record

PASSWORD = "smtp-password-for-tls-tests-01"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


class _Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any
    ) -> AuthResult:
        login, password = auth.login.decode(), auth.password.decode()
        self.seen.append((login, password))
        return AuthResult(success=password == PASSWORD)


@pytest.fixture(params=["starttls", "tls"])
def server(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[dict[str, Any]]:
    mailbox, logins, port = _Mailbox(), _Logins(), free_port()
    context = _server_context(ca)
    options: dict[str, Any] = {"authenticator": logins, "auth_require_tls": True}
    if request.param == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        # Implicit TLS from the first byte (aiosmtpd's auth_require_tls only knows STARTTLS).
        options.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield {"port": port, "security": request.param, "mailbox": mailbox, "logins": logins}
    finally:
        controller.stop()


def mail_channel(tmp_path: Path, server: dict[str, Any], ca_file: Path) -> Any:
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD, encoding="utf-8")
    settings = Settings(
        notifications=[
            {
                "name": "mail",
                "kind": "email",
                "groups": ["engineering-leads"],
                "sender": "jiragate@example.test",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": server["port"],
                    "security": server["security"],
                    "username": "jiragate",
                    "password": {"file": str(secret)},
                    "ca_file": str(ca_file),
                },
            }
        ]
    )
    return settings.notifications[0]


def send(channel: Any) -> Any:
    notice = Notice.of(
        record("Create 2 tickets", None, {"projectKey": "ENG"}),
        event="request",
        count=2,
        now=NOW,
        public_url=None,
    )

    async def go() -> Any:
        senders = Senders(timeout=10)
        try:
            return await senders.send(channel, notice, recipients=["alice@example.test"])
        finally:
            await senders.aclose()

    return asyncio.run(go())


def test_mail_goes_encrypted_with_the_password_from_its_file(
    tmp_path: Path, server: dict[str, Any], ca: trustme.CA
):
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    attempt = send(mail_channel(tmp_path, server, ca_file))
    assert attempt.ok, attempt.outcome
    assert server["logins"].seen == [("jiragate", PASSWORD)]
    (message,) = server["mailbox"].messages
    assert message["To"] == "alice@example.test"


def test_a_server_we_do_not_trust_gets_nothing(tmp_path: Path, server: dict[str, Any]):
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    attempt = send(mail_channel(tmp_path, server, stranger))
    assert not attempt.ok and attempt.retry
    assert server["logins"].seen == [] and server["mailbox"].messages == []

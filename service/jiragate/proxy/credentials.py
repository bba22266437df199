"""Who is calling the proxy: a Jiragate agent key, as a Data Center personal access token
(`Authorization: Bearer <key>`) or as the password of Basic auth (`<anyone>:<key>`, the
Cloud style). Anything else — a Jira API token, a PAT, a session cookie — identifies nobody
here and is refused: agents hold no Jira credentials, and the proxy forwards none."""

from __future__ import annotations

import base64
import binascii

from starlette.datastructures import Headers

#: Request headers that must appear at most once: two of them are read differently by two
#: parsers (a proxy before us and Jira), the request-smuggling shape.
SINGLE_HEADERS = (
    "authorization",
    "content-length",
    "content-type",
    "transfer-encoding",
    "idempotency-key",
    "x-atlassian-token",
    "host",
)


class ProxyCredentialError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


def presented_key(headers: Headers) -> str:
    """The agent key the request carries, or ProxyCredentialError saying what is wrong."""
    header = headers.get("authorization")
    if not header:
        raise ProxyCredentialError(
            401,
            "Jiragate needs an agent key: send Authorization: Bearer <key>, or Basic auth "
            "with the key as the password",
        )
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ProxyCredentialError(
                401, "the Basic credentials are not base64 of user:key"
            ) from None
        _, colon, password = decoded.partition(":")
        if colon and password:
            return password
        raise ProxyCredentialError(401, "the Basic credentials carry no password (the key)")
    raise ProxyCredentialError(
        401, f"the {scheme or 'empty'} authorization scheme is not accepted: use Bearer or Basic"
    )

"""Inbox sessions and CSRF tokens: one signed cookie, checked on every request.

The cookie holds `{"u": reviewer or null, "c": csrf token, "t": issued at}` as base64url JSON
followed by an HMAC-SHA256 of that text under the session secret. It is HttpOnly and
SameSite=Lax, so page scripts cannot read it and other sites cannot send it with a POST.
Every form carries the session's CSRF token in a hidden field, compared in constant time
(a missing or wrong token is a 403). A visitor who has not signed in still gets a session
(with `u` null) so the sign-in form itself is CSRF-protected too. Signing in issues a new
token, so a token seen before sign-in is worthless after it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from jiragate.settings import ReviewerAccount, Settings

log = logging.getLogger("jiragate.web")

COOKIE_NAME = "jiragate_inbox"
#: A reviewer signs in again after this long, whatever they do.
SESSION_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (None: nobody yet), and the token their forms must carry."""

    reviewer: str | None
    csrf: str
    issued_at: int

    @property
    def signed_in(self) -> bool:
        return self.reviewer is not None


def session_secret(settings: Settings) -> bytes:
    """The configured secret, or a random one for this process (sessions die on restart)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    log.warning(
        "session_secret is not set: generated a random one for this process, so inbox "
        "sessions end when it restarts and differ between replicas; set JIRAGATE_SESSION_SECRET"
    )
    return secrets.token_bytes(32)


class SessionCodec:
    """Signs and reads session cookies with one secret. Build one per app."""

    def __init__(
        self,
        secret: bytes,
        *,
        max_age: int = SESSION_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        # A derived key, so the same secret used elsewhere never signs the same bytes.
        self._key = hmac.new(secret, b"jiragate-inbox-session", hashlib.sha256).digest()
        self.max_age = max_age
        self.clock = clock

    def new(self, reviewer: str | None) -> Session:
        return Session(reviewer, secrets.token_urlsafe(32), int(self.clock()))

    def dumps(self, session: Session) -> str:
        payload = json.dumps(
            {"u": session.reviewer, "c": session.csrf, "t": session.issued_at},
            separators=(",", ":"),
        ).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str | None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged, malformed or old."""
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            reviewer, csrf, issued = data["u"], data["c"], int(data["t"])
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(csrf, str) or not (reviewer is None or isinstance(reviewer, str)):
            return None
        if not 0 <= self.clock() - issued <= self.max_age:
            return None
        return Session(reviewer, csrf, issued)

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_ok(session: Session | None, submitted: object) -> bool:
    """True when the form's token is this session's token (constant-time comparison)."""
    if session is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


PBKDF2_PREFIX = "pbkdf2_sha256"
PBKDF2_ITERATIONS = 600_000  # OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A value for `reviewers[].password` that does not reveal the password:
    `pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64url). Make one with
    `python -c "from jiragate.web.auth import hash_password; print(hash_password('...'))"`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")  # noqa: E731
    return f"{PBKDF2_PREFIX}${iterations}${encode(salt)}${encode(digest)}"


@functools.cache
def _dummy_hash() -> str:
    # Unknown names cost a full PBKDF2 check too, so timing does not reveal which names exist.
    return hash_password(secrets.token_urlsafe(16))


def _password_matches(configured: str, password: str) -> bool:
    """A configured password is a PBKDF2 hash (see `hash_password`) or, for demos and tests,
    the plain text; both are compared in constant time."""
    if configured.startswith(PBKDF2_PREFIX + "$"):
        try:
            _, iterations, salt, digest = configured.split("$")
            decode = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
            actual = hashlib.pbkdf2_hmac("sha256", password.encode(), decode(salt), int(iterations))
            return hmac.compare_digest(actual, decode(digest))
        except ValueError:
            log.error("a reviewer's password hash is malformed; nobody can sign in with it")
            return False
    return hmac.compare_digest(
        hashlib.sha256(configured.encode()).digest(), hashlib.sha256(password.encode()).digest()
    )


def check_password(settings: Settings, name: str, password: str) -> tuple[bool, str]:
    """(ok, reason). Reviewers without a password cannot sign in to the web inbox."""
    account: ReviewerAccount | None = settings.reviewer(name)
    # Compare against something even for unknown names, so timing does not tell them apart.
    expected = (
        account.password.get_secret_value()
        if account is not None and account.password is not None
        else _dummy_hash()
    )
    matches = _password_matches(expected, password)
    if account is None:
        return False, "unknown reviewer"
    if account.password is None:
        return False, "reviewer has no inbox password"
    if not matches:
        return False, "wrong password"
    return True, "ok"


def may_sign_in(settings: Settings, name: str) -> bool:
    """Whether a signed-in name is still a reviewer with a password (settings may change)."""
    account = settings.reviewer(name)
    return account is not None and account.password is not None

"""Inbox sign-in, sessions and CSRF tokens.

Two signed cookies (base64url JSON + HMAC-SHA256 under a key derived from the session
secret), both HttpOnly, SameSite=Strict, `Path=/inbox`, Secure over https:

- `jiragate_inbox` - a signed-in session: `{"s": <random session id>}`. The id names a row
  in the store (`store.inbox_auth`), looked up on every request: signing out deletes it, so
  a copied cookie is worthless afterwards on every replica; idle and absolute timeouts end
  it too. Signing in always opens a new session (a new id): nothing from before carries over.
- `jiragate_inbox_signin` - a visitor who has not signed in: `{"c": csrf, "t": issued at}`, so
  the sign-in form itself is CSRF-protected. It grants nothing and is never stored. It is a
  separate cookie so that arriving from another site (when SameSite=Strict withholds the
  session cookie) does not overwrite a signed-in session.

Every form carries the session's CSRF token in a hidden field, compared in constant time (a
missing or wrong token is a 403). A signed-in session's token is an HMAC of its id, so it
changes with the session. Passwords: see `jiragate.passwords` (argon2id, constant cost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jiragate.passwords import verify_password
from jiragate.settings import ReviewerAccount, Settings

log = logging.getLogger("jiragate.web")

SESSION_COOKIE = "jiragate_inbox"
SIGNIN_COOKIE = "jiragate_inbox_signin"
#: How long a sign-in form's token stays good (it only protects the sign-in form).
SIGNIN_TOKEN_MAX_AGE = 24 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (None: nobody yet), the token their forms must carry, and the id of
    their server-side session (None before sign-in)."""

    reviewer: str | None
    csrf: str
    session_id: str | None = None

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
    """Signs and reads the inbox cookies with one secret. Build one per app."""

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        # Derived keys, so the same secret used elsewhere never signs the same bytes.
        self._key = hmac.new(secret, b"jiragate-inbox-session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(secret, b"jiragate-inbox-csrf", hashlib.sha256).digest()
        self.clock = clock

    # ----------------------------------------------------------------- before sign-in

    def new_visitor(self) -> Session:
        return Session(None, secrets.token_urlsafe(32))

    def dump_visitor(self, session: Session) -> str:
        return self._dumps({"c": session.csrf, "t": int(self.clock())})

    def load_visitor(self, value: str | None) -> Session | None:
        """The visitor in a sign-in cookie, or None when missing, forged, malformed or old."""
        data = self._loads(value)
        if data is None:
            return None
        csrf, issued = data.get("c"), data.get("t")
        if not isinstance(csrf, str) or not csrf or type(issued) is not int:
            return None
        if not 0 <= self.clock() - issued <= SIGNIN_TOKEN_MAX_AGE:
            return None
        return Session(None, csrf)

    # ----------------------------------------------------------------- signed in

    def dump_session_id(self, session_id: str) -> str:
        return self._dumps({"s": session_id})

    def load_session_id(self, value: str | None) -> str | None:
        """The session id in a session cookie (not yet checked against the store)."""
        data = self._loads(value)
        session_id = data.get("s") if data is not None else None
        return session_id if isinstance(session_id, str) and session_id else None

    def csrf_for(self, session_id: str) -> str:
        digest = hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # ----------------------------------------------------------------- signing

    def _dumps(self, data: dict[str, Any]) -> str:
        payload = json.dumps(data, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def _loads(self, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_ok(session: Session | None, submitted: object) -> bool:
    """True when the form's token is this session's token (constant-time comparison)."""
    if session is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def check_password(settings: Settings, name: str, password: str) -> tuple[bool, str]:
    """(ok, reason). Reviewers without a `password_hash` cannot sign in to the web inbox.

    Exactly one argon2id verification whatever the name: an unknown name, or a reviewer
    without a hash, is checked against a dummy hash with the same parameters, so the time a
    sign-in takes does not tell which names exist."""
    account: ReviewerAccount | None = settings.reviewer(name)
    stored = account.password_hash if account is not None else None
    matches = verify_password(stored.get_secret_value() if stored is not None else None, password)
    if account is None:
        return False, "unknown reviewer"
    if stored is None:
        return False, "reviewer has no inbox password"
    if not matches:
        return False, "wrong password"
    return True, "ok"


def may_sign_in(settings: Settings, name: str) -> bool:
    """Whether a signed-in name is still a reviewer with a password (settings may change)."""
    account = settings.reviewer(name)
    return account is not None and account.password_hash is not None

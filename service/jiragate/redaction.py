"""Credentials out of everything that leaves a process or is stored.

One facility, the standard library and RE2 only (importable from every layer, like `errors`):

- **Known secrets.** The configured ones (Jira API token / PAT and the Basic header value,
  Cheqpoint Connection Key and webhook secret, agent and reviewer API keys, reviewer
  passwords, the session secret, the database URL's password) are registered once by the
  edge that reads the settings (`register_secrets`); the Jira and Cheqpoint clients register
  the credentials they send. Each is searched for as written and in the encodings an echoing
  upstream or a log line may carry it in: base64 (standard and URL-safe, at any alignment, so
  it is found inside a longer base64 text such as `Basic base64(email:token)`), percent-encoded
  (`quote`, `quote_plus`) and JSON-escaped.
- **Generic shapes**, for credentials nobody registered: `Authorization`/`x-api-key`/`Cookie`
  headers and `password=`/`token:`-style pairs (quoted or not), `Basic …` and `Bearer …`
  credentials, and the password of URL userinfo (`scheme://user:pass@`).

Everything found becomes `[redacted]`. Secrets shorter than `MIN_SECRET_LENGTH` are not
searched for: masking every occurrence of a three-letter word would garble text and hide
nothing an attacker could not guess.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import re2

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6

# Header and field names whose value is a credential, in text ("Authorization: Basic x",
# '"x-api-key": "k"', "password=p") and as mapping keys.
_SECRET_NAME = (
    r"(?:proxy-)?authorization|x-api-key|api[-_]?key|apikey|api[-_]?token|access[-_]?token|"
    r"personal[-_]?access[-_]?token|connection[-_]?key|webhook[-_]?secret|session[-_]?secret|"
    r"client[-_]?secret|set-cookie|cookie|password|passwd"
)
_SECRET_KEY = re.compile(rf"(?:{_SECRET_NAME})", re.IGNORECASE)
_NAMED_VALUE = re.compile(
    rf"""(?P<name>\b(?:{_SECRET_NAME}))(?P<sep>["']?\s*[:=]\s*(?P<quote>["']?))"""
    r"""(?!\[redacted\])(?P<value>(?:(?:basic|bearer|token|digest)\s+)?[^\s"',;&}\[\]\)]+)""",
    re.IGNORECASE,
)
_SCHEME_CREDENTIAL = re.compile(
    r"\b(?P<scheme>basic|bearer)\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE
)
_URL_USERINFO = re.compile(
    r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s\"']*):(?!\[redacted\])[^@/?#\s\"']*@"
)

_REPEATED_MASK = re.compile(r"(?:\[redacted\]){2,}")

# What each shape above cannot match without: a credential name, a scheme word, a URL's
# `://`, or an earlier mask. Text with none of them (and no known secret) is returned as it
# is after one scan instead of five: a Jira issue has ~90 strings, nearly all of them clean.
# The screen runs on RE2, whose automaton scans once however many secret forms it holds
# (Python's `re` tries each of ~150 alternatives at every position: 10x slower here).
_SHAPE_TRIGGER = rf"(?i:{_SECRET_NAME}|basic|bearer|://|\[redacted\])"
# No shape or secret form is shorter (`a://:@`, the least URL userinfo): shorter text is clean.
_SHORTEST_MATCH = 6
# Redacted texts remembered per redactor: Jira's keys and most of its values repeat from one
# answer to the next. Bounded in number and length; cleared whole when full.
_MEMO_ENTRIES = 8192
_MEMO_TEXT_LENGTH = 256


def _base64_fragments(secret: bytes) -> set[str]:
    """The base64 characters that depend on `secret` alone, at each of the 3 alignments it
    can have inside a longer base64 text (a character carries 6 bits; keep the ones whose
    bits all come from the secret)."""
    fragments = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii").rstrip("=")
        first = -(-8 * offset // 6)  # ceil: the first character past the padding bytes
        last = (8 * (offset + len(secret))) // 6  # characters wholly inside the secret
        fragment = encoded[first:last]
        if len(fragment) >= MIN_SECRET_LENGTH:
            fragments.add(fragment)
            fragments.add(fragment.replace("+", "-").replace("/", "_"))
    return fragments


def encodings(secret: str) -> set[str]:
    """Every form of `secret` searched for (empty for a secret too short to search)."""
    if len(secret) < MIN_SECRET_LENGTH:
        return set()
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms |= _base64_fragments(raw)
    whole = base64.b64encode(raw).decode("ascii")
    forms |= {whole, whole.rstrip("="), base64.urlsafe_b64encode(raw).decode("ascii")}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secrets (in every covered encoding) and credential shapes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if isinstance(s, str) and s)
        self._forms = sorted({f for s in self.secrets for f in encodings(s)}, key=len)[::-1]
        # Longest first, so a secret containing another is masked whole.
        self._known = re.compile("|".join(map(re.escape, self._forms))) if self._forms else None
        self._screen = re2.compile("|".join([*map(re.escape, self._forms), _SHAPE_TRIGGER]))
        self._memo: dict[str, str] = {}

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        return Redactor(self.secrets | set(secrets))

    def text(self, text: str) -> str:
        """`text` with every secret and credential shape replaced by `[redacted]`."""
        if len(text) < _SHORTEST_MATCH:
            return text
        known = self._memo.get(text)
        if known is not None:
            return known
        out = text if self._screen.search(text) is None else self._rewrite(text)
        if len(text) <= _MEMO_TEXT_LENGTH:
            if len(self._memo) >= _MEMO_ENTRIES:
                self._memo.clear()
            self._memo[text] = out
        return out

    def _rewrite(self, text: str) -> str:
        """Every substitution, unscreened (`text` is this after the screen)."""
        out = self._known.sub(REDACTED, text) if self._known is not None else text
        out = _NAMED_VALUE.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", out)
        out = _SCHEME_CREDENTIAL.sub(lambda m: f"{m['scheme']} {REDACTED}", out)
        out = _URL_USERINFO.sub(lambda m: f"{m['prefix']}:{REDACTED}@", out)
        out = _REPEATED_MASK.sub(REDACTED, out)
        if self._known is not None and self._known.search(out):
            # Only possible when a secret overlaps the mask itself: fail closed.
            return REDACTED
        return out

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted, and the values of
        credential-named keys (authorization, x-api-key, password, …) masked whole."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                self.text(k) if isinstance(k, str) else k: (
                    REDACTED
                    if isinstance(k, str) and _SECRET_KEY.fullmatch(k) and v not in (None, "")
                    else self.value(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


# --------------------------------------------------------------------------- the process's


class _Registry:
    """The secrets this process knows of. Only ever grows: a secret once configured stays
    masked even after a reload without it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.redactor = Redactor()

    def register(self, secrets: Iterable[str]) -> None:
        fresh = {s for s in secrets if isinstance(s, str) and s} - self.redactor.secrets
        if fresh:
            with self._lock:
                self.redactor = self.redactor.with_secrets(fresh)


_registry = _Registry()


def register_secrets(secrets: Iterable[str]) -> None:
    """Add secrets every `redact_*` call in this process masks from now on."""
    _registry.register(secrets)


def redactor() -> Redactor:
    """The process's redactor (registered secrets + credential shapes)."""
    return _registry.redactor


def redact_text(text: str) -> str:
    return _registry.redactor.text(text)


def redact_value(value: Any) -> Any:
    return _registry.redactor.value(value)


# --------------------------------------------------------------------------- logging


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message, arguments and traceback text.

    The arguments stay a tuple of the same length (uvicorn's access formatter reads them by
    position); only strings among them change.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return redact_text(arg)
    if isinstance(arg, int | float | bool) or arg is None:
        return arg
    return redact_text(str(arg))  # an exception, a URL object…: as it would be formatted


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "jiragate")


def install_log_redaction() -> None:
    """Put a `RedactingFilter` on the root and uvicorn loggers and on all their handlers
    (a logger's filter does not see records propagated from its children; a handler's does).
    Call after logging is configured (uvicorn configures it when its Config is built)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, RedactingFilter) for f in target.filters):
                target.addFilter(RedactingFilter())

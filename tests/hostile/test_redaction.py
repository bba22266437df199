"""The one redaction facility: whatever surrounds a secret, and in whichever encoding we cover
an echoing upstream or a log line carries it, what comes out never holds it."""

from __future__ import annotations

import base64
import json
import logging
import string
import sys
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.redaction import REDACTED, RedactingFilter, Redactor, encodings

# Secrets as configured: printable, no whitespace, long enough to search for.
secrets = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~+/=:@!$%^&*()[]{}<>?,;'\"\\|`#",
    min_size=8,
    max_size=48,
)
surroundings = st.text(max_size=60)

ENCODERS = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote_plus": quote_plus,
    "json": lambda s: json.dumps(s)[1:-1],
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "basic": lambda s: "Basic " + base64.b64encode(f"someone@example.com:{s}".encode()).decode(),
    "header": lambda s: f"x-api-key: {s}",
}


@settings(max_examples=200, deadline=None)
@given(secret=secrets, before=surroundings, after=surroundings, how=st.sampled_from(list(ENCODERS)))
def test_no_covered_encoding_of_a_secret_survives(secret, before, after, how):
    redactor = Redactor([secret])
    out = redactor.text(before + ENCODERS[how](secret) + after)
    assert secret not in out
    for form in encodings(secret):
        assert form not in out


@settings(max_examples=100, deadline=None)
@given(secret=secrets, pieces=st.lists(surroundings, min_size=1, max_size=4))
def test_every_occurrence_is_masked_in_nested_values(secret, pieces):
    redactor = Redactor([secret])
    value = {"note": secret.join(pieces), "items": [secret, {"deep": pieces[0] + secret}]}
    out = json.dumps(redactor.value(value))
    assert secret not in out and json.dumps(secret)[1:-1] not in out


# Pieces that start or end every shape the redactor knows, mixed with anything at all.
_SHAPE_PIECES = st.sampled_from(
    [
        "password",
        "Passwd",
        "x-api-key",
        "Authorization",
        "api_token",
        ":",
        "=",
        " ",
        '"',
        "'",
        "Basic ",
        "bearer ",
        "://",
        "@",
        "[redacted]",
        "token ",
        "cookie",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    secret=secrets,
    pieces=st.lists(st.one_of(_SHAPE_PIECES, surroundings, secrets), max_size=12),
)
def test_the_screen_never_changes_what_comes_out(secret, pieces):
    # The one-scan screen skips text no shape can match: it must skip nothing that the full
    # set of substitutions would have changed.
    redactor = Redactor([secret])
    for text in ("".join(pieces), secret.join(pieces)):
        assert redactor.text(text) == redactor._rewrite(text)


@settings(max_examples=100, deadline=None)
@given(tail=st.text(alphabet=string.ascii_letters + string.digits + "._~+-", min_size=6))
def test_unregistered_credentials_in_known_shapes_are_masked(tail):
    token = f"tk{tail}"  # "tk" starts no word of the texts around it
    redactor = Redactor()
    for text in (
        f"Authorization: Bearer {token}",
        f'{{"authorization": "Basic {token}"}}',
        f"'x-api-key': '{token}'",
        f"password={token}&user=x",
        f"postgresql://jiragate:{token}@db:5432/x",
    ):
        out = redactor.text(text)
        assert REDACTED in out and token not in out, (text, out)


def test_a_database_url_keeps_everything_but_its_password():
    out = Redactor().text("could not reach postgresql+psycopg://jiragate:hunter22@db:5432/j")
    assert out == f"could not reach postgresql+psycopg://jiragate:{REDACTED}@db:5432/j"


def test_short_secrets_are_not_searched_for():
    assert Redactor(["abc"]).text("abc and more") == "abc and more"


def test_the_log_filter_masks_message_arguments_and_tracebacks():
    import jiragate.redaction as redaction

    redaction.register_secrets(["log-filter-probe-secret-1"])
    try:
        raise RuntimeError("boom log-filter-probe-secret-1")
    except RuntimeError:
        record = logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "%s %d",
            ("log-filter-probe-secret-1", 7),
            True,
        )
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "log-filter-probe-secret-1" not in text
    assert f"{REDACTED} 7" in text and "RuntimeError" in text

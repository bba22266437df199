"""An anchor `SEQ:HASH` holds only if event SEQ has that hash: found by the attack run
against the real `jiragate audit verify` process.

The walk accepted an anchor as soon as its hash appeared anywhere in the chain, so an anchor
naming a position past the head (`1789:<hash of 1788>`), an anchor at seq 0 with any event's
hash, and one whose seq was written in other digits (`٣`, which `\\d` and int() take for 3)
all verified "OK" although no such event exists. Now the hash must be at that position
(another position is a failure, exit 1), seq 0 is only the empty chain's genesis hash, and
the seq is ASCII digits (anything else is a usage error, exit 2).

Each test checks its first attack on a real process and its variants through the same entry
function in this process (see tests/helpers/cli.py).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.cli.test_audit_cli import append, audit, audit_process, head
from tests.conftest_db import db_url, engine, postgres_admin  # noqa: F401

EVENTS = 5


def _anchors(db_url: str, engine: Engine) -> tuple[int, str, str]:  # noqa: F811
    append(engine, EVENTS)
    seq, digest = head(db_url).split(":")
    append(engine, 1)  # an older event's hash is now inside the chain, not at its head
    return int(seq), digest, head(db_url).split(":")[1]


def _verify(db_url: str, anchor: str, *, real: bool = False) -> tuple[int, str]:  # noqa: F811
    done = (audit_process if real else audit)(
        "verify", "--database-url", db_url, "--expect-head", anchor
    )
    return done.returncode, done.stdout + done.stderr


def test_an_anchor_whose_hash_is_at_another_position_fails(db_url, engine):  # noqa: F811
    seq, digest, newest = _anchors(db_url, engine)
    assert _verify(db_url, f"{seq}:{digest}")[0] == 0  # the true anchor still holds
    for wrong in (seq + 1, seq - 1, seq + 1000, 10**18):
        code, output = _verify(db_url, f"{wrong}:{digest}", real=wrong == seq + 1)
        assert code == 1, (wrong, output)
        assert "BROKEN" in output or "before the anchored event" in output, output
    code, output = _verify(db_url, f"{seq + 2}:{newest}")  # the head's hash, one past it
    assert code == 1, output


def test_seq_zero_is_only_the_empty_chain(db_url, engine):  # noqa: F811
    _, digest, _ = _anchors(db_url, engine)
    code, output = _verify(db_url, f"0:{digest}", real=True)
    assert code == 2, output
    assert "seq 0 is the empty chain" in output
    assert _verify(db_url, "0:" + "0" * 64)[0] == 0  # every chain extends the empty one


def test_a_seq_in_other_digits_is_a_usage_error(db_url, engine):  # noqa: F811
    _, digest, _ = _anchors(db_url, engine)
    # Arabic-Indic, fullwidth, mathematical bold three and superscript three.
    for spelled in ("\u0663", "\uff13", "\U0001d7d1", "\u00b3"):
        code, output = _verify(db_url, f"{spelled}:{digest}", real=spelled == "\u0663")
        assert code == 2, (spelled, output)
        assert "expected an anchor SEQ:HASH" in output

"""`jiragate audit` on SQLite and PostgreSQL: an anchored head is a prefix check (growth
passes; a rewrite, a truncation or another hash at the anchored seq fails), the database may
be named before or after the verb, and nothing given is a clear error that creates nothing.

Each exit status and what it prints is checked on a real process as an operator runs it
(`audit_process`); the other variants run the same entry function in the test process
(`audit`), see tests/helpers/cli.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from jiragate.store import Store
from jiragate.store.audit import compute_hash
from jiragate.store.models import AuditEvent
from tests.conftest_db import db_url, engine, postgres_admin  # noqa: F401
from tests.helpers import cli


def audit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`jiragate audit ARGS` through the CLI's entry function, in this process."""
    return cli.in_process("audit", *args, cwd=cwd)


def audit_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`jiragate audit ARGS` as a real process."""
    return cli.process("audit", *args, cwd=cwd)


def append(engine: Engine, count: int) -> None:  # noqa: F811
    store = Store(engine)
    for i in range(count):
        store.append_audit(action_id=None, actor="tester", type="test.event", data={"i": i})


def head(url: str) -> str:
    result = audit("head", "--database-url", url)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def rewrite_from(engine: Engine, seq: int) -> None:  # noqa: F811
    """What an attacker with write access does: edit event `seq`, then recompute every hash
    after it so the chain on its own verifies again."""
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :seq"), {"seq": seq}
        )
    with Session(engine) as session:
        events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))  # type: ignore[arg-type]
        prev = events[seq - 2].hash if seq > 1 else "0" * 64
        for event in events[seq - 1 :]:
            event.prev_hash = prev
            event.hash = compute_hash(event)
            prev = event.hash
        session.commit()


def test_an_anchor_survives_growth_and_names_the_new_head(db_url, engine):  # noqa: F811
    append(engine, 3)
    anchor = head(db_url)
    assert anchor.startswith("3:") and len(anchor) == 2 + 64
    append(engine, 4)

    grown = audit_process("verify", "--database-url", db_url, "--expect-head", anchor)
    assert grown.returncode == 0, grown.stdout + grown.stderr
    assert "audit chain OK: 7 events, head 7:" in grown.stdout
    assert "4 events appended since" in grown.stdout
    new_head = grown.stdout.split("Record the new head: ")[1].strip()
    assert new_head == head(db_url)
    # The form `verify` prints (#SEQ HASH) and a bare hash are read too.
    seq, digest = anchor.split(":")
    assert (
        audit("verify", "--database-url", db_url, "--expect-head", f"#{seq} {digest}").returncode
        == 0
    )
    assert audit("verify", "--database-url", db_url, "--expect-head", digest).returncode == 0


def test_a_rewrite_before_the_anchor_fails_even_with_recomputed_hashes(db_url, engine):  # noqa: F811
    append(engine, 5)
    anchor = head(db_url)  # 5:…
    rewrite_from(engine, 2)
    assert audit("verify", "--database-url", db_url).returncode == 0  # the chain alone is fine
    broken = audit_process("verify", "--database-url", db_url, "--expect-head", anchor)
    assert broken.returncode == 1
    assert "BROKEN at seq 5" in broken.stdout
    assert "rewritten at or before seq 5" in broken.stdout
    bare = audit("verify", "--database-url", db_url, "--expect-head", anchor.split(":")[1])
    assert bare.returncode == 1 and "nowhere in the chain" in bare.stdout


def test_a_truncation_below_the_anchor_fails(db_url, engine):  # noqa: F811
    append(engine, 6)
    anchor = head(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq > 3"))
    append(engine, 1)  # the tail re-grown to seq 4: still shorter than the anchor
    broken = audit("verify", "--database-url", db_url, "--expect-head", anchor)
    assert broken.returncode == 1
    assert "the chain ends at seq 4, before the anchored event 6" in broken.stdout


def test_another_hash_at_the_anchored_seq_fails(db_url, engine):  # noqa: F811
    append(engine, 2)
    seq, _ = head(db_url).split(":")
    broken = audit("verify", "--database-url", db_url, "--expect-head", f"{seq}:{'ab' * 32}")
    assert broken.returncode == 1 and "BROKEN at seq 2" in broken.stdout
    bad = audit_process("verify", "--database-url", db_url, "--expect-head", "yesterday")
    assert bad.returncode == 2 and "--expect-head: expected an anchor SEQ:HASH" in bad.stderr


def test_the_config_may_come_before_or_after_the_verb(db_url, engine, tmp_path):  # noqa: F811
    append(engine, 2)
    config = tmp_path / "jiragate.yaml"
    config.write_text(yaml.safe_dump({"database_url": db_url}))
    for args in (
        ("verify", "--config", str(config)),
        ("--config", str(config), "verify"),
        ("head", "--config", str(config)),
    ):
        result = audit(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    exported = audit("export", "--config", str(config))
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 2
    # After the verb wins over before it.
    elsewhere = tmp_path / "other.yaml"
    elsewhere.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'no.db'}"}))
    assert audit("--config", str(elsewhere), "verify", "--config", str(config)).returncode == 0


def test_no_database_named_is_a_clear_error_that_creates_nothing(tmp_path):
    for verb, run in (("verify", audit_process), ("export", audit), ("head", audit)):
        result = run(verb, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "no database to read: pass --config FILE or --database-url URL" in result.stderr
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_verify_never_creates_or_migrates_a_database(tmp_path):
    config = tmp_path / "jiragate.yaml"
    missing = tmp_path / "missing.db"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{missing}"}))
    result = audit("verify", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "no SQLite database at" in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists()
    # An existing file that is no Jiragate database is not migrated into one.
    empty = tmp_path / "empty.db"
    empty.touch()
    result = audit("verify", "--database-url", f"sqlite:///{empty}")
    assert result.returncode == 2 and "has no audit trail" in result.stderr
    assert empty.stat().st_size == 0


@pytest.mark.postgres
def test_verify_on_an_empty_postgres_schema_creates_no_table(postgres_admin):  # noqa: F811
    from tests.conftest_db import POSTGRES_URL

    schema = "t_audit_cli_empty"
    with postgres_admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        result = audit("verify", "--database-url", url)
        assert result.returncode == 2 and "has no audit trail" in result.stderr
        with postgres_admin.connect() as connection:
            tables = connection.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalar_one()
        assert tables == 0
    finally:
        with postgres_admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

"""Database fixtures, parametrized over a real SQLite file and the machine's PostgreSQL.

Import them into a test package's conftest.py:
`from tests.conftest_db import db_url, engine, postgres_admin, store  # noqa: F401`.

Which databases: `JIRAGATE_TEST_DATABASES` (comma-separated, default `sqlite,postgres`), so
plain `pytest` covers both and `JIRAGATE_TEST_DATABASES=sqlite pytest` is a quick local run.
Module-scoped service fixtures parametrize with `DB_KINDS` (the same selection).

PostgreSQL (127.0.0.1:5432, database `test`) must be reachable: if it is not, these tests
FAIL rather than skip, unless JIRAGATE_SKIP_POSTGRES=1 is set on purpose. Each test gets its
own schema (via the connection's search_path), dropped afterwards, so tests never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from jiragate.store import Store, init_db, make_engine

POSTGRES_URL = os.environ.get(
    "JIRAGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


KNOWN_DATABASES = ("sqlite", "postgres")


def selected_databases() -> list[str]:
    raw = os.environ.get("JIRAGATE_TEST_DATABASES", "sqlite,postgres")
    kinds = [kind.strip() for kind in raw.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(KNOWN_DATABASES))
    if unknown or not kinds:
        raise ValueError(
            f"JIRAGATE_TEST_DATABASES={raw!r}: name one or more of {', '.join(KNOWN_DATABASES)}"
        )
    return kinds


#: Parameters for database-parametrized fixtures (PostgreSQL ones carry the `postgres` mark).
DB_KINDS = [
    pytest.param(kind, marks=pytest.mark.postgres) if kind == "postgres" else kind
    for kind in selected_databases()
]


def _skip_postgres() -> bool:
    return os.environ.get("JIRAGATE_SKIP_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    if _skip_postgres():
        pytest.skip("JIRAGATE_SKIP_POSTGRES=1")
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.orig}); start it, or set "
            "JIRAGATE_SKIP_POSTGRES=1 to skip the PostgreSQL tests on purpose",
            pytrace=False,
        )
    yield admin
    admin.dispose()


@contextmanager
def database_url(request: pytest.FixtureRequest, kind: str, directory: Path) -> Iterator[str]:
    """A fresh SQLite file in `directory`, or a fresh PostgreSQL schema dropped afterwards
    (for fixtures of any scope; `db_url` is the function-scoped one)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'jiragate-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)

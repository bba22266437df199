"""Alembic environment for Jiragate, driven programmatically by `jiragate.store.db.init_db`.

There is no alembic.ini: `init_db` builds the Config in code and hands over an open
connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from jiragate.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "jiragate migrations run through jiragate.store.db.init_db(engine), "
            "which passes an open connection"
        )
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use init_db(engine)")
run_migrations_online()

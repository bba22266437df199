"""The active policy revision in the database, and PolicyHolders converging on it.

Three holders (processes) over one database: two share a policy directory, one has its own.
Any sequence of edits (valid versions, broken sets), reloads and watcher rounds must leave,
once every holder has had its rounds, each holder either deciding with the active revision or
refusing to decide (never deciding with another revision); the active revision is never a
broken set's; a refused reload moves nothing; an accepted one decides at once where it ran.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.errors import PolicyLoadError, PolicyOutOfDateError
from jiragate.gateway import PolicyHolder
from jiragate.metrics import Metrics
from jiragate.policy.loader import revision_of
from jiragate.store import Store
from jiragate.store.audit import list_events

GROUPS = """
review_groups:
  leads:
    description: Leads.
    members: [lead-alice]
defaults:
  write: require_approval
  destructive: deny
  route_to: leads
"""
BROKEN = "rules:\n  - id: broken\n    match: {action: jira_create_epic}\n    decision: maybe\n"
VERSIONS = (0, 1, 2)
HOLDER_DIRS = (0, 0, 1)  # holders 0 and 1 share directory 0; holder 2 has directory 1


def rules(version: int | None) -> str:
    if version is None:
        return BROKEN
    return (
        f"rules:\n  - id: epics-v{version}\n    match: {{action: jira_create_epic}}\n"
        f"    decision: deny\n    reason: Version {version}.\n"
    )


def write_set(directory: Path, version: int | None) -> None:
    (directory / "groups.yaml").write_text(GROUPS, encoding="utf-8")
    (directory / "rules.yaml").write_text(rules(version), encoding="utf-8")


def revision(version: int) -> str:
    sources = [
        (str(Path("groups.yaml")), GROUPS.encode()),
        (str(Path("rules.yaml")), rules(version).encode()),
    ]
    return revision_of(sources)


def reset(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE policy_state SET revision = NULL"))


def test_the_migration_creates_the_one_row_unset(store: Store):
    assert store.active_policy_revision() is None


def test_activation_returns_the_previous_revision_and_audits_in_its_transaction(store: Store):
    def note(previous: str | None):
        from jiragate.store import AuditNote

        return AuditNote("admin", "policy.reloaded", {"from": previous, "to": "r2"})

    assert store.activate_policy_revision("r1", actor="p1", audit_note=lambda _: None) is None
    assert store.activate_policy_revision("r2", actor="admin", audit_note=note) == "r1"
    assert store.active_policy_revision() == "r2"
    (event,) = [e for e in list_events(store.engine, limit=50) if e.type == "policy.reloaded"]
    assert (event.actor, event.data) == ("admin", {"from": "r1", "to": "r2"})


OPERATIONS = st.one_of(
    st.tuples(st.just("write"), st.sampled_from((0, 1)), st.sampled_from((*VERSIONS, None))),
    st.tuples(st.just("sync"), st.sampled_from((0, 1, 2)), st.none()),
    st.tuples(st.just("reload"), st.sampled_from((0, 1, 2)), st.none()),
)


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(OPERATIONS, max_size=12))
def test_holders_converge_on_the_active_revision_or_refuse_to_decide(
    store: Store, operations: list[tuple[str, int, int | None]]
):
    reset(store)
    with tempfile.TemporaryDirectory() as scratch:
        dirs = [Path(scratch) / "d0", Path(scratch) / "d1"]
        contents: list[int | None] = [0, 0]
        for directory in dirs:
            directory.mkdir()
            write_set(directory, 0)
        holders = [
            PolicyHolder(dirs[d], Metrics(), store, actor=f"p{n}")
            for n, d in enumerate(HOLDER_DIRS)
        ]
        for holder in holders:
            holder.start()
        valid = {revision(v) for v in VERSIONS}

        for verb, index, version in operations:
            if verb == "write":
                write_set(dirs[index], version)
                contents[index] = version
            elif verb == "sync":
                holders[index].sync()
            else:
                holder, before = holders[index], store.active_policy_revision()
                files = contents[HOLDER_DIRS[index]]
                if files is None:
                    with pytest.raises(PolicyLoadError):
                        holder.reload(actor="admin")
                    assert store.active_policy_revision() == before  # refused: nothing moved
                else:
                    fresh, previous = holder.reload(actor="admin")
                    assert previous == before
                    assert fresh.revision == revision(files) == store.active_policy_revision()
                    assert holder.deciding().revision == fresh.revision  # at once, here
            assert store.active_policy_revision() in valid

        for _ in range(2):  # every process has its watcher rounds
            for holder in holders:
                holder.sync()
        active = store.active_policy_revision()
        for n, holder in enumerate(holders):
            files = contents[HOLDER_DIRS[n]]
            gives_active = files is not None and revision(files) == active
            try:
                deciding = holder.deciding().revision
            except PolicyOutOfDateError as exc:
                assert not gives_active, (n, holder.status)
                assert (exc.active, exc.running) == (active, holder.current.revision)
                assert not holder.status.in_sync
                continue
            assert deciding == active, (n, holder.status)  # never another revision
            assert holder.status.in_sync

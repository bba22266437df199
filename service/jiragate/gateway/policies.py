"""The running policy set of one process, kept on the cluster's active revision."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jiragate.errors import PolicyLoadError, PolicyOutOfDateError
from jiragate.metrics import Metrics
from jiragate.policy.engine import PolicySet, load_policies
from jiragate.policy.loader import policy_files, revision_of
from jiragate.store import AuditNote, Store

log = logging.getLogger("jiragate.gateway")


#: What a process's policy files hold now: the revision they would give (None: unreadable).
Fingerprint = str | None


@dataclass(frozen=True, slots=True)
class PolicyStatus:
    """What a process decides with, swapped as one reference: its set, the active revision
    (the database's) as last read, and why it cannot run that revision (None: it does)."""

    policies: PolicySet
    active_revision: str
    problem: str | None = None

    @property
    def in_sync(self) -> bool:
        return self.problem is None and self.policies.revision == self.active_revision


class PolicyHolder:
    """The running policy set of one process, kept on the cluster's active revision.

    The database holds the one active revision (`Store.active_policy_revision`). A valid set
    becomes active when `POST /v1/policies/reload` loads it, when a process starts with it,
    or when a process notices its files changed to it. Every deciding process calls `sync`
    every `policy_poll_interval` seconds (`Gateway.watch_policies`): when the active revision
    or its files changed it loads the files and swaps in the set only if its revision is
    the active one. A process whose files give another revision (or do not load) keeps its
    set but refuses to decide with it (`deciding` raises PolicyOutOfDateError) and is not
    ready, until its files give the active revision. A new set is built and checked whole
    before one reference is replaced, so a request holds the set it started with, and an
    invalid set never replaces a working one.

    Loading is slow (a large set takes seconds): `sync` and `reload` block, so callers run
    them in a thread (`asyncio.to_thread`, a thread-pool route), never on the event loop.
    One lock serializes them in a process."""

    def __init__(
        self, path: Path, metrics: Metrics, store: Store | None = None, *, actor: str = "jiragate"
    ) -> None:
        self.path = path
        self.metrics = metrics
        self.store = store
        self.actor = actor
        self._lock = threading.Lock()
        self._fingerprint = self._read_files()
        policies = load_policies(path)
        self._file_revision = policies.revision  # what this process's files last gave
        # The files and active revision of the last attempt that did not converge: not
        # repeated every round while neither changes.
        self._tried: tuple[Fingerprint, str | None] | None = None
        self._status = PolicyStatus(policies, policies.revision)
        self._report(self._status)

    @property
    def current(self) -> PolicySet:
        """The set this process holds (for inspection; decide with `deciding()`)."""
        return self._status.policies

    @property
    def status(self) -> PolicyStatus:
        return self._status

    def deciding(self) -> PolicySet:
        """The set to decide with; PolicyOutOfDateError when it is not the active revision
        and this process could not load that one (fail closed: no decision from another
        revision once the process knows it is out of date)."""
        status = self._status
        if status.problem is not None:
            raise PolicyOutOfDateError(
                status.policies.revision, status.active_revision, status.problem
            )
        return status.policies

    # ----------------------------------------------------------------- changing the set

    def start(self) -> None:
        """At start-up: the set this process loaded becomes the active revision (a restart
        after the files were edited is an edit noticed, as a running process would)."""
        if self.store is not None:
            revision = self.current.revision
            self._activate(revision, "policy.activated", {"source": "start"})

    def reload(self, *, actor: str) -> tuple[PolicySet, str | None]:
        """Load the files now; a valid set becomes the active revision (audited
        `policy.reloaded`, in the transaction that records it) and runs here at once.
        Returns (the set, the revision active before). Raises PolicyLoadError and changes
        nothing, here or anywhere, when the set is invalid. Blocking: call from a thread."""
        with self._lock:
            fingerprint = self._read_files()
            fresh = self._load()
            self._fingerprint, self._file_revision = fingerprint, fresh.revision
            previous = self._activate(
                fresh.revision, "policy.reloaded", {}, actor=actor, always=True
            )
            self._install(fresh, fresh.revision)
            return fresh, previous

    def sync(self) -> bool:
        """One watcher round: converge on the active revision; True if the set changed.
        Blocking (the database, the files, maybe a load): call from a thread."""
        with self._lock:
            fingerprint = self._read_files()
            active = self.store.active_policy_revision() if self.store is not None else None
            status = self._status
            files_changed = fingerprint != self._fingerprint
            running = status.policies.revision
            if not files_changed and active in (None, running):
                if not status.in_sync:  # our revision was made active again
                    self._install(status.policies, running)
                return False
            if not files_changed and self._tried == (fingerprint, active):
                return False  # these files already failed to give this active revision
            self._fingerprint = fingerprint
            return self._converge(fingerprint, active, files_changed)

    def _converge(self, fingerprint: Fingerprint, active: str | None, files_changed: bool) -> bool:
        status = self._status
        try:
            fresh = self._load()
        except PolicyLoadError as exc:
            self._tried = (fingerprint, active)
            log.error("policy reload refused; still running %s:\n%s", status.policies.revision, exc)
            if active not in (None, status.policies.revision):
                self._out_of_date(active, "its policy files do not load")
            return False
        edited = files_changed and fresh.revision != self._file_revision
        self._file_revision = fresh.revision
        if edited and fresh.revision != active:
            # A genuine edit noticed here (not a touch): it becomes the active revision.
            self._activate(fresh.revision, "policy.activated", {"source": "file change"})
            active = fresh.revision
        if active is None or fresh.revision == active:
            self._tried = None
            changed = fresh.revision != status.policies.revision
            self._install(fresh, fresh.revision)
            return changed
        self._tried = (fingerprint, active)
        self._out_of_date(active, f"its policy files give {fresh.revision}")
        return False

    def _load(self) -> PolicySet:
        try:
            fresh = load_policies(self.path)
        except PolicyLoadError:
            self.metrics.policy_reloads.labels("invalid").inc()
            raise
        self.metrics.policy_reloads.labels("ok").inc()
        return fresh

    def _activate(
        self,
        revision: str,
        event: str,
        data: dict[str, Any],
        *,
        actor: str | None = None,
        always: bool = False,
    ) -> str | None:
        """Record `revision` as the active one; audited when it changed (or `always`). The
        first revision ever recorded is not a change and is not audited."""
        if self.store is None:
            return self.current.revision
        who = actor or self.actor

        def note(previous: str | None) -> AuditNote | None:
            if not always and previous in (None, revision):
                return None
            return AuditNote(who, event, {"from": previous, "to": revision, **data})

        return self.store.activate_policy_revision(revision, actor=who, audit_note=note)

    def _install(self, policies: PolicySet, active: str) -> None:
        before = self._status.policies.revision
        self._status = PolicyStatus(policies, active)
        self._tried = None
        if policies.revision != before:
            log.warning("policy revision %s now decides here (was %s)", policies.revision, before)
        self._report(self._status)

    def _out_of_date(self, active: str, why: str) -> None:
        status = self._status
        if status.problem is None or status.active_revision != active:
            log.error(
                "policy revision %s is active but %s; this process refuses to decide until "
                "they give it (still holding %s)",
                active,
                why,
                status.policies.revision,
            )
        self._status = PolicyStatus(status.policies, active, why)
        self._report(self._status)

    def _report(self, status: PolicyStatus) -> None:
        self.metrics.policy_rules.set(len(status.policies.rules))
        self.metrics.policy_out_of_date.set(0 if status.in_sync else 1)

    def _read_files(self) -> Fingerprint:
        """A hash of the files' names and contents (as the revision is computed), re-read
        every round: contents, not mtimes, so an edit within one timestamp tick or a copy that
        keeps mtimes is still seen, and a touch is no edit. Reading a set is cheap next to
        loading it."""
        try:
            files = policy_files(self.path)
            return revision_of([(str(f), f.read_bytes()) for f in files])
        except (PolicyLoadError, OSError):  # no files, or one removed while being read
            return None

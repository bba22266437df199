"""What executing one action did in Jira, as a JSON-safe record for the audit trail."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from jiragate.errors import (
    JiraError,
    JiraHTTPError,
    TransitionFieldError,
    TransitionUnavailableError,
)


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Failure:
    """One part of an action that did not happen: a ticket (by index) or an issue (by key)."""

    reason: str
    index: int | None = None
    key: str | None = None
    status: int | None = None
    error_messages: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_error(
        cls, error: JiraError, *, index: int | None = None, key: str | None = None
    ) -> Failure:
        if isinstance(error, JiraHTTPError):
            return cls(
                reason=str(error),
                index=index if index is not None else error.ticket_index,
                key=key,
                status=error.status,
                error_messages=tuple(error.error_messages),
                errors=tuple((str(k), str(v)) for k, v in error.errors.items()),
            )
        if isinstance(error, TransitionUnavailableError | TransitionFieldError):
            key = key or error.issue_key
        return cls(reason=str(error), index=index, key=key)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.index is not None:
            out["index"] = self.index
        if self.key is not None:
            out["key"] = self.key
        if self.status is not None:
            out["status"] = self.status
        out["errorMessages"] = list(self.error_messages)
        out["errors"] = dict(self.errors)
        out["reason"] = self.reason
        return out


@dataclass
class ExecutionResult:
    """The record of one `JiraAdapter.execute` call.

    `outcome` is derived, never set by hand: failed when nothing happened, partial when some
    parts failed and others took effect, succeeded otherwise.
    """

    action: str
    created: list[dict[str, Any]] = field(default_factory=list)  # [{index, key}], by index
    updated: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    data: dict[str, Any] | None = None
    calls: int = 0

    @property
    def outcome(self) -> Outcome:
        if not self.failures:
            return Outcome.SUCCEEDED
        if self.created or self.updated:
            return Outcome.PARTIAL
        return Outcome.FAILED

    @property
    def created_keys(self) -> list[str]:
        return [str(item["key"]) for item in self.created]

    def touch(self, key: str) -> None:
        if key not in self.updated:
            self.updated.append(key)

    def fail(self, error: JiraError, *, index: int | None = None, key: str | None = None) -> None:
        self.failures.append(Failure.from_error(error, index=index, key=key))

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "outcome": self.outcome.value,
            "created": [dict(item) for item in sorted(self.created, key=lambda c: c["index"])],
            "updated": list(self.updated),
            "failures": [failure.as_dict() for failure in self.failures],
            "data": self.data,
            "calls": self.calls,
        }

"""Fault injection: make the next matching call(s) fail the way real Jira or a network can.

A fault is armed over HTTP (`POST /_sandbox/faults`) or in-process (`state.add_fault(...)`):

    {"match": {"method": "POST", "path": "/rest/api/3/issue/bulk"},
     "times": 1,
     "fault": {"kind": "status", "status": 429, "retry_after": "1"}}

Kinds:
- `status`: answer `status` (429, 500 or 503) with a Jira-shaped body and, if given, a
  `Retry-After` header (seconds, or an HTTP date) without touching the state.
- `delay`: wait `seconds` before handling the call normally.
- `drop`: close the connection without a usable answer, `when` = "before" (nothing changes)
  or "after" (the change is applied, the client never sees the answer).
- `partial_bulk`: the next bulk create fails the elements at `indexes` (0-based) with a
  400-style element error; the others are created.

`match.path` is an exact path or an `fnmatch` pattern (`/rest/api/*/issue`); a missing
method or path matches anything. `times` (default 1) counts matching calls; `null` = forever.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "delay", "drop", "partial_bulk")
_FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})
_ids = itertools.count(1)


class FaultSpecError(ValueError):
    """A fault description is malformed; the message names the field."""


@dataclass(slots=True)
class Fault:
    kind: str
    method: str | None = None
    path: str | None = None
    times: int | None = 1  # None = until cleared
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    when: str = "before"  # drop: before | after
    indexes: list[int] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return True
        return self.path == path or fnmatch.fnmatchcase(path, self.path)

    def use(self) -> None:
        self.used += 1

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def as_dict(self) -> dict[str, Any]:
        fault: dict[str, Any] = {"kind": self.kind}
        if self.kind == "status":
            fault.update(status=self.status, retry_after=self.retry_after)
        elif self.kind == "delay":
            fault["seconds"] = self.seconds
        elif self.kind == "drop":
            fault["when"] = self.when
        else:
            fault["indexes"] = list(self.indexes)
        return {
            "id": self.id,
            "match": {"method": self.method, "path": self.path},
            "times": self.times,
            "used": self.used,
            "fault": fault,
        }


def parse_fault(data: object) -> Fault:
    """Build a `Fault` from its JSON description, or raise `FaultSpecError` naming the field."""
    if not isinstance(data, dict):
        raise FaultSpecError("the body must be an object with 'match', 'times' and 'fault'")
    match = data.get("match") or {}
    spec = data.get("fault")
    if not isinstance(match, dict):
        raise FaultSpecError("'match' must be an object with optional 'method' and 'path'")
    if not isinstance(spec, dict):
        raise FaultSpecError("'fault' must be an object with a 'kind'")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"fault.kind must be one of {', '.join(KINDS)}, not {kind!r}")
    times = data.get("times", 1)
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise FaultSpecError("'times' must be a positive integer or null (forever)")
    fault = Fault(kind=kind, method=_optional_text(match, "method"), times=times)
    fault.path = _optional_text(match, "path")
    if kind == "status":
        status = spec.get("status", 503)
        if status not in _FAULT_STATUSES:
            allowed = ", ".join(map(str, sorted(_FAULT_STATUSES)))
            raise FaultSpecError(f"fault.status must be one of {allowed}, not {status!r}")
        fault.status = status
        retry_after = spec.get("retry_after")
        if retry_after is not None:
            fault.retry_after = str(retry_after)
    elif kind == "delay":
        seconds = spec.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise FaultSpecError("fault.seconds must be a non-negative number")
        fault.seconds = float(seconds)
    elif kind == "drop":
        when = spec.get("when", "before")
        if when not in {"before", "after"}:
            raise FaultSpecError(f"fault.when must be 'before' or 'after', not {when!r}")
        fault.when = when
    else:
        indexes = spec.get("indexes")
        if not isinstance(indexes, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes
        ):
            raise FaultSpecError("fault.indexes must be a list of 0-based element numbers")
        fault.indexes = list(indexes)
    return fault


def _optional_text(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise FaultSpecError(f"match.{key} must be a string")
    return value

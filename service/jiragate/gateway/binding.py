"""What a reviewer saw: a snapshot of the Jira objects a gated action would touch.

When an action is gated, the gateway reads its targets through the adapter (each issue's
status, assignee, sprint and `updated`; each sprint's state; each version's released/archived
flags) and stores that snapshot on the action, with its hash. An approval is bound to that
snapshot, to the hash of the effective payload and to the policy revision that decided.
Before the first attempt runs, the targets are read again: a change that matters (another
status, assignee or sprint, an issue deleted, a sprint or version in another state) stops the
execution (docs/approvals.md, "Bound to what the reviewer saw").

`updated` is recorded (a reviewer can tell the issue was edited) but is not a change that
matters by itself: a new comment or description must not send every approval back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from jiragate.errors import JiraError
from jiragate.jira.operations import JiraAdapter
from jiragate.store.audit import canonical_json, payload_hash

__all__ = ["changes", "describe", "payload_hash", "read_snapshot", "snapshot_hash", "targets"]

#: What a changed target does to an approved action (a review group's `on_change`).
OnChange = Literal["review", "fail"]
ON_CHANGE_DEFAULT: OnChange = "review"

#: Detail keys that name issues an action touches.
_ISSUE_KEY = ("issueKey", "epicKey")
_ISSUE_KEYS = ("issueKeys", "childIssueKeys", "addChildIssueKeys")
_SPRINT_TEXT_ID = re.compile(r"\[id=(\d+),")
#: The issue fields whose change matters (sprint is added: its field id is per site).
_ISSUE_FACTS = ("status", "assignee")


def targets(details: Mapping[str, Any]) -> tuple[list[str], list[int], list[str]]:
    """(issue keys, sprint ids, version ids) named by an action's details, in order."""
    keys: list[str] = [str(details[k]) for k in _ISSUE_KEY if isinstance(details.get(k), str)]
    for name in _ISSUE_KEYS:
        keys += [str(k) for k in details.get(name) or [] if isinstance(k, str)]
    keys += [
        str(u["issueKey"])
        for u in details.get("updates") or []
        if isinstance(u, Mapping) and isinstance(u.get("issueKey"), str)
    ]
    sprint = details.get("sprintId")
    sprints = [sprint] if isinstance(sprint, int) and not isinstance(sprint, bool) else []
    version = details.get("versionId")
    versions = [str(version)] if isinstance(version, str | int) and version != "" else []
    return list(dict.fromkeys(keys)), sprints, versions


def _name(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key in ("name", "accountId", "displayName", "key"):
            if value.get(key):
                return str(value[key])
        return None
    return None if value is None else str(value)


def _sprints(value: Any) -> list[str]:
    """The sprints in a Sprint field value, by id where Jira gives one, else by name.

    The adapter trims an issue's objects to their names, Cloud and Data Center send sprint
    objects, and older Data Center versions a `...Sprint@1f[id=1,...,name=Sprint 1,...]` text."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [] if value is None else [value]:
        if isinstance(item, Mapping):
            ident = item.get("id", item.get("name"))
            if ident is not None:
                found.append(str(ident))
        elif isinstance(item, str) and (match := _SPRINT_TEXT_ID.search(item)):
            found.append(match.group(1))
        elif item is not None:
            found.append(str(item))
    return sorted(found)


async def read_snapshot(
    adapter: JiraAdapter, details: Mapping[str, Any], *, sprint_field: str
) -> dict[str, Any]:
    """The current state of every target, with its hash. A target Jira does not have is
    `null`; when Jira cannot be read the snapshot says so (`error`), and any later readable
    state counts as a change, so nothing runs on a state nobody saw."""
    keys, sprints, versions = targets(details)
    snapshot: dict[str, Any] = {"issues": {}, "sprints": {}, "versions": {}}
    try:
        raw = await adapter.get_issues(keys, [*_ISSUE_FACTS, "updated", sprint_field])
        for key in keys:
            fields = (raw.get(key) or {}).get("fields") if raw.get(key) else None
            snapshot["issues"][key] = (
                None
                if fields is None
                else {
                    "status": _name(fields.get("status")),
                    "assignee": _name(fields.get("assignee")),
                    "sprint": _sprints(fields.get(sprint_field)),
                    "updated": fields.get("updated"),
                }
            )
        for sprint in sprints:
            snapshot["sprints"][str(sprint)] = await adapter.get_sprint_state(sprint)
        for version in versions:
            snapshot["versions"][version] = await adapter.get_version_state(version)
    except JiraError as exc:
        snapshot = {"error": f"Jira could not be read: {exc}"}
    except Exception as exc:  # an answer we cannot understand must not stop the gate either
        snapshot = {"error": f"Jira's answer could not be read: {type(exc).__name__}: {exc}"}
    snapshot["hash"] = snapshot_hash(snapshot)
    return snapshot


def snapshot_hash(snapshot: Mapping[str, Any]) -> str:
    body = {k: v for k, v in snapshot.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:32]


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The differences that matter between two snapshots: `{target, field, before, after}`.

    Only targets of `after` count: an approved edit may drop issues from the action.
    `updated` alone is not one (see the module docstring)."""
    if "error" in before or "error" in after:
        if before.get("hash") == after.get("hash"):
            return []
        return [
            {
                "target": "jira",
                "field": "readable",
                "before": before.get("error", "read"),
                "after": after.get("error", "read"),
            }
        ]
    found: list[dict[str, Any]] = []
    now_issues = after.get("issues") or {}
    for key, was in (before.get("issues") or {}).items():
        if key not in now_issues:  # a reviewer's edit dropped it: no longer a target
            continue
        now = now_issues[key]
        if was is None or now is None:
            if (was is None) != (now is None):
                found.append(_change(key, "exists", was is not None, now is not None))
            continue
        for fact in (*_ISSUE_FACTS, "sprint"):
            if was.get(fact) != now.get(fact):
                found.append(_change(key, fact, was.get(fact), now.get(fact)))
    found += _state_changes("sprint", before.get("sprints"), after.get("sprints"))
    found += _state_changes("version", before.get("versions"), after.get("versions"))
    return found


def _state_changes(
    kind: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> Iterable[dict[str, Any]]:
    for ident, was in (before or {}).items():
        if ident not in (after or {}):  # no longer a target
            continue
        now = (after or {})[ident]
        if was != now:
            yield _change(f"{kind} {ident}", "state", was, now)


def _change(target: str, field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"target": target, "field": field, "before": before, "after": after}


def describe(found: Iterable[Mapping[str, Any]]) -> str:
    """`ENG-3 status: In Progress → Done; sprint 7 state: active → closed`."""
    return "; ".join(f"{c['target']} {c['field']}: {c['before']!r} → {c['after']!r}" for c in found)

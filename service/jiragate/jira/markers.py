"""The gateway's duplicate-protection markers, and the rule that nobody else may write them.

What the adapter writes with every creating call (docs/jira.md, "Duplicate protection"):

- on each created issue, the labels `<prefix><action_id>` and `<prefix><action_id>.<index>`
  (JQL finds labels on both flavours without an app, so they *find candidates*), and the
  issue property `jiragate.marker` = `{"action", "index", "mac"}` (which *proves* them);
- on each comment, the comment property `jiragate.marker` = `{"action", "mac"}`.

`mac` is HMAC-SHA256, keyed with `JiraConfig.marker_key`, over the action id and the index: a
value only the gateway can compute. An issue counts as created by an action only when its
property verifies, its creator is the service account and it was created after the action was
recorded; a label alone proves nothing (anyone with Edit issues can add one).

Agents can write neither: no catalog action sets an entity property, and
`reserved_label_violations` refuses, at validation, every label an action would add or remove
that starts with the marker prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jiragate.errors import DetailsViolation, InvalidDetailsError

#: The entity property key the gateway writes on issues and comments it creates.
MARKER_PROPERTY = "jiragate.marker"
#: Jira's clock and ours may disagree; an issue up to this much "older" than its action is
#: still accepted (it must carry a valid MAC and be the service account's anyway).
CLOCK_SKEW = timedelta(minutes=10)
#: Detail keys whose string lists become (or remove) labels, wherever they appear.
LABEL_KEYS = frozenset({"labels", "addLabels", "removeLabels"})
RESERVED_RULE = "reserved-label"


def _fold(text: str) -> str:
    # Jira matches labels case-insensitively in JQL; NFKC folds look-alike characters.
    return unicodedata.normalize("NFKC", text).strip().casefold()


def is_reserved_label(label: str, prefix: str) -> bool:
    return _fold(label).startswith(_fold(prefix))


def _label_lists(value: Any, pointer: str) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{pointer}/{key}"
            if key in LABEL_KEYS and isinstance(item, list):
                yield child, item
            else:
                yield from _label_lists(item, child)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _label_lists(item, f"{pointer}/{position}")


def reserved_label_violations(details: Mapping[str, Any], prefix: str) -> list[DetailsViolation]:
    """Every label in `details` (added, set or removed) that imitates a marker label."""
    violations = []
    for pointer, labels in _label_lists(details, ""):
        for position, label in enumerate(labels):
            if isinstance(label, str) and is_reserved_label(label, prefix):
                violations.append(
                    DetailsViolation(
                        pointer=f"{pointer}/{position}",
                        rule=RESERVED_RULE,
                        message=(
                            f"label {label!r} starts with {prefix!r}, which is reserved for "
                            "Jiragate's duplicate-protection markers; no action may add or "
                            "remove such a label"
                        ),
                    )
                )
    return violations


def refuse_reserved_labels(action: str, details: Mapping[str, Any], prefix: str) -> None:
    """Raise InvalidDetailsError (a 4xx naming each pointer) for a marker-imitating label."""
    violations = reserved_label_violations(details, prefix)
    if violations:
        raise InvalidDetailsError(action, violations)


def _mac(key: bytes, *parts: object) -> str:
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_marker(key: bytes, action_id: str, index: int) -> dict[str, Any]:
    return {"action": action_id, "index": index, "mac": _mac(key, "issue", action_id, index)}


def comment_marker(key: bytes, action_id: str) -> dict[str, Any]:
    return {"action": action_id, "mac": _mac(key, "comment", action_id)}


def issue_marker_index(value: object, key: bytes, action_id: str) -> int | None:
    """The ticket index a verified issue marker of `action_id` names, else None."""
    if not isinstance(value, Mapping) or value.get("action") != action_id:
        return None
    index = value.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return None
    expected = _mac(key, "issue", action_id, index)
    return index if hmac.compare_digest(str(value.get("mac", "")), expected) else None


def is_comment_marker(value: object, key: bytes, action_id: str) -> bool:
    if not isinstance(value, Mapping) or value.get("action") != action_id:
        return False
    return hmac.compare_digest(str(value.get("mac", "")), _mac(key, "comment", action_id))


def parse_jira_time(text: object) -> datetime | None:
    """Jira's `2024-05-01T09:00:00.000+0000` (or ISO 8601 with a colon), else None."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def created_in_time(created: object, not_before: datetime | None) -> bool:
    """Created after the action was recorded (less the clock skew); True without a bound."""
    if not_before is None:
        return True
    when = parse_jira_time(created)
    if when is None:
        return False
    # Naive times are UTC (the store records UTC).
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    bound = not_before if not_before.tzinfo is not None else not_before.replace(tzinfo=UTC)
    return when >= bound - CLOCK_SKEW

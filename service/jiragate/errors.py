"""Every error Jiragate raises, as one tree.

```
JiragateError
├── PolicyLoadError             a policy set could not be loaded; carries every PolicyIssue
├── PolicyTestLoadError         a *_test.yaml file could not be loaded
├── ActionError                 the proposed action itself is wrong (a 4xx for the caller)
│   ├── UnknownActionError      `action` is not in the catalog; lists the known ones
│   └── InvalidDetailsError     `details` break the action's schema; names pointer and rule
├── ApprovalError               an approval could not be created, fetched or decided
│   ├── ApprovalBackendError    the approval service (Cheqpoint) failed or is unreachable
│   └── DecisionRefusedError    a reviewer's decision is refused (widening edit, expired)
│       ├── EditRefusedError    the edit is invalid or not narrowing (names field and rule)
│       └── ReviewerNotAllowedError  this reviewer may not decide it (other group, own action)
├── JiraError                   executing against Jira failed
│   ├── JiraHTTPError           Jira answered with an error status; carries Jira's own messages
│   ├── JiraTransportError      no usable answer (connection dropped, timeout, retries exhausted)
│   ├── TransitionUnavailableError  the target status cannot be reached from the current one
│   ├── JiraConfigError         the Jira connection settings are missing or malformed
│   ├── JiraLookupError         a name the action relies on (sprint, field) is not in Jira
│   └── JiraUnsupportedError    the action has no equivalent on this Jira flavour
├── OpenAPISpecError            a shipped Jira OpenAPI spec file is missing or unreadable
└── StoreError                  the database failed or refused a write
    └── IdempotencyConflictError  an Idempotency-Key was reused with another body
```

Load errors (the policy author's mistake), action errors (the agent's mistake) and
execution errors (Jira's or the network's) are kept apart so every edge can map them to the
right answer: a file:line message, a 4xx, or a truthful failed status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class JiragateError(Exception):
    """The root of every error Jiragate raises on purpose."""


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One problem in a policy file, located as precisely as the loader can."""

    file: str
    line: int | None
    path: str
    message: str
    severity: str = "error"  # "error" or "warning" (lint)
    code: str = ""  # a stable identifier for lint warnings, e.g. "shadowed-rule"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        subject = f" {self.path}:" if self.path else ""
        return f"{where}{subject} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
            "code": self.code,
        }


class PolicyLoadError(JiragateError):
    """A policy set failed to load. `issues` lists every error found, not just the first."""

    def __init__(self, issues: Iterable[PolicyIssue]) -> None:
        self.issues: list[PolicyIssue] = list(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        count = len(self.issues)
        super().__init__(f"policy set has {count} error{'s' if count != 1 else ''}:\n{lines}")


class PolicyTestLoadError(JiragateError):
    """A policy test file failed to load (bad YAML, unknown fixture, schema violation)."""

    def __init__(self, issues: Iterable[PolicyIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


# --------------------------------------------------------------------------- actions


class ActionError(JiragateError):
    """The proposed action is malformed; the caller must change it."""

    code = "invalid_action"

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self)}


class UnknownActionError(ActionError):
    code = "unknown_action"

    def __init__(self, action: object, known: Sequence[str]) -> None:
        self.action = action
        self.known = list(known)
        super().__init__(f"unknown action {action!r}; known actions: {', '.join(self.known)}")

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "known_actions": self.known}


@dataclass(frozen=True, slots=True)
class DetailsViolation:
    """One schema violation: where (JSON pointer) and which rule was broken."""

    pointer: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} (rule: {self.rule})"


class InvalidDetailsError(ActionError):
    code = "invalid_details"

    def __init__(self, action: str, violations: Sequence[DetailsViolation]) -> None:
        self.action = action
        self.violations = list(violations)
        listed = "; ".join(str(v) for v in self.violations)
        super().__init__(f"invalid details for {action}: {listed}")

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "violations": [
                {"pointer": v.pointer, "rule": v.rule, "message": v.message}
                for v in self.violations
            ],
        }


# --------------------------------------------------------------------------- approvals


class ApprovalError(JiragateError):
    """An approval could not be created, fetched or decided."""


class ApprovalBackendError(ApprovalError):
    """The approval service failed (down, slow, 5xx, malformed answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class DecisionRefusedError(ApprovalError):
    """A reviewer's decision cannot be accepted as given (the reason says why)."""


class EditRefusedError(DecisionRefusedError):
    """A reviewer's edit is invalid or does more than narrow; each violation names the
    field (a JSON pointer into the details) and the edit rule it breaks."""

    def __init__(
        self, violations: Sequence[DetailsViolation], *, invalid_for: str | None = None
    ) -> None:
        self.violations = list(violations)
        listed = "; ".join(str(v) for v in self.violations)
        if invalid_for is not None:
            message = f"the edited details are invalid: invalid details for {invalid_for}: "
        else:
            message = "an edit may only narrow the action: "
        super().__init__(message + listed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": "decision_refused",
            "message": str(self),
            "violations": [
                {"pointer": v.pointer, "rule": v.rule, "message": v.message}
                for v in self.violations
            ],
        }


class ReviewerNotAllowedError(DecisionRefusedError):
    """The reviewer may not decide this action: not in its group, or it is their own."""


# --------------------------------------------------------------------------- jira


class JiraError(JiragateError):
    """Executing an action against Jira failed."""


class JiraHTTPError(JiraError):
    """Jira answered with an error status. Messages are Jira's own, never our credentials."""

    def __init__(
        self,
        status: int,
        *,
        method: str,
        path: str,
        error_messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        ticket_index: int | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.error_messages = list(error_messages)
        self.errors = dict(errors or {})
        self.ticket_index = ticket_index
        detail = "; ".join([*self.error_messages, *(f"{k}: {v}" for k, v in self.errors.items())])
        which = f" (ticket #{ticket_index})" if ticket_index is not None else ""
        super().__init__(
            f"Jira answered {status} to {method} {path}{which}: {detail or 'no detail'}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "method": self.method,
            "path": self.path,
            "errorMessages": self.error_messages,
            "errors": self.errors,
            "ticket_index": self.ticket_index,
        }


class JiraTransportError(JiraError):
    """No usable answer from Jira: the connection dropped, timed out, or retries ran out.

    `outcome_unknown` is True when a creating request may still have taken effect: the
    caller must not assume it failed, and retries the action only after a settle delay."""

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        self.outcome_unknown = outcome_unknown
        super().__init__(message)


class TransitionUnavailableError(JiraError):
    """The target status is not reachable from the issue's current status."""

    def __init__(self, issue_key: str, target: str, available: Sequence[str]) -> None:
        self.issue_key = issue_key
        self.target = target
        self.available = list(available)
        listed = ", ".join(self.available) or "none"
        super().__init__(
            f"{issue_key}: no transition to {target!r} from its current status "
            f"(available: {listed})"
        )


class JiraConfigError(JiraError):
    """The Jira connection settings are missing or malformed (names the setting at fault)."""


class JiraLookupError(JiraError):
    """A name the action relies on (a sprint name, the Story Points field) is not in Jira."""


class JiraUnsupportedError(JiraError):
    """The action has no equivalent on the configured Jira flavour (e.g. archive on DC)."""


class OpenAPISpecError(JiragateError):
    """A Jira OpenAPI spec shipped in jiragate/jira/openapi/ is missing or unreadable."""


# --------------------------------------------------------------------------- store


class StoreError(JiragateError):
    """The database failed or refused a write."""


class IdempotencyConflictError(StoreError):
    """The same Idempotency-Key was sent with a different body."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")

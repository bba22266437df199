"""Every error Jiragate raises, as one tree.

```
JiragateError
├── PolicyLoadError             a policy set could not be loaded; carries every PolicyIssue
├── PolicyTestLoadError         a *_test.yaml file could not be loaded
├── YamlLimitError              a YAML file crossed a size limit (bytes, aliases, nodes, depth)
├── PolicyOutOfDateError        this process cannot run the active policy revision (a 503)
├── ActionError                 the proposed action itself is wrong (a 4xx for the caller)
│   ├── UnknownActionError      `action` is not in the catalog; lists the known ones
│   ├── InvalidDetailsError     `details` break the action's schema; names pointer and rule
│   ├── UnsafeJSONError         a value JSON-strict parsing refuses (NaN, huge int, NUL, …)
│   ├── InvalidJQLError         a search's JQL is outside the accepted subset or its project
│   └── InvalidCallbackError    a callback URL the settings do not allow (or cannot sign)
├── ApprovalError               an approval could not be created, fetched or decided
│   ├── ApprovalBackendError    the approval service (Cheqpoint) failed or is unreachable
│   └── DecisionRefusedError    a reviewer's decision is refused (widening edit, expired)
│       ├── EditRefusedError    the edit is invalid or not narrowing (names field and rule)
│       └── ReviewerNotAllowedError  this reviewer may not decide it (other group, own action)
├── JiraError                   executing against Jira failed
│   ├── JiraHTTPError           Jira answered with an error status; carries Jira's own messages
│   ├── JiraTransportError      no usable answer (connection dropped, timeout, retries exhausted)
│   │   └── JiraDeferredError   Jira asked to wait longer than a worker may block: run it later
│   ├── TransitionUnavailableError  the target status cannot be reached from the current one
│   ├── JiraConfigError         the Jira connection settings are missing or malformed
│   ├── JiraLookupError         a name the action relies on (sprint, field) is not in Jira
│   └── JiraUnsupportedError    the action has no equivalent on this Jira flavour
├── SettingsError               the settings are invalid (names the field, never echoes a value)
├── OpenAPISpecError            a shipped Jira OpenAPI spec file is missing or unreadable
└── StoreError                  the database failed or refused a write
    ├── StoreUnavailableError   the database cannot be reached or is busy: nothing to do but retry
    ├── StoreIntegrityError     a write broke a database constraint (e.g. a uniqueness race)
    └── IdempotencyConflictError  an Idempotency-Key was reused with another body
```

Load errors (the policy author's mistake), action errors (the agent's mistake) and
execution errors (Jira's or the network's) are kept apart so every edge can map them to the
right answer: a file:line message, a 4xx, or a truthful failed status.

Each class carries its answer: `code` (the stable identifier an edge reports: the API's
`{"error": code}`, MCP's `error`) and `http_status` (the API's status; None: not an answer
the API gives, an unexpected failure). A subclass inherits both unless it says otherwise, so
the table below is the one place they are mapped; the API and MCP both read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from jiragate.redaction import redact_text


class JiragateError(Exception):
    """The root of every error Jiragate raises on purpose."""

    #: The stable identifier an edge reports for this error.
    code: ClassVar[str] = "error"
    #: The HTTP status the API answers with; None: not a client-facing answer.
    http_status: ClassVar[int | None] = None

    def extra(self) -> dict[str, Any]:
        """Fields an edge adds to its error answer besides code and message."""
        return {}


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


class YamlLimitError(JiragateError):
    """A YAML document (a policy, policy-test or config file) crossed one of the parser's
    limits; raised while parsing, before the oversized data exists. The loaders turn it into
    a PolicyIssue at `line`."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message if line is None else f"line {line}: {message}")


# --------------------------------------------------------------------------- actions


class PolicyOutOfDateError(JiragateError):
    """This process cannot decide: the active policy revision (the database's) is not the
    set its policy files give, or they do not load. It refuses rather than decide with
    another revision; `running` and `active` name both."""

    code = "policy_out_of_date"
    http_status = 503

    def __init__(self, running: str, active: str, why: str) -> None:
        self.running = running
        self.active = active
        super().__init__(
            f"this process runs policy revision {running} but the active revision is "
            f"{active} ({why}); it refuses to decide until its policy files give {active}"
        )


class ActionError(JiragateError):
    """The proposed action is malformed; the caller must change it."""

    code = "invalid_action"
    http_status = 400

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self)}

    def extra(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if k not in ("error", "message")}


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
    http_status = 422

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


class UnsafeJSONError(ActionError):
    """A value that is not strict JSON or cannot be stored: NaN/Infinity, an integer out of
    range, a NUL character or a lone UTF-16 surrogate. `pointer` says where (RFC 6901)."""

    code = "invalid_json_value"

    def __init__(self, pointer: str, problem: str) -> None:
        self.pointer = pointer
        self.problem = problem
        super().__init__(f"{pointer or '/'}: {problem}")

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "pointer": self.pointer}


class InvalidJQLError(ActionError):
    """A search's JQL cannot be proven to stay inside the action's project (jiragate.jql).

    `position` is the 0-based character offset in the JQL where the problem starts; the
    catalog reports it as a violation of `/jql`."""

    code = "invalid_jql"

    def __init__(self, reason: str, position: int) -> None:
        self.reason = reason
        self.position = position
        super().__init__(f"JQL position {position}: {reason}")


class InvalidCallbackError(ActionError):
    """A callback URL for an externally executed approval that is not allowed (only the
    configured prefixes, and only when decisions can be signed): no SSRF through callbacks."""

    code = "invalid_callback"


# --------------------------------------------------------------------------- approvals


class ApprovalError(JiragateError):
    """An approval could not be created, fetched or decided."""

    code = "not_found"
    http_status = 404


class ApprovalBackendError(ApprovalError):
    """The approval service failed (down, slow, 5xx, malformed answer)."""

    code = "approval_backend_unavailable"
    http_status = 503

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        # Built from Cheqpoint's answers, which may echo our request headers back.
        super().__init__(redact_text(message))


class DecisionRefusedError(ApprovalError):
    """A reviewer's decision cannot be accepted as given (the reason says why)."""

    code = "decision_refused"
    http_status = 409


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
            "error": self.code,
            "message": str(self),
            "violations": [
                {"pointer": v.pointer, "rule": v.rule, "message": v.message}
                for v in self.violations
            ],
        }


class ReviewerNotAllowedError(DecisionRefusedError):
    """The reviewer may not decide this action: not in its group, or it is their own."""

    code = "reviewer_not_allowed"
    http_status = 403


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
        # Jira's own words, minus any credential an echoing proxy or server put in them.
        self.error_messages = [redact_text(str(m)) for m in error_messages]
        self.errors = {redact_text(str(k)): redact_text(str(v)) for k, v in (errors or {}).items()}
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


class PartialResult(Protocol):
    """What an execution had done when it stopped (jiragate.jira.results.ExecutionResult);
    a protocol so this module, the bottom of every layer, imports none of them."""

    def as_dict(self) -> dict[str, Any]: ...


class JiraTransportError(JiraError):
    """No usable answer from Jira: the connection dropped, timed out, or retries ran out.

    `outcome_unknown` is True when a creating request may still have taken effect: the
    caller must not assume it failed, and retries the action only after a settle delay.
    `result` is what the execution had done before it stopped (None from a single call):
    the adapter sets it when the error leaves `execute`, the gateway records it."""

    def __init__(
        self,
        message: str,
        *,
        outcome_unknown: bool = False,
        result: PartialResult | None = None,
    ) -> None:
        self.outcome_unknown = outcome_unknown
        self.result: PartialResult | None = result
        super().__init__(redact_text(message))


class JiraDeferredError(JiraTransportError):
    """Jira asked us to wait (`Retry-After`) longer than the client's `max_retry_wait`.

    Nothing was sent past the refusal: the caller stops, and the gateway runs the action again
    after `retry_after` seconds instead of holding a worker that long."""

    def __init__(
        self, message: str, *, retry_after: float, result: PartialResult | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, result=result)


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


class TransitionFieldError(JiraError):
    """The transition's screen requires a field the action does not give (e.g. a
    resolution): nothing is sent for that issue. Names the field and its allowed values."""

    def __init__(
        self, issue_key: str, transition: str, field: str, allowed: Sequence[str] = ()
    ) -> None:
        self.issue_key = issue_key
        self.field = field
        self.allowed = list(allowed)
        values = f" (one of: {', '.join(map(repr, self.allowed))})" if self.allowed else ""
        hint = " (details.resolution)" if field == "resolution" else ""
        super().__init__(
            f"{issue_key}: transition {transition!r} requires {field!r} on its screen, and "
            f"the action gives none{hint}{values}"
        )


class JiraConfigError(JiraError):
    """The Jira connection settings are missing or malformed (names the setting at fault)."""


class JiraLookupError(JiraError):
    """A name the action relies on (a sprint name, the Story Points field) is not in Jira."""


class JiraUnsupportedError(JiraError):
    """The action has no equivalent on the configured Jira flavour (e.g. archive on DC)."""


class SettingsError(JiragateError, ValueError):
    """The settings (config file, JIRAGATE_* variables) are invalid. The message names each
    field at fault and why, and never repeats the value given: it may be a secret."""


class OpenAPISpecError(JiragateError):
    """A Jira OpenAPI spec shipped in jiragate/jira/openapi/ is missing or unreadable."""


# --------------------------------------------------------------------------- store


class StoreError(JiragateError):
    """The database failed or refused a write."""

    code = "database_unavailable"
    http_status = 503


class StoreUnavailableError(StoreError):
    """The database cannot be reached, dropped the connection, timed out or is locked: a
    transient failure, answered 503 (retry). The message names the driver's error class
    only; `detail` keeps the driver's first line, credentials masked, for the log."""

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind
        self.detail = redact_text(detail)
        super().__init__(f"the database is unavailable ({kind}); nothing was changed, retry")


class StoreIntegrityError(StoreError):
    """A write broke a database constraint: usually two replicas racing to insert the same
    unique row. The repository resolves the races it expects (Idempotency-Keys)."""


class IdempotencyConflictError(StoreError):
    """The same Idempotency-Key was sent with a different body."""

    code = "idempotency_conflict"
    http_status = 409

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")


def answered_error_classes() -> list[type[JiragateError]]:
    """Every error class that sets its own `http_status`, most specific first: an edge
    registers one handler per class (a subclass inherits its base's answer otherwise)."""
    found: list[type[JiragateError]] = []
    pending: list[type[JiragateError]] = [JiragateError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__dict__.get("http_status") is not None:
            found.append(cls)
    return sorted(found, key=lambda cls: -len(cls.__mro__))

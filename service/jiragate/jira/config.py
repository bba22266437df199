"""How Jiragate reaches Jira: base URL, flavour, credentials, retry budget.

Built from the service's settings (`jiragate.settings.JiraSettings.to_config()`: `jira.*` in
the config file, `JIRAGATE_JIRA__*` in the environment), the one way to configure it, or
directly in code and tests.

Secrets (`api_token`, `personal_access_token`, `marker_secret`) never appear in `repr`, in log
lines or in error messages: `repr` prints whether they are set, nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal
from urllib.parse import urlsplit

from jiragate.errors import JiraConfigError

Flavour = Literal["cloud", "datacenter"]
FLAVOURS: tuple[str, ...] = ("cloud", "datacenter")
_SECRET_FIELDS = frozenset({"api_token", "personal_access_token", "marker_secret"})
# A label may not contain spaces (Jira rejects it); keep the prefix to safe characters.
_LABEL_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
_CUSTOM_FIELD = re.compile(r"customfield_[0-9]{1,18}")


@dataclass(frozen=True)
class JiraConfig:
    """Everything the adapter needs to talk to one Jira site."""

    base_url: str
    flavour: Flavour = "cloud"
    email: str | None = None
    api_token: str | None = None
    personal_access_token: str | None = None
    #: The Story Points custom field id (e.g. customfield_10016) for every project;
    #: `story_points_fields` overrides it per project. Unset: detected per project from
    #: createmeta by name, refused when a project has several (docs/jira.md).
    story_points_field: str | None = None
    story_points_fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: The board whose sprints names such as "sprint_42" are resolved against.
    board_id: int | None = None
    #: Data Center only: the Epic Link custom field that puts an issue under an epic.
    epic_link_field: str | None = None
    timeout: float = 30.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: The longest a call waits when Jira asks it to (`Retry-After`, `X-RateLimit-Reset`);
    #: asked for longer, the call stops and the action is deferred (`JiraDeferredError`).
    max_retry_wait: float = 60.0
    marker_label_prefix: str = "jiragate-"
    #: The key that signs the gateway's marker properties (HMAC-SHA256). Unset: derived from
    #: the API token / PAT, so rotating the credential invalidates markers of actions still
    #: being retried; pin it to survive rotations.
    marker_secret: str | None = None
    #: The largest file `jira_add_attachment` uploads (decoded bytes); larger is refused
    #: before anything is sent.
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: How long the site's metadata (priorities, issue types, fields, ...) is cached, seconds.
    metadata_ttl: float = 600.0

    def __post_init__(self) -> None:
        url = urlsplit(self.base_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise JiraConfigError(
                f"base_url must be an http(s) URL such as https://example.atlassian.net, "
                f"got {self.base_url!r}"
            )
        if url.username or url.password:
            raise JiraConfigError("base_url must not carry credentials; use email/api_token/PAT")
        if self.flavour not in FLAVOURS:
            raise JiraConfigError(
                f"flavour must be one of {', '.join(FLAVOURS)}, got {self.flavour!r}"
            )
        if self.flavour == "cloud" and not (self.email and self.api_token):
            raise JiraConfigError("Jira Cloud needs both email and api_token (HTTP Basic auth)")
        if self.flavour == "datacenter" and not self.personal_access_token:
            raise JiraConfigError("Jira Data Center needs personal_access_token (Bearer auth)")
        for name in ("story_points_field", "epic_link_field"):
            value = getattr(self, name)
            if value is not None and not _CUSTOM_FIELD.fullmatch(value):
                raise JiraConfigError(f"{name} must look like customfield_10016, got {value!r}")
        for project, value in self.story_points_fields.items():
            if not _CUSTOM_FIELD.fullmatch(str(value)):
                raise JiraConfigError(
                    f"story_points_fields.{project} must look like customfield_10016, got {value!r}"
                )
        if self.metadata_ttl < 0:
            raise JiraConfigError(
                f"metadata_ttl must be 0 or more seconds, got {self.metadata_ttl}"
            )
        if self.board_id is not None and self.board_id < 1:
            raise JiraConfigError(f"board_id must be a positive integer, got {self.board_id}")
        if self.timeout <= 0:
            raise JiraConfigError(f"timeout must be positive, got {self.timeout}")
        if self.max_retries < 0:
            raise JiraConfigError(f"max_retries must be 0 or more, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_cap < self.backoff_base:
            raise JiraConfigError(
                f"need 0 <= backoff_base <= backoff_cap, got {self.backoff_base} and "
                f"{self.backoff_cap}"
            )
        if self.max_retry_wait < 0:
            raise JiraConfigError(f"max_retry_wait must be 0 or more, got {self.max_retry_wait}")
        if self.max_attachment_bytes < 1:
            raise JiraConfigError(
                f"max_attachment_bytes must be positive, got {self.max_attachment_bytes}"
            )
        if not _LABEL_PREFIX.fullmatch(self.marker_label_prefix):
            raise JiraConfigError(
                "marker_label_prefix must be 1-40 letters, digits, '_', '.' or '-', "
                f"got {self.marker_label_prefix!r}"
            )

    def __repr__(self) -> str:
        parts = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in _SECRET_FIELDS:
                shown = "<set>" if value else None
                parts.append(f"{spec.name}={shown}")
            else:
                parts.append(f"{spec.name}={value!r}")
        return f"JiraConfig({', '.join(parts)})"

    __str__ = __repr__

    # ------------------------------------------------------------------ derived

    @property
    def marker_key(self) -> bytes:
        """The HMAC key of the marker properties: `marker_secret`, else one derived from the
        credential (which an agent never sees)."""
        if self.marker_secret:
            return self.marker_secret.encode()
        credential = self.api_token or self.personal_access_token or ""
        return hmac.new(b"jiragate marker key", credential.encode(), hashlib.sha256).digest()

    @property
    def base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def api_prefix(self) -> str:
        """The platform REST prefix: v3 (ADF bodies) on Cloud, v2 (plain text) on Data Center."""
        return "/rest/api/3" if self.flavour == "cloud" else "/rest/api/2"

    @property
    def agile_prefix(self) -> str:
        return "/rest/agile/1.0"

    @property
    def is_cloud(self) -> bool:
        return self.flavour == "cloud"

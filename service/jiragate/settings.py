"""Configuration: a YAML/JSON config file plus `JIRAGATE_*` environment variables.

Settings are built once by the edge (`jiragate serve`, `create_app(settings)`) and passed
down; nothing imports a global. Environment variables win over the file; nested fields use
`__`, e.g. `JIRAGATE_JIRA__URL`. Secrets are `SecretStr`: they never print, and placeholder
values ("changeme", "secret", …) are refused at start-up rather than discovered in production.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from jiragate.errors import JiraConfigError, SettingsError, YamlLimitError
from jiragate.jira.config import JiraConfig
from jiragate.notify_settings import Channel, DeliverySettings, GroupSchedule
from jiragate.passwords import HOW_TO_HASH, hash_problem
from jiragate.policy.yamlsource import DEFAULT_LIMITS, parse, read_limited
from jiragate.redaction import redact_text, register_secrets

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "todo", "xxx", "placeholder"}


def _refuse_placeholder(value: SecretStr | None, what: str) -> SecretStr | None:
    if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
        raise ValueError(f"{what} is a placeholder (like 'changeme'); set a real one")
    return value


def describe_validation_error(exc: ValidationError) -> str:
    """Each problem as `field.path: why`, without the input value pydantic would echo (a
    rejected API key or database URL is still a secret)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"{where}: {redact_text(error['msg'])}")
    return "; ".join(problems)


def default_policy_dir() -> Path:
    """./policies when present, else the policies shipped with the package (or the repo)."""
    local = Path("policies")
    if local.is_dir():
        return local
    packaged = Path(__file__).parent / "_data" / "policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "policies"


def person_key(email: str) -> str:
    """One spelling per person: emails compare case-insensitively, without spaces."""
    return email.strip().casefold()


class AgentAccount(BaseModel):
    """An agent: the identity policies match as `agent`, and its API key."""

    name: str = Field(min_length=1, max_length=200)
    api_key: SecretStr
    revoked: bool = False
    #: The person this agent acts for (their email): they can never approve its actions.
    on_behalf_of: str | None = Field(default=None, min_length=3, max_length=320)

    @field_validator("api_key")
    @classmethod
    def _real_key(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("an API key must be at least 16 characters")
        return _refuse_placeholder(value, "api_key") or value


class ReviewerAccount(BaseModel):
    """A reviewer: decides approvals for the policy groups that list them as members."""

    # Unknown fields are refused (a mistyped `password_hash` must not silently mean "no
    # inbox access"), and no error message repeats what was typed: it may be a password.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=200)
    api_key: SecretStr
    #: For the inbox web sign-in: an argon2id hash made by `jiragate hash-password`.
    password_hash: SecretStr | None = None
    #: Refused when set: plain-text passwords are not stored (see `password_hash`).
    password: SecretStr | None = None
    admin: bool = False  # may reload policies and read the whole audit trail
    #: Where email notifications reach this reviewer (docs/notifications.md). It is also
    #: the person behind the account: accounts with one email are one person (quorum counts
    #: them once), and an agent acting `on_behalf_of` that email cannot be approved by them.
    #: Unset: the account is its own person (its name).
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    #: The Slack member id (`U…`) whose button clicks count as this reviewer's decisions.
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,30}$")

    @property
    def person(self) -> str:
        return person_key(self.email) if self.email else f"account:{self.name}"

    @field_validator("api_key")
    @classmethod
    def _real_key(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("an API key must be at least 16 characters")
        return _refuse_placeholder(value, "api_key") or value

    @field_validator("password")
    @classmethod
    def _no_plain_password(cls, value: SecretStr | None) -> None:
        if value is not None:
            raise ValueError(
                "`password` is no longer accepted: a password is never stored in plain text "
                f"(nor as PBKDF2); store an argon2id hash as `password_hash`, {HOW_TO_HASH}"
            )
        return None

    @field_validator("password_hash")
    @classmethod
    def _argon2id_hash(cls, value: SecretStr | None) -> SecretStr | None:
        problem = hash_problem(value.get_secret_value()) if value is not None else None
        if problem is not None:
            raise ValueError(f"password_hash is refused: {problem}")
        return value


class JiraSettings(BaseModel):
    """How the adapter reaches Jira: `jira.*` in the config file, `JIRAGATE_JIRA__*` in the
    environment (docs/jira.md lists every field). The only way to configure the adapter:
    `to_config()` builds the `JiraConfig` it runs with, and that validates the values."""

    # A mistyped knob (`max_retry`, `marker_prefix`) must not silently keep the default.
    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:8081"
    flavour: Literal["cloud", "datacenter"] = "cloud"
    email: str | None = None
    api_token: SecretStr | None = None
    personal_access_token: SecretStr | None = None
    story_points_field: str | None = None
    #: Per project: {ENG: customfield_10016, OPS: customfield_10026} (docs/jira.md).
    story_points_fields: dict[str, str] = Field(default_factory=dict)
    #: Seconds the site's metadata (priorities, issue types, fields, ...) is cached.
    metadata_ttl: float = 600.0
    board_id: int | None = 1
    epic_link_field: str | None = None
    #: The Sprint custom field, read by the inbox's sprint-move previews.
    sprint_field: str = "customfield_10020"
    timeout: float = 30.0
    max_retries: int = 4
    #: Backoff between retries: min(backoff_cap, backoff_base * 2**attempt), jittered.
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: The longest a call waits when Jira asks (Retry-After); longer defers the action.
    max_retry_wait: float = 60.0
    #: Prefix of the duplicate-protection marker labels on created issues.
    marker_label_prefix: str = "jiragate-"
    #: Signs the duplicate-protection marker properties; derived from the credential if unset.
    marker_secret: SecretStr | None = None
    #: The largest file jira_add_attachment uploads, in (decoded) bytes.
    max_attachment_bytes: int = 10 * 1024 * 1024

    @field_validator("flavour", mode="before")
    @classmethod
    def _flavour_aliases(cls, value: Any) -> Any:
        # "dc", "server" and "data-center" are what people call Jira Data Center.
        if isinstance(value, str):
            folded = value.strip().lower().replace("-", "").replace("_", "")
            return "datacenter" if folded in ("dc", "server", "datacenter") else folded
        return value

    def to_config(self) -> JiraConfig:
        """The adapter's configuration; JiraConfigError names the `jira.*` setting at fault."""
        try:
            return JiraConfig(
                base_url=self.url,
                flavour=self.flavour,
                email=self.email,
                api_token=_secret(self.api_token),
                personal_access_token=_secret(self.personal_access_token),
                story_points_field=self.story_points_field,
                story_points_fields=dict(self.story_points_fields),
                metadata_ttl=self.metadata_ttl,
                board_id=self.board_id,
                epic_link_field=self.epic_link_field,
                timeout=self.timeout,
                max_retries=self.max_retries,
                backoff_base=self.backoff_base,
                backoff_cap=self.backoff_cap,
                max_retry_wait=self.max_retry_wait,
                marker_label_prefix=self.marker_label_prefix,
                marker_secret=_secret(self.marker_secret),
                max_attachment_bytes=self.max_attachment_bytes,
            )
        except JiraConfigError as exc:
            # JiraConfig calls the URL base_url; the settings (and the docs) call it url.
            why = str(exc).replace("base_url", "url")
            raise JiraConfigError(
                f"invalid Jira settings (jira.* in the config file, JIRAGATE_JIRA__* in the "
                f"environment): {why}"
            ) from None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class CheqpointSettings(BaseModel):
    url: str = "http://127.0.0.1:8080"
    #: The default Connection Key; a group's `cheqpoint.connection_key_env` overrides it.
    connection_key: SecretStr | None = None
    #: Shared secret Cheqpoint signs outgoing webhooks with (HMAC-SHA256).
    webhook_secret: SecretStr | None = None
    #: How often pending requests are polled when no webhook arrives (seconds).
    poll_interval: float = 5.0
    #: How many times a `retryable` system rejection is submitted again before giving up.
    max_resubmits: int = 1
    #: URL prefixes the Cheqpoint-compatible API (`/api/`) may POST decisions to, when a
    #: caller passes `webhookUrl` / `callbackUrl`. Empty: callbacks are refused (no SSRF).
    callback_url_prefixes: list[str] = Field(default_factory=list)

    _check_key = field_validator("connection_key", "webhook_secret")(
        lambda value, info: _refuse_placeholder(value, info.field_name)
    )


class Settings(BaseSettings):
    """Everything `jiragate serve` and `jiragate worker` need. See docs/operations.md."""

    # hide_input_in_errors: a refused value may be a secret (a password typed where its hash
    # belongs, a short API key); errors name the field and the rule, never the value.
    model_config = SettingsConfigDict(
        env_prefix="JIRAGATE_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
    )

    policy_dir: Path = Field(default_factory=default_policy_dir)
    database_url: str = "sqlite:///./jiragate.db"
    #: Connections each process keeps open to the database, and may open beyond them when
    #: busy: every replica and worker holds up to their sum (plus PostgreSQL's one
    #: listener), which across the deployment must stay under the server's max_connections.
    database_pool_size: int = Field(default=5, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    approval_backend: Literal["inbox", "cheqpoint"] = "inbox"
    cheqpoint: CheqpointSettings = Field(default_factory=CheqpointSettings)
    #: The URL Cheqpoint reaches this service at, for webhooks (None: poll only).
    public_url: str | None = None
    agents: list[AgentAccount] = Field(default_factory=list)
    reviewers: list[ReviewerAccount] = Field(default_factory=list)
    #: Secret for the inbox's session cookies and CSRF tokens.
    session_secret: SecretStr | None = None
    #: How long the inbox waits for Jira when previewing an action (seconds).
    inbox_preview_timeout: float = Field(default=5.0, gt=0, le=60)
    #: An inbox session unused for this long ends (seconds).
    inbox_session_idle_seconds: float = Field(default=30 * 60, gt=0)
    #: An inbox session ends this long after sign-in, however busy (seconds).
    inbox_session_max_seconds: float = Field(default=12 * 3600, gt=0)
    #: Failed sign-ins allowed per reviewer name, and per client address, within the window;
    #: past that, sign-in is refused with 429 until the oldest failure leaves the window.
    inbox_signin_max_failures: int = Field(default=5, ge=1)
    inbox_signin_window_seconds: float = Field(default=15 * 60, gt=0)

    #: How often every deciding process compares the active policy revision (the
    #: database's) and its policy files with what it runs, in seconds. Every process decides
    #: with a newly active revision within this interval plus one load of the set.
    policy_poll_interval: float = Field(default=1.0, gt=0, le=60)

    #: Run the execution worker inside this process (turn off when running `jiragate worker`).
    run_worker: bool = True
    worker_poll_interval: float = 0.5
    lease_seconds: float = 120.0
    max_attempts: int = 5
    #: After Jira gave no usable answer, wait this long before running the action again: long
    #: enough for a create whose answer was lost to finish in Jira and become searchable.
    execution_retry_seconds: float = 60.0
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 256 * 1024
    #: Longest `?wait=` an agent may ask for, in seconds.
    max_wait_seconds: float = 60.0
    #: How executed writes are attributed in Jira, so a Jira user can tell a gated agent's
    #: change from a human's: "off", a "comment" on each changed issue, or the
    #: `jiragate.attribution` issue "property" (agent, approvers, action id). docs/approvals.md
    attribution: Literal["off", "comment", "property"] = "off"
    #: How long the Jira REST proxy holds a gated request for a decision before answering
    #: "pending: send it again later" (docs/proxy.md); at most max_wait_seconds.
    proxy_wait_seconds: float = Field(default=5.0, ge=0, le=600)
    #: The catalog actions the MCP server offers as tools (None: all of them). The status and
    #: dry-run tools are always offered. See docs/mcp.md.
    mcp_actions: list[str] | None = None
    #: Notification channels (Slack, Teams, email, webhook): docs/notifications.md.
    notifications: list[Channel] = Field(default_factory=list)
    #: Per review group: reminders before expiry and escalation.
    notification_schedule: dict[str, GroupSchedule] = Field(default_factory=dict)
    notification_delivery: DeliverySettings = Field(default_factory=DeliverySettings)

    _check_session = field_validator("session_secret")(
        lambda value, info: _refuse_placeholder(value, info.field_name)
    )

    @field_validator("mcp_actions")
    @classmethod
    def _known_mcp_actions(cls, value: list[str] | None) -> list[str] | None:
        from jiragate.catalog import CATALOG

        unknown = [name for name in value or () if name not in CATALOG]
        if unknown:
            listed = ", ".join(map(repr, unknown))
            raise ValueError(f"unknown action(s) {listed}; known: {', '.join(CATALOG)}")
        return value

    @model_validator(mode="after")
    def _unique_identities(self) -> Settings:
        keys = [a.api_key.get_secret_value() for a in self.agents] + [
            r.api_key.get_secret_value() for r in self.reviewers
        ]
        if len(keys) != len(set(keys)):
            raise ValueError(
                "two accounts share an API key; every agent and reviewer needs its own"
            )
        names = [a.name for a in self.agents] + [r.name for r in self.reviewers]
        if len(names) != len(set(names)):
            raise ValueError("two accounts share a name; agent and reviewer names must be unique")
        channel_names = [c.name for c in self.notifications]
        if len(channel_names) != len(set(channel_names)):
            raise ValueError("two notification channels share a name; names must be unique")
        slack_ids = [r.slack_user_id for r in self.reviewers if r.slack_user_id]
        if len(slack_ids) != len(set(slack_ids)):
            raise ValueError("two reviewers share a slack_user_id")
        if self.approval_backend == "cheqpoint" and self.cheqpoint.connection_key is None:
            raise ValueError("approval_backend is cheqpoint but cheqpoint.connection_key is unset")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over explicit values (which come from the config file) over defaults.
        return (env_settings, init_settings)

    @classmethod
    def from_file(cls, path: str | Path | None, **overrides: Any) -> Settings:
        """Settings from a YAML/JSON file (optional), then the environment on top.

        Invalid settings raise `SettingsError` (a ValueError) naming the fields, never their
        values; valid ones register their secrets for redaction (jiragate.redaction)."""
        _refuse_misspelt_nested_variables(os.environ)
        data: dict[str, Any] = {}
        if path is not None:
            loaded = _read_config(Path(path))
            if not isinstance(loaded, dict):
                raise SettingsError(f"{path}: the config file must hold a mapping")
            data = loaded
        data.update(overrides)
        try:
            settings = cls(**data)
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc)) from None
        register_secrets(settings.secrets())
        return settings

    # ----------------------------------------------------------------- identities

    def agent_for_key(self, key: str) -> AgentAccount | None:
        return _match_key(self.agents, key)

    def reviewer_for_key(self, key: str) -> ReviewerAccount | None:
        return _match_key(self.reviewers, key)

    def reviewer(self, name: str) -> ReviewerAccount | None:
        return next((r for r in self.reviewers if r.name == name), None)

    def person_of(self, reviewer: str) -> str:
        """The person behind a reviewer account (see ReviewerAccount.email)."""
        account = self.reviewer(reviewer)
        return account.person if account is not None else f"account:{reviewer}"

    def principal_of(self, agent: str) -> str | None:
        """The person an agent acts for (`on_behalf_of`), in `person_of`'s spelling."""
        account = next((a for a in self.agents if a.name == agent), None)
        if account is None or account.on_behalf_of is None:
            return None
        return person_key(account.on_behalf_of)

    def group_connection_key(self, env: str | None) -> SecretStr | None:
        """A review group's own Cheqpoint Connection Key, from the environment variable its
        policy names (`cheqpoint.connection_key_env`); None: unset or empty (the default key
        is used). Read here so that settings stay the one reader of the environment."""
        value = os.environ.get(env) if env else None
        return SecretStr(value) if value else None

    def secrets(self) -> list[str]:
        """Every secret value, so logs and tests can prove none of them leaks."""
        values: list[SecretStr | None] = [
            self.jira.api_token,
            self.jira.personal_access_token,
            self.jira.marker_secret,
            self.cheqpoint.connection_key,
            self.cheqpoint.webhook_secret,
            self.session_secret,
        ]
        values += [a.api_key for a in self.agents]
        values += [SecretStr(v) for c in self.notifications for v in c.secret_values()]
        values += [r.api_key for r in self.reviewers] + [r.password_hash for r in self.reviewers]
        found = [v.get_secret_value() for v in values if v is not None]
        if self.jira.email and self.jira.api_token:  # the Basic header Jira Cloud is sent
            pair = f"{self.jira.email}:{self.jira.api_token.get_secret_value()}"
            found.append(base64.b64encode(pair.encode()).decode("ascii"))
        password = _url_password(self.database_url)
        if password:
            found += [password, unquote(password)]
        return found


def _refuse_misspelt_nested_variables(environ: Mapping[str, str]) -> None:
    """Refuse `JIRAGATE_JIRA_URL`-style variables: nested settings take a double underscore
    (`JIRAGATE_JIRA__URL`), and a single one would be ignored without a word, leaving the
    service on the default Jira (earlier docs named the single-underscore spelling). Only
    the jira section: other JIRAGATE_CHEQPOINT_* names may be a group's connection key."""
    misspelt = sorted(
        name
        for name in environ
        if name.upper().startswith("JIRAGATE_JIRA_")
        and not name.upper().startswith("JIRAGATE_JIRA__")
    )
    if misspelt:
        hints = ", ".join(f"{name} -> {_double_underscore(name)}" for name in misspelt)
        raise SettingsError(
            "environment variables for nested settings take a double underscore, these are "
            f"not read: {hints} (see docs/operations.md)"
        )


def _double_underscore(name: str) -> str:
    return "JIRAGATE_JIRA__" + name[len("JIRAGATE_JIRA_") :].upper()


def _url_password(url: str) -> str | None:
    """The password in a URL's userinfo, as written (percent-encoded), or None."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # e.g. an unbalanced "[": not a URL any parser will use either
        return None
    userinfo, at, _ = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.partition(":")[2] or None


def _read_config(path: Path) -> Any:
    """The config file's data, under the same bounds as a policy file (size, aliases,
    expanded nodes, depth: docs/policies.md "Limits"); SettingsError says what is wrong."""
    try:
        text = read_limited(path, DEFAULT_LIMITS.max_file_bytes).decode("utf-8")
        if path.suffix == ".json":
            return json.loads(text)
        # yamlsource gives yaml.safe_load's data, bounded; but where safe_load silently keeps
        # the last of two duplicate keys it keeps the first, so duplicates are refused.
        data, _, problems = parse(text, DEFAULT_LIMITS)
    except (YamlLimitError, ValueError, yaml.YAMLError) as exc:
        # A parser's message quotes the offending line: it may hold a secret.
        raise SettingsError(f"{path}: not valid YAML/JSON: {redact_text(str(exc))}") from None
    if problems:
        listed = "; ".join(f"line {p.line}: {p.message}" for p in problems)
        raise SettingsError(f"{path}: {redact_text(listed)}")
    return data


def _match_key(accounts: list[Any], key: str) -> Any:
    """The account holding `key`, found by the SHA-256 digest of what was presented: the
    lookup's timing depends only on that digest, which tells nothing about any configured
    key (one dict lookup, where comparing against every account cost each request ~20 µs).
    Of two accounts with the same key, the later one holds it, as before."""
    index = _digest_index(tuple(account.api_key.get_secret_value() for account in accounts))
    position = index.get(hashlib.sha256(key.encode()).digest())
    return None if position is None else accounts[position]


@functools.lru_cache(maxsize=64)
def _digest_index(keys: tuple[str, ...]) -> dict[bytes, int]:
    # Configured keys are few and fixed: index them once, not on every request.
    return {hashlib.sha256(key.encode()).digest(): position for position, key in enumerate(keys)}

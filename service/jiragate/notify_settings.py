"""Settings for notifications: `notifications` (the channels), `notification_schedule` (per
review group: reminders and escalation) and `notification_delivery` (retries, timeouts).

Secrets (webhook URLs, bot tokens, signing secrets, SMTP passwords) are never written in the
config file: each is a reference `{env: NAME}` or `{file: PATH}`, read once when the settings
load (a missing variable or file is refused then, naming the setting), held as `SecretStr`
and registered for redaction with every other secret. See docs/notifications.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

#: Only Slack's own hosts may be sent the outcome of a click (a forged payload must not make
#: us POST anywhere); tests add their loopback stand-in.
SLACK_RESPONSE_URL_PREFIXES = ["https://hooks.slack.com/"]
#: Tries of one notification within one claim (then it waits for a later round).
QUICK_TRIES = 3


class SecretRef(BaseModel):
    """Where a secret is read from: an environment variable or a file (its text, stripped)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret is {env: VARIABLE} or {file: PATH}, exactly one of them")
        return self

    def read(self) -> SecretStr:
        if self.env is not None:
            value = os.environ.get(self.env, "")
            if not value:
                raise ValueError(f"environment variable {self.env} is unset or empty")
            return SecretStr(value)
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        if not text:
            raise ValueError(f"secret file {self.file} is empty")
        return SecretStr(text)


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    #: Names the channel in the outbox and the audit trail (unique).
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    #: The review groups whose approvals this channel announces.
    groups: list[str] = Field(min_length=1)
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    def _read(self, **refs: SecretRef | None) -> None:
        for field, ref in refs.items():
            if ref is not None:
                try:
                    self._secrets[field] = ref.read()
                except ValueError as exc:
                    raise ValueError(f"{field}: {exc}") from None

    def secret_value(self, field: str) -> str | None:
        value = self._secrets.get(field)
        return value.get_secret_value() if value is not None else None

    def secret_values(self) -> list[str]:
        return [v.get_secret_value() for v in self._secrets.values()]


class SlackChannel(_Channel):
    """Block Kit messages by incoming webhook, or `chat.postMessage` with a bot token (then
    the message is also updated with `chat.update` once decided)."""

    kind: Literal["slack"]
    webhook_url: SecretRef | None = None
    bot_token: SecretRef | None = None
    #: The Slack channel id `chat.postMessage` posts to (with `bot_token`).
    channel: str | None = None
    #: Verifies `POST /v1/slack/interactions` (the app's Signing Secret).
    signing_secret: SecretRef | None = None
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def _one_way_to_post(self) -> SlackChannel:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError("a slack channel takes webhook_url or bot_token, exactly one")
        if self.bot_token is not None and not self.channel:
            raise ValueError("a slack channel with bot_token needs `channel` (a channel id)")
        self._read(
            webhook_url=self.webhook_url,
            bot_token=self.bot_token,
            signing_secret=self.signing_secret,
        )
        return self


class TeamsChannel(_Channel):
    """An Adaptive Card through an incoming webhook or a Workflows URL."""

    kind: Literal["teams"]
    webhook_url: SecretRef

    @model_validator(mode="after")
    def _secrets_now(self) -> TeamsChannel:
        self._read(webhook_url=self.webhook_url)
        return self


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    #: `starttls` (port 587), `tls` (implicit TLS, port 465) or `none` (a local relay only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    #: A CA bundle (PEM) to verify the server's certificate with, instead of the system's.
    ca_file: Path | None = None


class EmailChannel(_Channel):
    """Plain text and HTML mail to the members of the groups (their `email`)."""

    kind: Literal["email"]
    smtp: SmtpSettings
    sender: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _secrets_now(self) -> EmailChannel:
        self._read(password=self.smtp.password)
        return self


class WebhookChannel(_Channel):
    """A JSON event signed with HMAC-SHA256 (`X-Jiragate-Signature`, `X-Jiragate-Timestamp`)."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretRef

    @model_validator(mode="after")
    def _secrets_now(self) -> WebhookChannel:
        self._read(secret=self.secret)
        return self


Channel = Annotated[
    SlackChannel | TeamsChannel | EmailChannel | WebhookChannel, Field(discriminator="kind")
]


class GroupSchedule(BaseModel):
    """When a group's pending approvals are announced again, and to whom they escalate."""

    model_config = ConfigDict(extra="forbid")

    #: Fractions of the approval's lifetime (0..1, exclusive) at which to remind.
    reminders: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=list)
    #: After this many seconds undecided, the `escalate_to` group's channels are told too.
    escalate_after_seconds: float | None = Field(default=None, gt=0)
    escalate_to: str | None = None

    @model_validator(mode="after")
    def _escalation_pair(self) -> GroupSchedule:
        if (self.escalate_after_seconds is None) != (self.escalate_to is None):
            raise ValueError("escalate_to and escalate_after_seconds go together")
        if len(set(self.reminders)) != len(self.reminders):
            raise ValueError("reminders lists the same fraction twice")
        return self


class DeliverySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Attempts per notification before it is recorded as failed.
    max_attempts: int = Field(default=6, ge=1, le=50)
    #: Backoff between attempts: min(retry_cap_seconds, retry_base_seconds * 2**attempt).
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    #: One HTTP or SMTP exchange never takes longer than this.
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: A replica's claim on a notification; a crashed replica's claim runs out after this.
    lease_seconds: float = Field(default=60.0, gt=0)
    #: Slack `response_url`s we may POST a click's outcome to.
    slack_response_url_prefixes: list[str] = Field(
        default_factory=lambda: list(SLACK_RESPONSE_URL_PREFIXES)
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> DeliverySettings:
        # A claim that ran out while its sender is still trying would let another replica
        # send the same message: the lease must outlast a round's tries and their backoff.
        longest = QUICK_TRIES * self.timeout_seconds + QUICK_TRIES
        if self.lease_seconds <= longest:
            raise ValueError(
                f"lease_seconds must be longer than one delivery round can take "
                f"({QUICK_TRIES} tries x timeout_seconds + backoff = {longest:g} s)"
            )
        return self

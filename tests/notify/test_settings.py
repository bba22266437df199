"""Notification settings: the docs' example loads, secrets come only from the environment or
a file and are registered for redaction, and bad channel settings are refused with a message
naming the setting. Also the docs' Slack manifest and webhook check, and Block Kit built from
any text an agent can send."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from jiragate.approvals.notify.messages import Notice, slack_message, teams_card, webhook_event
from jiragate.approvals.notify.senders import sign_event
from jiragate.errors import SettingsError
from jiragate.redaction import redact_text
from jiragate.settings import Settings
from jiragate.store import ActionRecord, ActionStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def doc_block(tag: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {tag}:.*?-->\n```\w+\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert found, f"docs/notifications.md has no {tag} block"
    return found.group(1)


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "jiragate.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The documented example, its secrets set in the environment and a file."""
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-docs-example-token-000001",
        "SLACK_SIGNING_SECRET": "docs-example-signing-secret-01",
        "TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/webhookb2/docs-example-01",
        "JIRAGATE_EVENT_SECRET": "docs-example-event-secret-0001",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    password = tmp_path / "smtp-password"
    password.write_text("docs-example-smtp-password-01\n", encoding="utf-8")
    text = doc_block("settings-example").replace("/run/secrets/smtp-password", str(password))
    return {
        "data": yaml.safe_load(text),
        "secrets": [*secrets.values(), "docs-example-smtp-password-01"],
    }


def test_the_documented_example_loads_and_registers_every_secret(
    tmp_path: Path, example: dict[str, Any]
):
    settings = Settings.from_file(write_config(tmp_path, example["data"]))
    kinds = [c.kind for c in settings.notifications]
    assert kinds == ["slack", "teams", "email", "webhook"]
    assert settings.notification_schedule["engineering-leads"].reminders == [0.5, 0.9]
    assert settings.reviewer("lead-alice").slack_user_id == "U024BE7LH"  # type: ignore[union-attr]
    for secret in example["secrets"]:
        assert secret in settings.secrets()
        assert secret not in redact_text(f"oops: {secret}")
    # The file's text, trimmed; nothing of any secret in the settings' repr.
    assert settings.notifications[2].secret_value("password") == "docs-example-smtp-password-01"
    assert not any(s in repr(settings) for s in example["secrets"])


def channel(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "groups": ["engineering-leads"], **fields}


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (
            channel(kind="teams", webhook_url={"env": "JG_TEST_UNSET_VARIABLE"}),
            "JG_TEST_UNSET_VARIABLE is unset",
        ),
        (
            channel(kind="teams", webhook_url={"file": "/nonexistent/jiragate-secret"}),
            "cannot read secret file",
        ),
        (
            channel(kind="teams", webhook_url="https://example.webhook.office.com/plain-in-file"),
            "webhook_url",
        ),
        (channel(kind="teams", webhook_url={"env": "A", "file": "/x"}), "exactly one"),
        (channel(kind="slack", channel="C1"), "webhook_url or bot_token"),
        (channel(kind="slack", bot_token={"env": "JG_TEST_SET"}), "needs `channel`"),
        (channel(kind="pager", url="https://x"), "kind"),
        (channel(kind="webhook", url="ftp://x", secret={"env": "JG_TEST_SET"}), "url"),
        (
            channel(kind="webhook", url="https://x", secret={"env": "JG_TEST_SET"}, retries=3),
            "retries",
        ),
        (channel(kind="email", sender="nobody", smtp={"host": "h"}), "sender"),
        (channel(kind="email", sender="a@b.c", smtp={"host": "h", "security": "ssl"}), "security"),
        (channel(kind="teams", groups=[], webhook_url={"env": "JG_TEST_SET"}), "groups"),
    ],
)
def test_a_bad_channel_is_refused_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: dict[str, Any], named: str
):
    monkeypatch.setenv("JG_TEST_SET", "a-value-that-is-set-0001")
    monkeypatch.delenv("JG_TEST_UNSET_VARIABLE", raising=False)
    with pytest.raises(SettingsError) as caught:
        Settings.from_file(write_config(tmp_path, {"notifications": [bad]}))
    message = str(caught.value)
    assert "notifications" in message and named in message
    assert "plain-in-file" not in message  # never the value


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"notification_schedule": {"g": {"reminders": [1.5]}}}, "reminders"),
        ({"notification_schedule": {"g": {"reminders": [0.5, 0.5]}}}, "twice"),
        ({"notification_schedule": {"g": {"escalate_to": "pms"}}}, "go together"),
        ({"notification_delivery": {"timeout_seconds": 0}}, "timeout_seconds"),
        # A lease that could run out mid-send would let a second replica send it too.
        (
            {"notification_delivery": {"timeout_seconds": 10, "lease_seconds": 30}},
            "lease_seconds must be longer",
        ),
        (
            {
                "reviewers": [
                    {"name": "a", "api_key": "reviewer-key-aaaaaaaa-01", "slack_user_id": "U0SAME"},
                    {"name": "b", "api_key": "reviewer-key-bbbbbbbb-02", "slack_user_id": "U0SAME"},
                ]
            },
            "slack_user_id",
        ),
        (
            {
                "reviewers": [
                    {"name": "a", "api_key": "reviewer-key-aaaaaaaa-01", "slack_user_id": "alice"}
                ]
            },
            "slack_user_id",
        ),
        (
            {
                "reviewers": [
                    {"name": "a", "api_key": "reviewer-key-aaaaaaaa-01", "email": "not-an-address"}
                ]
            },
            "email",
        ),
    ],
)
def test_bad_schedules_and_reviewer_fields_are_refused(
    tmp_path: Path, data: dict[str, Any], named: str
):
    with pytest.raises(SettingsError, match=named):
        Settings.from_file(write_config(tmp_path, data))


def test_two_channels_may_not_share_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JG_TEST_SET", "a-value-that-is-set-0001")
    twin = channel(kind="teams", webhook_url={"env": "JG_TEST_SET"})
    with pytest.raises(SettingsError, match="share a name"):
        Settings.from_file(write_config(tmp_path, {"notifications": [twin, twin]}))


def test_the_slack_manifest_points_interactivity_at_the_endpoint():
    manifest = yaml.safe_load(doc_block("slack-manifest"))
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].endswith("/v1/slack/interactions")
    assert "chat:write" in manifest["oauth_config"]["scopes"]["bot"]


def test_the_documented_webhook_check_accepts_our_signature_and_nothing_else():
    namespace: dict[str, Any] = {}
    exec(doc_block("webhook-verify"), namespace)  # the docs' own code
    verify = namespace["verify"]
    body = json.dumps({"type": "jiragate.approval.request"}).encode()
    timestamp = str(int(datetime.now(UTC).timestamp()))
    signature = sign_event("the-secret-of-this-hook-01", timestamp, body)
    assert verify("the-secret-of-this-hook-01", timestamp, body, signature)
    assert not verify("another-secret-entirely-0001", timestamp, body, signature)
    assert not verify("the-secret-of-this-hook-01", timestamp, body + b" ", signature)
    old = str(int(timestamp) - 600)
    assert not verify(
        "the-secret-of-this-hook-01", old, body, sign_event("the-secret-of-this-hook-01", old, body)
    )


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def record(summary: str, justification: str | None, details: dict[str, Any]) -> ActionRecord:
    return ActionRecord(
        id="act_0123456789abcdef",
        created_at=NOW,
        agent="log-triage-bot",
        action="jira_create_tickets",
        summary=summary,
        justification=justification,
        details=details,
        kind="write",
        decision="require_approval",
        review_group="engineering-leads",
        determining_rule="bulk-needs-lead",
        decision_json={"reasons": ["more than 10 tickets"]},
        status=ActionStatus.PENDING_APPROVAL,
        expires_at=NOW + timedelta(hours=2),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    summary=st.text(max_size=5000),
    justification=st.none() | st.text(max_size=5000),
    details=st.dictionaries(
        st.text(min_size=1, max_size=50),
        st.one_of(st.text(max_size=400), st.integers(), st.lists(st.text(max_size=30))),
        max_size=30,
    ),
)
def test_any_text_an_agent_sends_makes_valid_block_kit_and_cards(
    summary: str, justification: str | None, details: dict[str, Any]
):
    """Slack refuses a whole message for one over-long field: whatever the agent wrote
    (markup, huge text, odd keys), the message stays within Block Kit's rules."""
    notice = Notice.of(
        record(summary, justification, details),
        event="request",
        count=12,
        now=NOW,
        public_url="https://jiragate.example.com",
    )
    message = slack_message(notice)
    assert [Block.parse(b).to_dict() for b in message["blocks"]] == message["blocks"]
    assert len(message["blocks"]) <= 50 and len(message["text"]) <= 300
    for block in message["blocks"]:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000
    json.dumps(teams_card(notice))
    assert webhook_event(notice)["action_id"] == "act_0123456789abcdef"

"""Teams, email, webhook and Slack incoming-webhook channels over loopback, with reminders
and escalation on a short approval timeout, and a channel that always fails: it is retried
with backoff, recorded as failed, and delays no submission, decision or other channel."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import jsonschema
import pytest

from tests.api.support import (
    DB_KINDS,
    audit_events,
    copy_policies,
    edit_group,
    seed_tickets,
    service_on,
)
from tests.helpers.servers import free_port
from tests.helpers.service import Service
from tests.notify.receivers import Receiver, _Mailbox, http_receiver, smtp_server
from tests.notify.support import fast_delivery, reviewers, wait_for

HOOK_SECRET = "webhook-signing-secret-for-tests-01"
TEAMS_URL_ENV = "JG_TEST_TEAMS_URL"
SLACK_URL_ENV = "JG_TEST_SLACK_WEBHOOK_URL"
EMAILS = {
    "lead_alice": "alice@example.test",
    "lead_bob": "bob@example.test",
    "pm_carol": "carol@example.test",
}

#: The Adaptive Card rules the Teams message must meet (the envelope incoming webhooks and
#: Workflows accept, a 1.x card, known element and action types, every fact a string pair).
ADAPTIVE_CARD_MESSAGE = {
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "properties": {
                            "$schema": {
                                "const": "http://adaptivecards.io/schemas/adaptive-card.json"
                            },
                            "type": {"const": "AdaptiveCard"},
                            "version": {"type": "string", "pattern": r"^1\.[0-6]$"},
                            "body": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["type"],
                                    "properties": {
                                        "type": {"enum": ["TextBlock", "FactSet"]},
                                        "text": {"type": "string"},
                                        "facts": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["title", "value"],
                                                "properties": {
                                                    "title": {"type": "string"},
                                                    "value": {"type": "string"},
                                                },
                                                "additionalProperties": False,
                                            },
                                        },
                                    },
                                },
                            },
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "title", "url"],
                                    "properties": {"type": {"const": "Action.OpenUrl"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    with smtp_server() as found:
        yield found


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: Receiver,
    smtp: tuple[int, _Mailbox],
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("channels")
    policies = copy_policies(directory)
    # Short enough to see a reminder and an escalation, long enough to decide in.
    edit_group(policies, "engineering-leads", approval_timeout=20)
    secret_file = directory / "webhook-secret"
    secret_file.write_text(HOOK_SECRET + "\n", encoding="utf-8")
    port = free_port()
    leads = ["engineering-leads"]
    channels = [
        {"name": "teams", "kind": "teams", "groups": leads, "webhook_url": {"env": TEAMS_URL_ENV}},
        {
            "name": "hook",
            "kind": "webhook",
            "groups": leads,
            "url": f"{receiver.url}/hook",
            "secret": {"file": str(secret_file)},
        },
        {
            "name": "mail",
            "kind": "email",
            "groups": ["engineering-leads", "project-managers"],
            "smtp": {"host": "127.0.0.1", "port": smtp[0], "security": "none"},
            "sender": "jiragate@example.test",
        },
        {
            "name": "slack-hook",
            "kind": "slack",
            "groups": leads,
            "webhook_url": {"env": SLACK_URL_ENV},
        },
        {
            "name": "broken",
            "kind": "webhook",
            "groups": leads,
            "url": f"{receiver.url}/broken",
            "secret": {"file": str(secret_file)},
        },
    ]
    with pytest.MonkeyPatch.context() as env:
        env.setenv(TEAMS_URL_ENV, f"{receiver.url}/teams")
        env.setenv(SLACK_URL_ENV, f"{receiver.url}/slack-hook")
        receiver.fail("/broken", 10_000)
        with service_on(
            request,
            request.param,
            directory,
            port=port,
            policy_dir=str(policies),
            public_url=f"http://127.0.0.1:{port}",
            reviewers=reviewers(**EMAILS),
            notifications=channels,
            notification_schedule={
                "engineering-leads": {
                    "reminders": [0.05],
                    "escalate_after_seconds": 2,
                    "escalate_to": "project-managers",
                }
            },
            notification_delivery=fast_delivery(max_attempts=3),
        ) as svc:
            yield svc


def gated(service: Service) -> str:
    response = service.agent.post("/v1/actions", json=seed_tickets(count=2))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def received_for(receiver: Receiver, path: str, action_id: str) -> list[Any]:
    return [r for r in receiver.at(path) if action_id in r.body.decode()]


def mails_for(mailbox: _Mailbox, action_id: str) -> list[tuple[EmailMessage, list[str]]]:
    return [
        (m, envelope[1])
        for m, envelope in zip(mailbox.messages, mailbox.envelopes, strict=True)
        if action_id in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ]


def events(service: Service, action_id: str, type_: str) -> list[dict[str, Any]]:
    return [e for e in audit_events(service, action_id) if e["type"] == type_]


def test_teams_gets_an_adaptive_card_with_an_inbox_link(service: Service, receiver: Receiver):
    action_id = gated(service)
    card = wait_for(lambda: received_for(receiver, "/teams", action_id), "the Teams card")[0]
    message = card.json()
    jsonschema.validate(message, ADAPTIVE_CARD_MESSAGE)
    content = message["attachments"][0]["content"]
    assert content["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in inbox",
            "url": f"{service.url}/inbox/actions/{action_id}",
        }
    ]
    facts = {
        f["title"]: f["value"]
        for b in content["body"]
        if b["type"] == "FactSet"
        for f in b["facts"]
    }
    assert facts["Agent"] == "log-triage-bot" and facts["Project"] == "ENG"
    assert facts["Priority"] == "High" and facts["Count"] == "2"


def test_the_webhook_event_is_signed_over_timestamp_and_body(service: Service, receiver: Receiver):
    action_id = gated(service)

    def request_event() -> list[Any]:
        found = received_for(receiver, "/hook", action_id)
        return [r for r in found if r.json()["event"] == "request"]

    hit = wait_for(request_event, "the webhook")[0]
    timestamp = hit.headers["x-jiragate-timestamp"]
    assert abs(int(timestamp) - time.time()) < 600
    expected = hmac.new(
        HOOK_SECRET.encode(), timestamp.encode() + b"." + hit.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(hit.headers["x-jiragate-signature"], f"v1={expected}")
    event = hit.json()
    assert event["type"] == "jiragate.approval.request" and event["action_id"] == action_id
    assert event["inbox_url"].endswith(f"/inbox/actions/{action_id}")


def test_email_goes_to_the_groups_members_as_text_and_html(
    service: Service, smtp: tuple[int, _Mailbox]
):
    action_id = gated(service)

    def request_mail() -> list[Any]:
        return [
            (m, r)
            for m, r in mails_for(smtp[1], action_id)
            if m["Subject"].startswith("[Jiragate] Approval needed")
        ]

    message, recipients = wait_for(request_mail, "the mail")[0]
    assert sorted(recipients) == ["alice@example.test", "bob@example.test"]
    assert message["From"] == "jiragate@example.test"
    assert message["Subject"].startswith("[Jiragate] Approval needed")
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    link = f"{service.url}/inbox/actions/{action_id}"
    assert link in text and f"href='{link}'" in page
    assert "log-triage-bot" in page and "<script" not in page
    # Links only open the inbox: nothing in a mail decides on a GET.
    assert "approve" not in re.sub(r"[^a-z/]", "", link)


def test_a_failing_channel_delays_nothing_and_is_recorded(service: Service, receiver: Receiver):
    action_id = gated(service)
    # The other channels get theirs while /broken answers 500 to every attempt.
    wait_for(lambda: received_for(receiver, "/slack-hook", action_id), "the Slack webhook")
    wait_for(lambda: received_for(receiver, "/hook", action_id), "the webhook")
    decided = service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert decided.status_code == 200, decided.text
    service.wait_for_status(action_id, "executed")

    def failed() -> list[Any]:
        return [
            e["data"]["channel"]
            for e in events(service, action_id, "notification.failed")
            if e["data"]["event"] == "request"
        ]

    assert wait_for(failed, "the broken channel's failure") == ["broken"]
    retried = [
        e
        for e in events(service, action_id, "notification.retrying")
        if e["data"]["channel"] == "broken" and e["data"]["event"] == "request"
    ]
    assert len(retried) == 2 and all(e["data"]["outcome"] == "HTTP 500" for e in retried)
    # 3 rounds x 3 quick tenacity tries each, then no more.
    requests = [
        r for r in received_for(receiver, "/broken", action_id) if r.json()["event"] == "request"
    ]
    assert len(requests) == 9
    sent = {e["data"]["channel"] for e in events(service, action_id, "notification.sent")}
    assert {"teams", "hook", "mail", "slack-hook"} <= sent


def test_a_decision_is_pushed_to_webhooks_and_incoming_slack(service: Service, receiver: Receiver):
    action_id = gated(service)
    wait_for(lambda: received_for(receiver, "/hook", action_id), "the request")
    service.client("lead-bob").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "reject", "note": "no"}
    )

    def decision() -> list[Any]:
        return [
            r.json()
            for r in received_for(receiver, "/hook", action_id)
            if r.json()["event"] == "decision"
        ]

    event = wait_for(decision, "the decision event")[0]
    assert event["status"] == "rejected" and event["decided_by"] == ["lead-bob"]
    slack = wait_for(
        lambda: [
            r.json()
            for r in received_for(receiver, "/slack-hook", action_id)
            if r.json()["text"].startswith("Rejected")
        ],
        "the Slack follow-up",
    )[0]
    assert "jiragate_approve" not in str(slack["blocks"])


def test_reminders_and_escalation_are_sent_once_and_audited(
    service: Service, smtp: tuple[int, _Mailbox]
):
    action_id = gated(service)
    # 5 % of 20 s: a reminder after a second; escalation to project-managers after 2 s.
    escalated = wait_for(lambda: events(service, action_id, "approval.escalated"), "escalation")
    assert [e["data"]["channel"] for e in escalated] == ["mail"]
    assert escalated[0]["data"] == {
        "channel": "mail",
        "from": "engineering-leads",
        "to": "project-managers",
    }
    reminded = events(service, action_id, "approval.reminded")
    assert sorted(e["data"]["channel"] for e in reminded) == sorted(
        ["teams", "hook", "mail", "slack-hook", "broken"]
    )

    def escalation_mail() -> list[Any]:
        return [
            (m, r)
            for m, r in mails_for(smtp[1], action_id)
            if m["Subject"].startswith("[Jiragate] Escalated")
        ]

    _, recipients = wait_for(escalation_mail, "the escalation mail")[0]
    assert recipients == ["carol@example.test"]  # pm-dave has no email configured
    rows = service.gateway.notifications(action_id)
    keys = [(r.channel, r.event) for r in rows]
    assert len(keys) == len(set(keys))
    assert ("mail", "reminder-5") in keys and ("mail", "escalation") in keys


def test_an_escalated_approval_passes_to_the_group_it_escalates_to(service: Service):
    # engineering-leads escalate to project-managers after 2 s (the fixture's schedule).
    action_id = gated(service)
    created = service.agent.get(f"/v1/actions/{action_id}").json()["created_at"]
    escalates_at = datetime.fromisoformat(created) + timedelta(seconds=2)

    def early() -> bool:
        """Answered before the escalation (same clock as the service's): still the leads'.
        On a loaded machine the 2 s may pass first; then only the later checks apply."""
        return datetime.now(UTC) < escalates_at

    pm = service.client("pm-carol")
    refused = pm.post(f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"})
    if early():
        assert refused.status_code == 403, refused.text
        assert "escalates to 'project-managers' at" in refused.json()["message"]
    unseen = pm.get(f"/v1/actions/{action_id}")
    if early():
        assert unseen.status_code == 404
    queue = pm.get("/v1/approvals").json()["items"]
    if early():
        assert action_id not in [a["id"] for a in queue]
    wait_for(lambda: events(service, action_id, "approval.escalated"), "the escalation")
    # Now in the project managers' queue, beside the leads' (who keep it too).
    assert action_id in [a["id"] for a in pm.get("/v1/approvals").json()["items"]]
    lead = service.client("lead-alice")
    assert action_id in [a["id"] for a in lead.get("/v1/approvals").json()["items"]]
    # A reviewer of neither group still cannot decide it; a project manager can.
    outsider = service.client("auditor").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
    )
    assert outsider.status_code == 403, outsider.text
    decided = pm.post(f"/v1/approvals/{action_id}/decision", json={"verdict": "reject"})
    assert decided.status_code == 200, decided.text
    assert service.agent.get(f"/v1/actions/{action_id}").json()["status"] == "rejected"
    assert pm.get(f"/v1/actions/{action_id}").status_code == 200

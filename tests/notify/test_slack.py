"""Slack end to end: a gated action is announced with Block Kit buttons through
`chat.postMessage` (a loopback stand-in for Slack's Web API); a click signed with the app's
signing secret approves it through the inbox's own decision path, it executes once, and the
message is updated (`response_url` and `chat.update`). Forged, stale and replayed
signatures, Slack users who are not (or not in the group's) reviewers, and a double click
change nothing."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from tests.api.support import DB_KINDS, audit_types, seed_tickets, service_on
from tests.helpers.servers import free_port
from tests.helpers.service import Service
from tests.notify.receivers import Receiver, http_receiver
from tests.notify.support import (
    BOT_TOKEN,
    SECRET_ENV,
    SIGNING_SECRET,
    click_body,
    fast_delivery,
    post_click,
    reviewers,
    signed_headers,
    slack_channel,
    wait_for,
)

APPROVE, REJECT = "jiragate_approve", "jiragate_reject"


@pytest.fixture(scope="module")
def slack() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def outsider() -> Iterator[Receiver]:
    """A host that is not Slack's: a forged response_url pointing here must get nothing."""
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, slack: Receiver
) -> Iterator[Service]:
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in SECRET_ENV.items():
            env.setenv(name, value)
        with service_on(
            request,
            request.param,
            tmp_path_factory.mktemp("slack"),
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            reviewers=reviewers(),
            notifications=[slack_channel(f"{slack.url}/api")],
            notification_delivery=fast_delivery(
                slack_response_url_prefixes=[f"{slack.url}/hooks/"]
            ),
        ) as svc:
            yield svc


def posted_for(slack: Receiver, action_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for received in slack.at("/api/chat.postMessage"):
            body = received.json()
            if action_id in str(body["blocks"]):
                return {"body": body, "headers": received.headers}
        return None

    return wait_for(find, f"chat.postMessage for {action_id}")


def gated(service: Service) -> dict[str, Any]:
    response = service.agent.post("/v1/actions", json=seed_tickets(count=3))
    assert response.status_code == 202, response.text
    action = response.json()
    assert action["status"] == "pending_approval"
    return action


def test_the_message_is_block_kit_with_approve_reject_and_open_buttons(
    service: Service, slack: Receiver
):
    action = gated(service)
    posted = posted_for(slack, action["id"])
    assert posted["headers"]["authorization"] == f"Bearer {BOT_TOKEN}"
    body = posted["body"]
    assert body["channel"] == "C0JIRAGATE" and body["text"].startswith("Approval needed")
    # Every block parses back through slack_sdk's Block Kit models unchanged.
    assert [Block.parse(b).to_dict() for b in body["blocks"]] == body["blocks"]
    types = [b["type"] for b in body["blocks"]]
    assert types[0] == "header" and "actions" in types
    buttons = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [APPROVE, REJECT, "jiragate_open"]
    # Each decision button names the action and the snapshot the approval is bound to.
    snapshot = service.gateway.get_record(action["id"]).binding["snapshot"]["hash"]
    assert buttons[0]["value"] == buttons[1]["value"] == f"{action['id']}@{snapshot}"
    assert buttons[0]["style"] == "primary" and buttons[1]["style"] == "danger"
    assert buttons[2]["url"] == f"{service.url}/inbox/actions/{action['id']}"
    facts = str(body["blocks"])
    for fact in ("log-triage-bot", "jira_create_tickets", "ENG", "High", "engineering-leads"):
        assert fact in facts
    assert "left" in facts  # time left


def test_a_signed_click_approves_once_executes_once_and_updates_the_message(
    service: Service, slack: Receiver
):
    action = gated(service)
    first = posted_for(slack, action["id"])
    hook = f"{slack.url}/hooks/approve-{action['id']}"
    # The click carries what the message's button carries: the action and its snapshot.
    value = button_values(first)[APPROVE]
    body = click_body("U0ALICE", APPROVE, value, hook)
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 200, response.text
    assert "Approved by lead-alice" in response.json()["text"]
    service.wait_for_status(action["id"], "executed")
    assert service.gateway.get_record(action["id"]).reviewers == ["lead-alice"]
    label = seed_label(service, action["id"])
    assert len(service.sandbox_issues(label)) == 3

    # The click's response_url replaces the message: outcome on top, no decision buttons
    # left (the inbox link stays).
    replaced = wait_for(lambda: slack.at(f"/hooks/approve-{action['id']}"), "response_url")
    update = replaced[0].json()
    assert update["replace_original"] is True
    assert "Approved by lead-alice" in update["text"]
    assert APPROVE not in str(update["blocks"]) and REJECT not in str(update["blocks"])
    assert "jiragate_open" in str(update["blocks"])

    # The bot-posted message is updated in place (chat.update on the first message's ts).
    def chat_update() -> list[Any]:
        return [r.json() for r in slack.at("/api/chat.update") if action["id"] in str(r.json())]

    updated = wait_for(chat_update, "chat.update")[0]
    assert updated["channel"] == first["body"]["channel"]
    assert updated["ts"].startswith("1700.")
    types = audit_types(service, action["id"])
    assert types.count("notification.sent") == 2  # the request, the decision

    # A double click (a fresh, validly signed request) and the other lead's late click
    # change nothing: the action ran once.
    for who in ("U0ALICE", "U0BOB"):
        again = click_body(who, APPROVE, action["id"], hook)
        late = post_click(service.url, again, signed_headers(again))
        assert late.status_code == 200 and "not recorded" in late.json()["text"]
    assert len(service.sandbox_issues(label)) == 3
    assert audit_types(service, action["id"]).count("approval.approved") == 1


def button_values(posted: dict[str, Any]) -> dict[str, str]:
    actions = next(b for b in posted["body"]["blocks"] if b["type"] == "actions")
    return {b["action_id"]: b["value"] for b in actions["elements"] if "value" in b}


def test_a_click_on_a_message_showing_another_snapshot_is_refused_as_stale(
    service: Service, slack: Receiver
):
    # The message a reviewer clicks must show what the approval is bound to: a button whose
    # snapshot is not the action's (an older message, an edited value) decides nothing.
    action = gated(service)
    value = button_values(posted_for(slack, action["id"]))[APPROVE]
    action_id, _, snapshot = value.partition("@")
    assert action_id == action["id"] and snapshot
    older = f"{action_id}@{'0' * len(snapshot)}"
    body = click_body("U0ALICE", APPROVE, older, f"{slack.url}/hooks/stale")
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 200, response.text
    assert "not recorded: stale snapshot" in response.json()["text"]
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    assert "approval.refused" in audit_types(service, action["id"])


def seed_label(service: Service, action_id: str) -> str:
    details = service.agent_view(action_id)["details"]
    return next(label for label in details["labels"] if label.startswith("e2e-"))


def test_a_reject_click_rejects(service: Service, slack: Receiver):
    action = gated(service)
    body = click_body("U0BOB", REJECT, action["id"], f"{slack.url}/hooks/reject")
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 200
    assert service.agent_view(action["id"])["status"] == "rejected"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            lambda body: signed_headers(body, secret="not-the-signing-secret"), id="forged"
        ),
        pytest.param(lambda body: signed_headers(body, at=time.time() - 330), id="stale"),
        pytest.param(lambda body: signed_headers(body, at=time.time() + 330), id="future"),
        pytest.param(
            lambda body: {"X-Slack-Request-Timestamp": str(int(time.time()))}, id="unsigned"
        ),
        pytest.param(
            lambda body: {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64},
            id="wrong-digest",
        ),
    ],
)
def test_a_bad_signature_changes_nothing(service: Service, slack: Receiver, headers: Any):
    action = gated(service)
    body = click_body("U0ALICE", APPROVE, action["id"], f"{slack.url}/hooks/bad")
    response = post_click(service.url, body, headers(body))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "slack_refused"
    assert service.agent_view(action["id"])["status"] == "pending_approval"


def test_a_body_changed_after_signing_is_refused(service: Service, slack: Receiver):
    action = gated(service)
    signed = click_body("U0ALICE", REJECT, action["id"], f"{slack.url}/hooks/x")
    tampered = click_body("U0ALICE", APPROVE, action["id"], f"{slack.url}/hooks/x")
    response = post_click(service.url, tampered, signed_headers(signed))
    assert response.status_code == 401
    assert service.agent_view(action["id"])["status"] == "pending_approval"


def test_a_replayed_request_is_refused(service: Service, slack: Receiver):
    first_action, second_action = gated(service), gated(service)
    body = click_body("U0ALICE", REJECT, first_action["id"], f"{slack.url}/hooks/replay")
    headers = signed_headers(body)
    assert post_click(service.url, body, headers).status_code == 200
    replay = post_click(service.url, body, headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["message"]
    assert service.agent_view(second_action["id"])["status"] == "pending_approval"


def test_slack_users_who_may_not_decide_change_nothing(service: Service, slack: Receiver):
    action = gated(service)
    # Not mapped to any reviewer account.
    body = click_body("U0STRANGER", APPROVE, action["id"], f"{slack.url}/hooks/s")
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 403
    # A reviewer, but not of the action's group (pm-carol reviews project-managers).
    body = click_body("U0CAROL", APPROVE, action["id"], f"{slack.url}/hooks/carol")
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 200 and "not a member" in response.json()["text"]
    told = wait_for(lambda: slack.at("/hooks/carol"), "the ephemeral refusal")[0].json()
    assert told["replace_original"] is False and told["response_type"] == "ephemeral"
    assert service.agent_view(action["id"])["status"] == "pending_approval"
    types = audit_types(service, action["id"])
    assert "slack.refused" in types and "approval.refused" in types


def test_a_forged_response_url_is_never_called(
    service: Service, slack: Receiver, outsider: Receiver
):
    action = gated(service)
    posted_for(slack, action["id"])  # announced first, so the decision updates the message
    body = click_body("U0ALICE", REJECT, action["id"], f"{outsider.url}/steal")
    assert post_click(service.url, body, signed_headers(body)).status_code == 200
    assert service.agent_view(action["id"])["status"] == "rejected"
    # The decision's own update (chat.update) is the last thing a click causes; once it
    # arrived, a call to the forged URL would have been made already.
    wait_for(
        lambda: any(action["id"] in str(r.json()) for r in slack.at("/api/chat.update")),
        "chat.update",
    )
    assert outsider.requests == []


@pytest.mark.parametrize(
    "body",
    [b"payload=not-json", b"nothing=here", b'payload={"type":"view_submission"}'],
)
def test_a_signed_but_malformed_payload_is_a_clear_400(service: Service, body: bytes):
    response = post_click(service.url, body, signed_headers(body))
    assert response.status_code == 400
    assert response.json()["message"]


def test_a_body_that_is_not_utf8_is_refused_as_unsigned(service: Service):
    body = b"payload=\xff\xfe"
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}
    response = post_click(service.url, body, headers)
    assert response.status_code == 401

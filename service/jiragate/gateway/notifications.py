"""Notifications: the notifier that announces approvals where reviewers are, its planning and
delivery rounds, and Slack button clicks, decided exactly as inbox votes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from jiragate.approvals.notify import slack as slack_clicks
from jiragate.approvals.notify.dispatcher import Notifier
from jiragate.approvals.notify.messages import Notice, slack_outcome_message
from jiragate.catalog import count_of
from jiragate.errors import ApprovalError, DecisionRefusedError
from jiragate.gateway.state import GatewayState
from jiragate.store.models import Notification

#: A reply to post to a click's `response_url`: the click and the message.
_SlackReply = tuple[slack_clicks.Click, dict[str, Any]]


class NotificationsMixin(GatewayState):
    """The notifier, the outbox's rows and Slack interactivity."""

    def _build_notifier(self, transport: Any) -> Notifier:
        settings = self.settings

        def members_of(group: str) -> list[str]:
            found = self._policies.current.groups.get(group)
            return list(found.members) if found else []

        def email_of(name: str) -> str | None:
            account = settings.reviewer(name)
            return account.email if account else None

        return Notifier(
            settings.notifications,
            settings.notification_schedule,
            settings.notification_delivery,
            self._outbox,
            worker=self.worker_id,
            members_of=members_of,
            email_of=email_of,
            public_url=settings.public_url,
            transport=transport,
        )

    async def notify_round(self) -> int:
        """Plan what the approvals' state calls for (first message, reminders, escalation,
        decision updates) and start delivering what is due; how many started. Safe on every replica
        at once: the outbox's unique key and leases make each message go out once."""
        notifier = self._notifier
        if notifier is None:
            return 0
        now = self._store.clock()
        await asyncio.to_thread(self._plan_notifications, notifier, now)
        return await notifier.deliver(self._store.get_action, now)

    def _plan_notifications(self, notifier: Notifier, now: datetime) -> None:
        notifier.plan(self._inbox.pending_for(notifier.groups, limit=500), now)
        notifier.plan_decisions()

    def notifications(self, action_id: str) -> list[Notification]:
        """The outbox rows of one action (what was, or will be, sent where)."""
        return self._outbox.for_action(action_id)

    async def slack_interaction(
        self, body: bytes, *, timestamp: str, signature: str
    ) -> tuple[int, str]:
        """A Slack button click: (HTTP status, message). Verified (signature, window, no
        replay), mapped to a reviewer by `slack_user_id`, then decided by `decide`, exactly
        as an inbox vote (membership, quorum, no self-approval, expiry, one execution).
        The click is stored work (a thread); the reply to Slack is sent from the loop."""
        status, text, reply = await asyncio.to_thread(
            self._slack_click, body, timestamp=timestamp, signature=signature
        )
        if reply is not None:
            self._slack_reply(*reply)
        return status, text

    def _slack_click(
        self, body: bytes, *, timestamp: str, signature: str
    ) -> tuple[int, str, _SlackReply | None]:
        secrets = [
            secret
            for channel in self.settings.notifications
            if channel.kind == "slack" and (secret := channel.secret_value("signing_secret"))
        ]
        if not secrets:
            return *self._slack_refused(401, "Slack interactivity is not configured"), None
        if not slack_clicks.verify(secrets, body, timestamp, signature):
            return *self._slack_refused(401, "missing, invalid or stale Slack signature"), None
        window = timedelta(seconds=slack_clicks.REPLAY_WINDOW_SECONDS)
        if not self._outbox.first_sight(signature, window=window):
            return *self._slack_refused(401, "replayed Slack request"), None
        try:
            click = slack_clicks.parse_click(body)
        except slack_clicks.InteractionError as exc:
            return *self._slack_refused(400, str(exc)), None
        if click.verdict is None:
            return 200, "opened in the inbox", None
        reviewer = next(
            (r.name for r in self.settings.reviewers if r.slack_user_id == click.slack_user_id),
            None,
        )
        if reviewer is None:
            refused = f"Slack user {click.slack_user_id} is not a Jiragate reviewer"
            return *self._slack_refused(403, refused, click), None
        try:
            outcome = self.decide(
                click.action_id,
                reviewer=reviewer,
                verdict=click.verdict,
                snapshot=click.snapshot,  # bound to what the message showed
            )
        except (DecisionRefusedError, ApprovalError) as exc:
            # decide() audited the refusal; tell the clicker only (the message stays).
            ephemeral = {
                "response_type": "ephemeral",
                "replace_original": False,
                "text": f"Not recorded: {exc}",
            }
            return 200, f"not recorded: {exc}", (click, ephemeral)
        record = self.get_record(click.action_id)
        if outcome.decided:
            text = f"{outcome.status.value.replace('_', ' ').capitalize()} by {reviewer} in Slack"
            notice = Notice.of(
                record,
                event="decision",
                count=count_of(record.action, record.details),
                now=self.now(),
                public_url=self.settings.public_url,
            )
            return (
                200,
                text,
                (click, {"replace_original": True, **slack_outcome_message(notice, text)}),
            )
        text = f"{reviewer} approved; {outcome.approvals} of {outcome.required} approvals"
        return (
            200,
            text,
            (click, {"response_type": "ephemeral", "replace_original": False, "text": text}),
        )

    def _slack_refused(
        self, status: int, reason: str, click: slack_clicks.Click | None = None
    ) -> tuple[int, str]:
        self._store.append_audit(
            action_id=click.action_id if click else None,
            actor="slack",
            type="slack.refused",
            data={"reason": reason, **({"slack_user": click.slack_user_id} if click else {})},
        )
        return status, reason

    def _slack_reply(self, click: slack_clicks.Click, payload: dict[str, Any]) -> None:
        """POST the outcome to the click's `response_url`, after answering Slack: only to
        Slack's own hosts (a forged payload must not aim us elsewhere); never awaited by
        the decision."""
        url = click.response_url
        prefixes = self.settings.notification_delivery.slack_response_url_prefixes
        if not url or self._notifier is None or not any(url.startswith(p) for p in prefixes):
            return
        task = asyncio.create_task(self._notifier.respond(url, payload))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

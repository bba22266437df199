"""The notifier: plans notifications into the outbox and delivers the due ones.

It decides nothing (it is not an approval backend) and nothing waits for it: a submission or
a decision only changes the action; every round (the worker loop, on every replica) plans
what the actions' state calls for — the first message, reminders at fractions of the
approval's lifetime, an escalation, a decision update — and sends what is due. Channels are
delivered concurrently, each attempt bounded by `timeout_seconds`, so a slow or failing
channel delays no other. A failed attempt is retried in the same round with tenacity
(backoff, a few tries), then again in later rounds with exponential backoff, up to
`max_attempts`; each outcome is audited (`notification.sent`, `notification.retrying`,
`notification.failed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from jiragate.approvals.notify.messages import Notice
from jiragate.approvals.notify.senders import AnyChannel, Attempt, Senders
from jiragate.catalog import count_of
from jiragate.notify_settings import (
    QUICK_TRIES,
    DeliverySettings,
    GroupSchedule,
    SlackChannel,
    WebhookChannel,
)
from jiragate.store import ActionRecord
from jiragate.store.models import Notification
from jiragate.store.notifications import FAILED, PENDING, SENT, Outbox, Planned

log = logging.getLogger("jiragate.notify")

REQUEST = "request"
ESCALATION = "escalation"
DECISION = "decision"
#: Deliveries one process runs at once (more wait, unclaimed, for a later round).
_MAX_IN_FLIGHT = 50

#: A reviewer name -> their email (None: no email configured).
EmailOf = Callable[[str], str | None]
#: A review group -> its members.
MembersOf = Callable[[str], Sequence[str]]


def reminder_event(fraction: float) -> str:
    return f"reminder-{round(fraction * 100)}"


class Notifier:
    """Build one per gateway; `round()` from the worker loop, `aclose()` at shutdown."""

    def __init__(
        self,
        channels: Sequence[AnyChannel],
        schedule: dict[str, GroupSchedule],
        delivery: DeliverySettings,
        outbox: Outbox,
        *,
        worker: str,
        members_of: MembersOf,
        email_of: EmailOf,
        public_url: str | None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.channels = {c.name: c for c in channels}
        self.schedule = schedule
        self.delivery = delivery
        self.outbox = outbox
        self.worker = worker
        self._members_of = members_of
        self._email_of = email_of
        self._public_url = public_url
        self._senders = Senders(timeout=delivery.timeout_seconds, transport=transport)
        self._in_flight: set[asyncio.Task[None]] = set()
        #: Rows this process is sending: never claimed again by it, whatever their lease.
        self._sending: set[int] = set()

    @property
    def groups(self) -> set[str]:
        """Every group some channel serves, or escalates into one that is served."""
        served = {g for c in self.channels.values() for g in c.groups}
        escalating = {
            name for name, s in self.schedule.items() if s.escalate_to and s.escalate_to in served
        }
        return served | escalating

    async def aclose(self) -> None:
        await self.drain()
        await self._senders.aclose()

    async def respond(self, url: str, payload: dict[str, Any]) -> None:
        """Answer a Slack click through its `response_url` (best effort: the decision is
        already recorded, and the decision row updates bot-posted messages anyway)."""
        attempt = await self._senders.post(url, payload)
        if not attempt.ok:
            log.warning("Slack response_url answered %s", attempt.outcome)

    # ----------------------------------------------------------------- planning

    def _serving(self, group: str) -> list[AnyChannel]:
        return [c for c in self.channels.values() if group in c.groups]

    def plan(self, pending: Iterable[ActionRecord], now: datetime) -> int:
        """Rows for the pending approvals' due events; how many this call created."""
        planned: list[Planned] = []
        for record in pending:
            group = record.review_group or ""
            planned += [Planned(record.id, c.name, c.kind, REQUEST) for c in self._serving(group)]
            schedule = self.schedule.get(group)
            if schedule is None or record.expires_at is None:
                continue
            lifetime = record.expires_at - record.created_at
            for fraction in schedule.reminders:
                if now >= record.created_at + lifetime * fraction:
                    event = reminder_event(fraction)
                    planned += [
                        Planned(
                            record.id,
                            c.name,
                            c.kind,
                            event,
                            "approval.reminded",
                            {"channel": c.name, "at_fraction": fraction},
                        )
                        for c in self._serving(group)
                    ]
            after = schedule.escalate_after_seconds
            if after is not None and now >= record.created_at + timedelta(seconds=after):
                target = schedule.escalate_to or ""
                planned += [
                    Planned(
                        record.id,
                        c.name,
                        c.kind,
                        ESCALATION,
                        "approval.escalated",
                        {"channel": c.name, "from": group, "to": target},
                    )
                    for c in self._serving(target)
                ]
        return self.outbox.plan(planned, actor=self.worker)

    def plan_decisions(self) -> int:
        """Decision rows where a decision changes what the channel shows (Slack: the
        message; webhooks: the event receivers act on)."""
        updating = [
            c.name for c in self.channels.values() if isinstance(c, SlackChannel | WebhookChannel)
        ]
        planned = [
            Planned(row.action_id, row.channel, row.kind, DECISION)
            for row, _ in self.outbox.decided_without(updating, event=DECISION)
        ]
        return self.outbox.plan(planned, actor=self.worker)

    # ----------------------------------------------------------------- delivery

    async def deliver(self, load: Callable[[str], ActionRecord | None], now: datetime) -> int:
        """Claim the due rows and start delivering each in its own task; how many started.
        The round does not wait for them: a channel that is slow or retrying holds up no
        other row, and no later round (the lease keeps its row from being claimed twice)."""
        room = _MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return 0
        rows = await asyncio.to_thread(
            self.outbox.claim_due,
            worker=self.worker,
            lease_seconds=self.delivery.lease_seconds,
            limit=room,
            exclude=set(self._sending),
        )
        for row in rows:
            assert row.id is not None
            self._sending.add(row.id)
            task = asyncio.create_task(self._guarded(row, load, now))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(rows)

    async def drain(self) -> None:
        """Wait for the deliveries under way (each bounded by its timeouts)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _guarded(
        self, row: Notification, load: Callable[[str], ActionRecord | None], now: datetime
    ) -> None:
        try:
            await self._deliver_one(row, load, now)
        except Exception as exc:  # a bug or a database blip: the lease runs out, it is retried
            log.error("notification %s failed: %s", row.id, type(exc).__name__)
        finally:
            self._sending.discard(row.id or 0)

    async def _deliver_one(
        self, row: Notification, load: Callable[[str], ActionRecord | None], now: datetime
    ) -> bool:
        channel = self.channels.get(row.channel)
        record = await asyncio.to_thread(load, row.action_id)
        if channel is None or record is None:
            reason = "channel no longer configured" if channel is None else "action not found"
            await asyncio.to_thread(
                self.outbox.finish,
                row,
                worker=self.worker,
                status=FAILED,
                outcome=reason,
                audit_type="notification.failed",
                audit_data={"channel": row.channel, "event": row.event, "outcome": reason},
            )
            return False
        notice = Notice.of(
            record,
            event=row.event,
            count=_count(record),
            now=now,
            public_url=self._public_url,
        )
        ref = (
            await asyncio.to_thread(self.outbox.request_ref, row.action_id, row.channel)
            if row.event == DECISION
            else None
        )
        recipients = self._recipients(record, row.event)
        attempt = await self._attempt(channel, notice, recipients, ref)
        data: dict[str, Any] = {
            "channel": row.channel,
            "kind": row.kind,
            "event": row.event,
            "attempt": row.attempts,
            "outcome": attempt.outcome,
        }
        if attempt.ok:
            await asyncio.to_thread(
                self.outbox.finish,
                row,
                worker=self.worker,
                status=SENT,
                outcome=attempt.outcome,
                ref=attempt.ref,
                audit_type="notification.sent",
                audit_data=data,
            )
            return True
        if attempt.retry and row.attempts < self.delivery.max_attempts:
            delay = min(
                self.delivery.retry_cap_seconds,
                self.delivery.retry_base_seconds * 2 ** (row.attempts - 1),
            )
            await asyncio.to_thread(
                self.outbox.finish,
                row,
                worker=self.worker,
                status=PENDING,
                outcome=attempt.outcome,
                retry_at=self.outbox.clock() + timedelta(seconds=delay),
                audit_type="notification.retrying",
                audit_data={**data, "retry_in": delay},
            )
            return False
        await asyncio.to_thread(
            self.outbox.finish,
            row,
            worker=self.worker,
            status=FAILED,
            outcome=attempt.outcome,
            audit_type="notification.failed",
            audit_data=data,
        )
        return False

    async def _attempt(
        self,
        channel: AnyChannel,
        notice: Notice,
        recipients: list[str],
        ref: dict[str, Any] | None,
    ) -> Attempt:
        """A few quick tries (tenacity, exponential backoff) for a retryable failure."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(QUICK_TRIES),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_result(lambda a: not a.ok and a.retry),
        )
        try:
            async for try_ in retrying:
                with try_:
                    attempt = await self._senders.send(
                        channel, notice, recipients=recipients, ref=ref
                    )
                try_.retry_state.set_result(attempt)
        except RetryError as exc:
            return exc.last_attempt.result()
        return attempt

    def _recipients(self, record: ActionRecord, event: str) -> list[str]:
        """The emails of the group's members; an escalation goes to the target group's."""
        group = record.review_group or ""
        schedule = self.schedule.get(group)
        if event == ESCALATION and schedule is not None and schedule.escalate_to:
            group = schedule.escalate_to
        found: list[str] = []
        for member in self._members_of(group):
            email = self._email_of(member)
            if email and email not in found:
                found.append(email)
        return found


def _count(record: ActionRecord) -> int:
    try:
        return count_of(record.action, record.details)
    except Exception:  # an action the catalog no longer knows: still announce it
        return 1

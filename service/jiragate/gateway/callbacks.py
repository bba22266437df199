"""Decisions pushed to the requesters of Cheqpoint-compatible approvals: queued in process
when decided or expired, sent signed by the worker loop.
"""

from __future__ import annotations

import asyncio

from jiragate.approvals.compat import callback_url, protocol_status
from jiragate.gateway.state import GatewayState


class CallbacksMixin(GatewayState):
    """The in-process callback queue and its sender."""

    def _queue_callback(self, action_id: str) -> None:
        """Remember to push a decision to the requester of a Cheqpoint-compatible approval.

        Callbacks are hints, as Cheqpoint's own are: the requester's truth is
        `GET /api/approvals/{id}`, so an in-process queue (lost on a crash) is enough."""
        self._callbacks.append(action_id)

    async def send_callbacks(self) -> int:
        """POST each queued decision, signed, to its callback URL; returns how many were sent."""
        sent = 0
        while self._callbacks:
            record = await asyncio.to_thread(self._store.get_action, self._callbacks.pop(0))
            url = callback_url(record) if record is not None else None
            if record is None or url is None or self._callback_sender is None:
                continue
            answered, outcome = await self._callback_sender.send(url, protocol_status(record))
            sent += answered
            await asyncio.to_thread(
                self._store.append_audit,
                action_id=record.id,
                actor="gateway",
                type="callback.sent",
                data={"url": url, "outcome": outcome},
            )
        return sent

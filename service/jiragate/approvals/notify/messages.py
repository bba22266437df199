"""What a notification says, once, and how each channel renders it.

`Notice` holds the facts a reviewer needs (agent, action, project, count, priority, the rule
and its reason, the justification, time left, a compact preview, the inbox link); Slack gets
Block Kit built with `slack_sdk.models.blocks` (whose `to_dict()` validates lengths and
shapes), Teams an Adaptive Card 1.4, email plain text and HTML, the webhook a JSON event.
Links never decide on a GET: the only decision buttons are Slack's, which POST signed
interactions; every other channel links to the inbox page.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from jiragate.store import ActionRecord

#: The Slack buttons' action ids (the interactivity endpoint accepts only these).
APPROVE_ACTION_ID = "jiragate_approve"
REJECT_ACTION_ID = "jiragate_reject"
OPEN_ACTION_ID = "jiragate_open"
#: Slack section text limit is 3000; keep well below so a preview never breaks a message.
_MAX_TEXT = 900

_HEADLINES = {
    "request": "Approval needed",
    "escalation": "Escalated: approval still needed",
    "decision": "Decided",
}


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time_left(expires_at: datetime | None, now: datetime) -> str:
    if expires_at is None:
        return "no expiry"
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h {minutes:02d}m left" if hours else f"{minutes}m left"


def _preview(details: Mapping[str, Any]) -> str:
    """One line per interesting field, long values clipped: what would change."""
    lines = []
    for key, value in details.items():
        if isinstance(value, list | dict):
            shown = f"{len(value)} item(s)" if len(str(value)) > 80 else str(value)
        else:
            shown = str(value)
        lines.append(f"{key}: {_clip(shown, 80)}")
    return _clip("\n".join(lines[:12]), 600)


#: Between the action id and the snapshot hash in a Slack button's value (neither holds it).
SNAPSHOT_SEPARATOR = "@"


def button_value(notice: Notice) -> str:
    """A decision button's value: the action, and the snapshot the message showed."""
    if notice.snapshot is None:
        return notice.action_id
    return f"{notice.action_id}{SNAPSHOT_SEPARATOR}{notice.snapshot}"


@dataclass(frozen=True, slots=True)
class Notice:
    action_id: str
    event: str
    agent: str
    action: str
    summary: str
    project: str | None
    count: int
    priority: str | None
    group: str
    rule: str | None
    reason: str | None
    justification: str | None
    time_left: str
    preview: str
    inbox_url: str | None
    status: str
    decided_by: tuple[str, ...] = ()
    #: The hash of the snapshot the approval is bound to (gateway/binding.py): a Slack
    #: button carries it, so a click decides only what the message showed.
    snapshot: str | None = None

    @classmethod
    def of(
        cls,
        record: ActionRecord,
        *,
        event: str,
        count: int,
        now: datetime,
        public_url: str | None,
    ) -> Notice:
        details = record.details or {}
        reasons = record.decision_json.get("reasons") or []
        project = details.get("projectKey") or details.get("project")
        return cls(
            action_id=record.id,
            event=event,
            agent=record.agent,
            action=record.action,
            summary=record.summary,
            project=str(project) if project else None,
            count=count,
            priority=str(details["priority"]) if details.get("priority") else None,
            group=record.review_group or "",
            rule=record.determining_rule,
            reason=str(reasons[0]) if reasons else None,
            justification=record.justification,
            time_left=_time_left(record.expires_at, now),
            preview=_preview(details),
            inbox_url=(
                f"{public_url.rstrip('/')}/inbox/actions/{record.id}" if public_url else None
            ),
            status=record.status.value,
            decided_by=tuple(record.reviewers or ()),
            snapshot=((record.binding or {}).get("snapshot") or {}).get("hash"),
        )

    @property
    def headline(self) -> str:
        if self.event.startswith("reminder"):
            return f"Reminder: approval needed ({self.time_left})"
        if self.event == "decision":
            by = f" by {', '.join(self.decided_by)}" if self.decided_by else ""
            return f"{self.status.replace('_', ' ').capitalize()}{by}"
        return _HEADLINES.get(self.event, "Approval needed")

    def facts(self) -> list[tuple[str, str]]:
        facts = [
            ("Agent", self.agent),
            ("Action", self.action),
            ("Project", self.project or "—"),
            ("Count", str(self.count)),
            ("Priority", self.priority or "—"),
            ("Group", self.group),
            ("Rule", self.rule or "—"),
            ("Time left", self.time_left),
        ]
        return facts

    def plain_text(self) -> str:
        lines = [f"{self.headline}: {self.summary}", ""]
        lines += [f"{name}: {value}" for name, value in self.facts()]
        if self.reason:
            lines.append(f"Why: {self.reason}")
        if self.justification:
            lines.append(f"Justification: {self.justification}")
        lines += ["", "What would change:", self.preview]
        if self.inbox_url:
            lines += ["", f"Decide in the inbox: {self.inbox_url}"]
        return "\n".join(lines)


# --------------------------------------------------------------------------- Slack


def slack_blocks(notice: Notice, *, buttons: bool = True) -> list[dict[str, Any]]:
    """Block Kit blocks, validated by slack_sdk (`to_dict()` raises on a malformed block)."""
    fields = [
        MarkdownTextObject(text=f"*{name}*\n{_clip(value, 200)}") for name, value in notice.facts()
    ]
    blocks: list[Any] = [
        HeaderBlock(text=PlainTextObject(text=_clip(notice.headline, 150))),
        SectionBlock(text=MarkdownTextObject(text=_clip(f"*{notice.summary}*"))),
        SectionBlock(fields=fields[:10]),
    ]
    why = []
    if notice.reason:
        why.append(f"*Why:* {notice.reason}")
    if notice.justification:
        why.append(f"*Justification:* {notice.justification}")
    if why:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip("\n".join(why)))))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{notice.preview}```")))
    elements: list[ButtonElement] = []
    if buttons:
        elements += [
            ButtonElement(
                text="Approve",
                action_id=APPROVE_ACTION_ID,
                value=button_value(notice),
                style="primary",
            ),
            ButtonElement(
                text="Reject",
                action_id=REJECT_ACTION_ID,
                value=button_value(notice),
                style="danger",
            ),
        ]
    if notice.inbox_url:
        # Approving with edits happens on the inbox page: the button only opens it.
        elements.append(
            ButtonElement(text="Open in inbox", action_id=OPEN_ACTION_ID, url=notice.inbox_url)
        )
    if elements:
        blocks.append(ActionsBlock(block_id=f"jiragate:{notice.action_id}", elements=elements))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"`{notice.action_id}`")]))
    return [block.to_dict() for block in blocks]


def slack_message(notice: Notice, *, buttons: bool = True) -> dict[str, Any]:
    # `text` is the notification and screen-reader fallback Slack asks for beside blocks.
    return {
        "text": _clip(f"{notice.headline}: {notice.summary}", 300),
        "blocks": slack_blocks(notice, buttons=buttons),
    }


def slack_outcome_message(notice: Notice, outcome: str) -> dict[str, Any]:
    """The message after a decision: the same facts, no buttons, the outcome on top."""
    blocks = slack_blocks(notice, buttons=False)
    outcome_block = SectionBlock(text=MarkdownTextObject(text=_clip(outcome, 300))).to_dict()
    return {"text": _clip(outcome, 300), "blocks": [outcome_block, *blocks[1:]]}


# --------------------------------------------------------------------------- Teams


def teams_card(notice: Notice) -> dict[str, Any]:
    """An Adaptive Card 1.4 in the message envelope incoming webhooks and Workflows take."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notice.headline, "weight": "Bolder", "size": "Medium"},
        {"type": "TextBlock", "text": _clip(notice.summary), "wrap": True},
        {
            "type": "FactSet",
            "facts": [{"title": name, "value": value} for name, value in notice.facts()],
        },
    ]
    if notice.reason:
        body.append({"type": "TextBlock", "text": f"Why: {notice.reason}", "wrap": True})
    if notice.justification:
        body.append(
            {"type": "TextBlock", "text": f"Justification: {notice.justification}", "wrap": True}
        )
    body.append(
        {"type": "TextBlock", "text": notice.preview, "wrap": True, "fontType": "Monospace"}
    )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [],
    }
    if notice.inbox_url:
        card["actions"].append(
            {"type": "Action.OpenUrl", "title": "Open in inbox", "url": notice.inbox_url}
        )
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


# --------------------------------------------------------------------------- email


def email_message(notice: Notice, *, sender: str, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _clip(f"[Jiragate] {notice.headline}: {notice.summary}", 200)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(notice.plain_text())
    rows = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in notice.facts()
    )
    extra = ""
    if notice.reason:
        extra += f"<p><b>Why:</b> {html.escape(notice.reason)}</p>"
    if notice.justification:
        extra += f"<p><b>Justification:</b> {html.escape(notice.justification)}</p>"
    link = (
        f"<p><a href='{html.escape(notice.inbox_url)}'>Decide in the inbox</a></p>"
        if notice.inbox_url
        else ""
    )
    message.add_alternative(
        f"<html><body><h2>{html.escape(notice.headline)}</h2>"
        f"<p>{html.escape(notice.summary)}</p><table>{rows}</table>{extra}"
        f"<pre>{html.escape(notice.preview)}</pre>{link}</body></html>",
        subtype="html",
    )
    return message


# --------------------------------------------------------------------------- webhook


def webhook_event(notice: Notice) -> dict[str, Any]:
    return {
        "type": f"jiragate.approval.{notice.event.split('-')[0]}",
        "event": notice.event,
        "action_id": notice.action_id,
        "status": notice.status,
        "headline": notice.headline,
        "summary": notice.summary,
        "facts": dict(notice.facts()),
        "reason": notice.reason,
        "justification": notice.justification,
        "decided_by": list(notice.decided_by),
        "inbox_url": notice.inbox_url,
    }

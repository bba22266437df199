"""The inbox pages: sign-in, the queue, one action (preview, edit, decide), and history.

Every page needs a signed-in reviewer (else: the sign-in page); every POST needs the
session's CSRF token (else: 403). A reviewer sees only actions routed to their review
groups: anything else is a 404, so the inbox does not even confirm that it exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from jiragate.catalog import ActionKind, ActionRequest, describe_edit, get_spec
from jiragate.errors import ApprovalError, DecisionRefusedError, JiragateError
from jiragate.gateway import Gateway
from jiragate.gateway.records import (
    ActionRecord,
    ActionStatus,
    AuditNote,
    Throttled,
    decision_summary,
)
from jiragate.web.analytics import LIMIT as ANALYTICS_LIMIT
from jiragate.web.analytics import group_stats
from jiragate.web.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SIGNIN_TOKEN_MAX_AGE,
    Session,
    check_password,
    csrf_ok,
    may_sign_in,
)
from jiragate.web.forms import (
    TICKET_KEEP,
    TICKETS_SHOWN,
    EditField,
    editable_fields,
    read_form,
    read_tickets,
    ticket_input,
)
from jiragate.web.previews import Preview, build_preview, display_value, label_for
from jiragate.web.queue import (
    DECIDED,
    SORTS,
    STATUS_BADGES,
    QueueQuery,
    action_title,
    apply_query,
    duration,
    fingerprint,
    row_of,
)

log = logging.getLogger("jiragate.web")

MAX_NOTE = 4000
MAX_NAME = 200
MAX_PASSWORD = 1024
POLL_SECONDS = 5
EVENT_LABELS = {
    "action.submitted": "Submitted by the agent",
    "approval.opened": "Sent for review",
    "approval.vote": "Reviewer voted",
    "approval.approved": "Approved",
    "approval.rejected": "Rejected",
    "approval.refused": "Decision refused",
    "approval.resubmitted": "Sent for review again",
    "approval.backend_error": "Approval service error",
    "action.claimed": "Picked up for execution",
    "action.executed": "Executed in Jira",
    "action.partially_executed": "Partly executed in Jira",
    "action.failed": "Failed in Jira",
    "action.retry_scheduled": "Retry scheduled",
    "action.expired": "Expired without a decision",
    "action.handed_to_worker": "Handed to a worker",
}

# Event data shown elsewhere on the page (or only useful to operators): kept off the timeline.
_TIMELINE_NOISE = {
    "action",
    "decision",
    "policy_revision",
    "reasons",
    "review_group",
    "backend",
    "min_approvals",
    "worker",
    "retryable",
    "expires_at",
}


class CsrfError(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403,
            "The form's security token is missing or out of date. "
            "Go back, reload the page and try again.",
        )


def _now(gateway: Gateway) -> datetime:
    return gateway.now()


def _safe_next(value: str | None) -> str:
    """Only local inbox paths: never an open redirect to another site."""
    if value and value.startswith("/inbox/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/inbox/"


def build_router(context: Any) -> APIRouter:  # context: InboxContext (import cycle otherwise)
    router = APIRouter()

    # ------------------------------------------------------------------ session plumbing

    def signed_in_session(request: Request) -> Session | None:
        """The reviewer's live server-side session, if the cookie names one."""
        session_id = context.codec.load_session_id(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        reviewer = context.auth.session_reviewer(session_id, context.session_limits)
        if reviewer is None:
            return None  # signed out, idle too long, too old, or never issued here
        if not may_sign_in(context.settings, reviewer):
            context.auth.close_session(session_id)  # the account lost its password or left
            return None
        return Session(reviewer, context.codec.csrf_for(session_id), session_id)

    def visitor_session(request: Request) -> tuple[Session, bool]:
        """The not-yet-signed-in visitor, and whether that is new (then set its cookie)."""
        visitor = context.codec.load_visitor(request.cookies.get(SIGNIN_COOKIE))
        if visitor is None:
            return context.codec.new_visitor(), True
        return visitor, False

    def load_session(request: Request) -> tuple[Session, bool]:
        """The visitor's session and whether it is new (then it must be sent as a cookie)."""
        signed_in = signed_in_session(request)
        return (signed_in, False) if signed_in is not None else visitor_session(request)

    def cookie_options() -> dict[str, Any]:
        # Strict: no other site can make a browser send these, not even on a link click.
        return {
            "path": "/inbox",
            "httponly": True,
            "samesite": "strict",
            "secure": context.secure_cookies,
        }

    def with_cookie(response: Response, session: Session) -> Response:
        """Send a new visitor's sign-in cookie (a signed-in session's is set at sign-in)."""
        if session.session_id is None:
            response.set_cookie(
                SIGNIN_COOKIE,
                context.codec.dump_visitor(session),
                max_age=SIGNIN_TOKEN_MAX_AGE,
                **cookie_options(),
            )
        return response

    def page(
        template: str, session: Session, fresh: bool, status: int = 200, **values: Any
    ) -> Response:
        response = context.render(
            template,
            status=status,
            user=session.reviewer,
            csrf_token=session.csrf,
            csrf_field=CSRF_FIELD,
            **values,
        )
        return with_cookie(response, session) if fresh else response

    def to_signin(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/inbox/signin?{urlencode({'next': target})}", status_code=303)

    async def checked_form(request: Request, session: Session) -> FormData:
        form = await request.form()
        if not csrf_ok(session, form.get(CSRF_FIELD)):
            await run_in_threadpool(
                context.gateway.note_event,
                action_id=None,
                actor=session.reviewer or "anonymous",
                type="inbox.csrf_refused",
                data={"path": request.url.path},
            )
            raise CsrfError()
        return form

    def visible_record(action_id: str, reviewer: str) -> ActionRecord:
        gateway = context.gateway
        record = gateway.get_action(action_id)
        if record is None or not gateway.may_review(reviewer, record):
            raise HTTPException(404, f"No action {action_id} is waiting in your review groups.")
        return record

    # ------------------------------------------------------------------ sign-in

    @router.get("/signin")
    def signin_page(request: Request, next: str | None = None) -> Response:
        session, fresh = load_session(request)
        if session.signed_in:
            return RedirectResponse(_safe_next(next), status_code=303)
        return page(
            "signin.html",
            session,
            fresh,
            next=_safe_next(next),
            name="",
            error="",
            signed_out="signed_out" in request.query_params,
        )

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        # The form was made for a visitor: its token is the sign-in cookie's, even when this
        # browser is also signed in (another tab), whose session the new one then replaces.
        visitor, fresh = visitor_session(request)
        form = await checked_form(request, visitor)
        name = str(form.get("name", "")).strip()[:MAX_NAME]
        password = str(form.get("password", ""))[:MAX_PASSWORD]
        target = _safe_next(str(form.get("next", "")))
        client = request.client.host if request.client else "unknown"

        def refused(status: int, error: str) -> Response:
            return page(
                "signin.html",
                visitor,
                fresh,
                status=status,
                next=target,
                name=name,
                error=error,
                signed_out=False,
            )

        # Counted before the password is checked, for any name, known or not: the limit
        # holds against concurrent guesses, and a refusal says nothing about which names exist.
        keys = {"account": f"account:{name}", "client": f"client:{client}"}
        attempt = await run_in_threadpool(
            context.auth.begin_attempt,
            list(keys.values()),
            context.throttle_rule,
            throttled_note=lambda throttled: AuditNote(
                actor="anonymous",
                type="inbox.signin_throttled",
                data={
                    "name": name,
                    "client": client,
                    "throttled": sorted(k for k, v in keys.items() if v in throttled.keys),
                    "retry_after": throttled.retry_after,
                },
            ),
        )
        if isinstance(attempt, Throttled):
            minutes = max(1, -(-attempt.retry_after // 60))
            response = refused(
                429,
                "Too many failed sign-ins for this name or from this address. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            )
            response.headers["retry-after"] = str(attempt.retry_after)
            return response
        # argon2id is deliberately slow, memory-hard work: off the event loop, a few at once.
        async with context.password_checks:
            ok, reason = await run_in_threadpool(check_password, context.settings, name, password)
        gateway = context.gateway
        if not ok:
            await run_in_threadpool(
                gateway.note_event,
                action_id=None,
                actor="anonymous",
                type="inbox.signin_failed",
                data={"name": name, "reason": reason, "client": client},
            )
            return refused(401, "That name and password do not match a reviewer with inbox access.")
        await run_in_threadpool(
            context.auth.end_attempt, attempt, succeeded=True, forget=[keys["account"]]
        )
        previous = await run_in_threadpool(signed_in_session, request)
        session_id = await run_in_threadpool(
            context.auth.open_session,
            name,
            context.session_limits,
            replacing=previous.session_id if previous else None,
            audit_note=AuditNote(actor=name, type="inbox.signin", data={"reviewer": name}),
        )
        # A new session id and so a new CSRF token: nothing from before sign-in carries over.
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            context.codec.dump_session_id(session_id),
            max_age=int(context.settings.inbox_session_max_seconds),
            **cookie_options(),
        )
        response.delete_cookie(SIGNIN_COOKIE, **cookie_options())
        return response

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        session, _ = await run_in_threadpool(load_session, request)
        await checked_form(request, session)
        reviewer = session.reviewer
        if session.session_id is not None and reviewer is not None:
            # Deleted server-side: the cookie, wherever a copy of it is, signs nobody in now.
            note = AuditNote(actor=reviewer, type="inbox.signout", data={"reviewer": reviewer})
            await run_in_threadpool(context.auth.close_session, session.session_id, audit_note=note)
        response = RedirectResponse("/inbox/signin?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, **cookie_options())
        return response

    # ------------------------------------------------------------------ the queue

    def queue_rows(reviewer: str, query: QueueQuery) -> tuple[list[Any], list[Any], list[str]]:
        gateway = context.gateway
        groups = gateway.reviewer_groups(reviewer)
        now = _now(gateway)
        everything = [row_of(r, now) for r in gateway.review_queue(reviewer, limit=500)]
        return everything, apply_query(everything, query), groups

    @router.get("/")
    def queue(request: Request) -> Response:
        session, fresh = load_session(request)
        if not session.signed_in:
            return to_signin(request)
        assert session.reviewer is not None
        query = QueueQuery.parse(request.query_params)
        everything, rows, groups = queue_rows(session.reviewer, query)
        return page(
            "queue.html",
            session,
            fresh,
            rows=rows,
            total=len(everything),
            groups=groups,
            actions=sorted({r.action for r in everything}),
            projects=sorted({r.project for r in everything if r.project}),
            query=query,
            sorts=SORTS,
            action_title=action_title,
            fingerprint=fingerprint(rows),
            poll_url="/inbox/queue.json?" + urlencode(query.params()),
            sort_url=lambda sort: "/inbox/?" + urlencode(query.params(sort=sort)),
            self_url="/inbox/?" + urlencode(query.params()),
            poll_seconds=POLL_SECONDS,
            nav="queue",
        )

    @router.get("/queue.json")
    def queue_state(request: Request) -> Response:
        session, _ = load_session(request)
        if not session.signed_in or session.reviewer is None:
            return JSONResponse({"error": "unauthorized", "message": "sign in"}, 401)
        query = QueueQuery.parse(request.query_params)
        everything, rows, _ = queue_rows(session.reviewer, query)
        return JSONResponse(
            {"fingerprint": fingerprint(rows), "count": len(rows), "total": len(everything)}
        )

    # ------------------------------------------------------------------ history

    @router.get("/history")
    def history(request: Request) -> Response:
        session, fresh = load_session(request)
        if not session.signed_in or session.reviewer is None:
            return to_signin(request)
        gateway = context.gateway
        groups = gateway.reviewer_groups(session.reviewer)
        now = _now(gateway)
        decided = (
            gateway.list_actions(status=DECIDED, group=groups, limit=200).items if groups else []
        )
        ordered = sorted(decided, key=lambda r: (r.decided_at or r.updated_at, r.id), reverse=True)
        return page(
            "history.html",
            session,
            fresh,
            rows=[row_of(r, now) for r in ordered[:200]],
            groups=groups,
            nav="history",
        )

    # ------------------------------------------------------------------ analytics

    @router.get("/analytics")
    def analytics(request: Request) -> Response:
        session, fresh = load_session(request)
        if not session.signed_in or session.reviewer is None:
            return to_signin(request)
        gateway = context.gateway
        groups = gateway.reviewer_groups(session.reviewer)
        chosen = request.query_params.get("group", "")
        shown = [chosen] if chosen in groups else groups
        stats = []
        for group in shown:
            records, truncated = _group_records(gateway, group)
            stats.append(group_stats(group, records, truncated=truncated))
        return page(
            "analytics.html",
            session,
            fresh,
            stats=stats,
            groups=groups,
            chosen=chosen if chosen in groups else "",
            nav="analytics",
        )

    # ------------------------------------------------------------------ one action

    @router.get("/actions/{action_id}")
    async def detail(request: Request, action_id: str) -> Response:
        session, fresh = await run_in_threadpool(load_session, request)
        if not session.signed_in or session.reviewer is None:
            return to_signin(request)
        record = await run_in_threadpool(visible_record, action_id, session.reviewer)
        fields = editable_fields(record.action, record.details, context.gateway.priority_order())
        done = request.query_params.get("done", "")
        values = await detail_values(record, session.reviewer, fields, {}, note="")
        return page(
            "detail.html",
            session,
            fresh,
            done=done if done in ("approved", "rejected", "voted") else "",
            **values,
        )

    @router.get("/actions/{action_id}/status.json")
    def detail_status(request: Request, action_id: str) -> Response:
        session, _ = load_session(request)
        if not session.signed_in or session.reviewer is None:
            return JSONResponse({"error": "unauthorized", "message": "sign in"}, 401)
        record = visible_record(action_id, session.reviewer)
        label, _ = STATUS_BADGES.get(record.status, (record.status.value, ""))
        return JSONResponse({"status": record.status.value, "label": label})

    @router.post("/actions/{action_id}")
    async def decide(request: Request, action_id: str) -> Response:
        session, fresh = await run_in_threadpool(load_session, request)
        if not session.signed_in or session.reviewer is None:
            return to_signin(request)
        reviewer = session.reviewer
        form = await checked_form(request, session)
        record = await run_in_threadpool(visible_record, action_id, reviewer)
        intent = str(form.get("intent", "preview"))
        note = str(form.get("note", ""))[:MAX_NOTE]
        fields = editable_fields(record.action, record.details, context.gateway.priority_order())
        gateway = context.gateway

        patch: dict[str, Any] = {}

        async def again(status: int, **extra: Any) -> Response:
            """The same page again, with everything the reviewer typed kept."""
            current = await run_in_threadpool(gateway.get_record, record.id)
            values = await detail_values(current, reviewer, fields, patch, note, **extra)
            return page("detail.html", session, fresh, status=status, done="", **values)

        if intent == "reject":
            try:
                # decide() is synchronous database work: off the event loop, like sync routes.
                await run_in_threadpool(
                    gateway.decide,
                    record.id,
                    reviewer=reviewer,
                    verdict="reject",
                    note=note or None,
                )
            except DecisionRefusedError as exc:
                return await again(409, refusal=str(exc))
            except ApprovalError as exc:
                raise HTTPException(404, str(exc)) from exc
            return RedirectResponse(f"/inbox/actions/{record.id}?done=rejected", 303)

        patch = read_form(fields, form, form.getlist)
        tickets, ticket_error = read_tickets(record.details, form, form.getlist)
        if tickets is not None:
            patch["tickets"] = tickets
            patch["issueCount"] = len(tickets)
        if ticket_error:
            return await again(422, refusal=ticket_error)
        if any(f.error for f in fields):
            return await again(422, refusal="Fix the highlighted fields first.")
        if intent not in ("approve", "confirm"):
            return await again(200, previewed=True)
        effective: Mapping[str, Any] = record.details
        if patch:
            try:
                effective = gateway.check_edit(record, patch)
            except DecisionRefusedError as exc:
                return await again(409, refusal=str(exc))
        digest = _digest(effective)
        # An edited or destructive approval shows what will run and asks once: the reviewer
        # confirms *this* payload (its digest), so a changed form asks again, and neither
        # Enter nor a stray click on Approve runs an edit nobody looked at.
        if _needs_confirmation(record, patch) and not (
            intent == "confirm" and form.get("confirm-for") == digest
        ):
            return await again(200, previewed=True, confirm=digest)
        try:
            outcome = await run_in_threadpool(
                gateway.decide,
                record.id,
                reviewer=reviewer,
                verdict="approve",
                modified_details=patch or None,
                note=note or None,
                # The snapshot this page showed: approving an older one is refused as stale.
                snapshot=str(form.get("snapshot") or "") or None,
            )
        except DecisionRefusedError as exc:
            return await again(409, refusal=str(exc))
        except ApprovalError as exc:
            raise HTTPException(404, str(exc)) from exc
        done = "approved" if outcome.decided else "voted"
        return RedirectResponse(f"/inbox/actions/{record.id}?done={done}", 303)

    async def detail_values(
        record: ActionRecord,
        reviewer: str,
        fields: list[EditField],
        patch: Mapping[str, Any],
        note: str,
        *,
        refusal: str = "",
        previewed: bool = False,
        confirm: str = "",
    ) -> dict[str, Any]:
        gateway = context.gateway
        pending = record.status is ActionStatus.PENDING_APPROVAL
        effective: Mapping[str, Any] = record.effective_details or record.details
        if pending:
            effective = record.details
            if patch and not refusal:
                try:
                    effective = gateway.check_edit(record, patch)
                except DecisionRefusedError as exc:
                    refusal = str(exc)
        preview = await build_preview(
            gateway,
            record,
            effective,
            live=pending,
            timeout=context.settings.inbox_preview_timeout,
        )
        # The rest reads the store (votes, neighbours, the timeline): off the event loop.
        return await run_in_threadpool(
            page_values,
            record,
            reviewer,
            fields,
            patch,
            note,
            effective,
            preview,
            refusal,
            previewed,
            confirm,
        )

    def page_values(
        record: ActionRecord,
        reviewer: str,
        fields: list[EditField],
        patch: Mapping[str, Any],
        note: str,
        effective: Mapping[str, Any],
        preview: Preview,
        refusal: str,
        previewed: bool,
        confirm: str,
    ) -> dict[str, Any]:
        gateway = context.gateway
        pending = record.status is ActionStatus.PENDING_APPROVAL
        now = _now(gateway)
        votes = gateway.votes(record.id)
        neighbours = _neighbours(gateway, record, reviewer) if pending else (None, None)
        return {
            "record": record,
            "row": row_of(record, now),
            "pending": pending,
            "may_decide": pending
            and reviewer != record.agent
            and all(v.reviewer != reviewer for v in votes),
            "preview": preview,
            "fields": fields,
            "patch": dict(patch),
            "effective_json": json.dumps(effective, indent=2, ensure_ascii=False),
            "details_json": json.dumps(record.details, indent=2, ensure_ascii=False),
            "result_json": json.dumps(record.result_json, indent=2, ensure_ascii=False)
            if record.result_json
            else "",
            "refusal": refusal,
            "previewed": previewed,
            "confirm": confirm,
            "edit_words": describe_edit(record.action, record.details, effective),
            "destructive": get_spec(record.action).kind is ActionKind.DESTRUCTIVE,
            "ticket_form": pending and isinstance(record.details.get("tickets"), list),
            "ticket_input": ticket_input,
            "ticket_keep": TICKET_KEEP,
            "tickets_shown": TICKETS_SHOWN,
            "previous_url": neighbours[0],
            "next_url": neighbours[1],
            "decision_words": decision_summary(record),
            "note": note,
            "votes": votes,
            "explanation": _explanation(gateway, record),
            "timeline": _timeline(gateway, record, now),
            "facts": [(label_for(k), display_value(v)) for k, v in record.details.items()],
            "status_poll": record.status in (ActionStatus.APPROVED, ActionStatus.EXECUTING),
            "nav": "queue" if pending else "history",
            "snapshot": (record.binding or {}).get("snapshot"),
            "changed": (record.binding or {}).get("changed") if pending else None,
        }

    return router


def _group_records(gateway: Gateway, group: str) -> tuple[list[ActionRecord], bool]:
    """The group's most recent actions (up to analytics.LIMIT), and whether there are more."""
    records: list[ActionRecord] = []
    cursor: str | None = None
    while len(records) < ANALYTICS_LIMIT:
        page = gateway.list_actions(group=group, limit=500, cursor=cursor)
        records += page.items
        cursor = page.next_cursor
        if cursor is None:
            return records, False
    return records[:ANALYTICS_LIMIT], True


def _digest(effective: Mapping[str, Any]) -> str:
    text = json.dumps(effective, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _needs_confirmation(record: ActionRecord, patch: Mapping[str, Any]) -> bool:
    return bool(patch) or get_spec(record.action).kind is ActionKind.DESTRUCTIVE


def _neighbours(
    gateway: Gateway, record: ActionRecord, reviewer: str
) -> tuple[str | None, str | None]:
    """The previous and next waiting actions in the reviewer's queue (oldest first), for the
    j/k keys and the links beside them."""
    waiting = gateway.review_queue(reviewer, limit=500)
    ids = [r.id for r in sorted(waiting, key=lambda r: (r.created_at, r.id))]
    if record.id not in ids:
        return None, None
    at = ids.index(record.id)
    link = "/inbox/actions/{}".format
    return (
        link(ids[at - 1]) if at > 0 else None,
        link(ids[at + 1]) if at + 1 < len(ids) else None,
    )


def _explanation(gateway: Gateway, record: ActionRecord) -> dict[str, Any]:
    """The stored decision, plus why each rule of the running policy did or did not match."""
    stored: Mapping[str, Any] = record.decision_json or {}
    rules: list[dict[str, Any]] = []
    current = gateway.current_policies
    try:
        decision = current.evaluate(
            ActionRequest(record.action, record.summary, record.details, record.justification),
            agent=record.agent,
            explain=True,
        )
        rules = [e.as_dict() for e in decision.explanations or ()]
    except JiragateError as exc:  # the running policy cannot judge it any more
        log.warning("inbox: cannot explain %s: %s", record.id, exc)
    return {
        "decision": stored.get("decision", record.decision),
        "rule": record.determining_rule or "the policy defaults",
        "group": record.review_group,
        "reasons": list(stored.get("reasons") or []),
        "matched": list(stored.get("matched_rules") or []),
        "revision": record.policy_revision,
        "current_revision": current.revision,
        "rules": rules,
    }


def _actor_label(record: ActionRecord, actor: str) -> str:
    """Who did it, as a person reads it: the agent, a reviewer by name, or Jiragate itself
    (its workers are named host:pid:random, which means nothing to a reviewer)."""
    if actor == record.agent:
        return f"{actor} (agent)"
    if actor in ("gateway", "system") or actor.count(":") >= 2:
        return "Jiragate"
    return actor


def _event_label(event_type: str) -> str:
    if event_type in EVENT_LABELS:
        return EVENT_LABELS[event_type]
    # An event type without a label reads as words, never as "approval.modified_details".
    return label_for(event_type.rsplit(".", 1)[-1])


def _timeline(gateway: Gateway, record: ActionRecord, now: datetime) -> list[dict[str, Any]]:
    events = gateway.audit_events(action_id=record.id, limit=500)
    return [
        {
            "at": event.at,
            "ago": duration((now - event.at).total_seconds()),
            "actor": _actor_label(record, event.actor),
            "type": event.type,
            "label": _event_label(event.type),
            "data": [
                (label_for(k), display_value(v))
                for k, v in (event.data or {}).items()
                if v not in (None, [], {}, "") and k not in _TIMELINE_NOISE
            ],
        }
        for event in events
    ]

"""A small Cheqpoint server that follows the public protocol, for tests over real HTTP.

`create_fake_cheqpoint()` returns the FastAPI app and its state; serve the app with
`tests.helpers.servers.serve_app`. Tests decide requests with `state.decide(...)`, make Cheqpoint
auto-decide an action with `state.auto_decide[action] = ...`, and inject faults: the next
answers can be slow (`slow_next`), fail with a status (`fail_next`), or be malformed JSON
(`malformed_next`).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

MAX_WAIT_MS = 10_000


@dataclass
class Fault:
    kind: str  # "status", "slow" or "malformed"
    status: int = 503
    seconds: float = 0.0


@dataclass
class FakeCheqpoint:
    connection_key: str
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: action name -> (status, modifiedDetails, decisionNote): decided on arrival by a "Rule".
    auto_decide: dict[str, tuple[str, dict[str, Any] | None, str | None]] = field(
        default_factory=dict
    )
    #: Every call as (method, path, headers, JSON body or None).
    calls: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ----------------------------------------------------------------- test controls

    def fail_next(self, status: int = 503, count: int = 1) -> None:
        with self.lock:
            self.faults.extend(Fault("status", status=status) for _ in range(count))

    def slow_next(self, seconds: float, count: int = 1) -> None:
        with self.lock:
            self.faults.extend(Fault("slow", seconds=seconds) for _ in range(count))

    def malformed_next(self, count: int = 1) -> None:
        with self.lock:
            self.faults.extend(Fault("malformed") for _ in range(count))

    def decide(
        self,
        request_id: str,
        status: str,
        *,
        modified_details: dict[str, Any] | None = None,
        decision_note: str | None = None,
        response_notes: str | None = None,
        reason_code: str | None = None,
        retryable: bool = False,
        auto_rule: str | None = None,
    ) -> None:
        if status not in ("APPROVED", "REJECTED"):
            raise ValueError(f"a decision is APPROVED or REJECTED, not {status!r}")
        with self.lock:
            record = self.requests[request_id]
            record.update(
                status=status,
                modifiedDetails=modified_details,
                decisionNote=decision_note,
                responseNotes=response_notes,
                decisionReasonCode=reason_code,
                retryable=retryable,
                autoDecided=auto_rule is not None,
                autoDecisionRuleName=auto_rule,
                decidedAt=datetime.now(UTC).isoformat(),
            )

    def only_request_id(self) -> str:
        with self.lock:
            [request_id] = self.requests
        return request_id

    # ----------------------------------------------------------------- internals

    def _new_request(self, body: dict[str, Any]) -> str:
        request_id = f"cq_{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.requests[request_id] = {
                "id": request_id,
                "status": "PENDING",
                "action": body["action"],
                "summary": body["summary"],
                "details": body["details"],
                "justification": body.get("justification"),
                "riskScore": body.get("riskScore"),
                "webhookUrl": body.get("webhookUrl") or body.get("callbackUrl"),
                "trace": body.get("trace"),
                "modifiedDetails": None,
                "responseNotes": None,
                "decisionReasonCode": None,
                "decisionNote": None,
                "autoDecided": False,
                "autoDecisionRuleName": None,
                "decidedAt": None,
                "retryable": False,
            }
        rule = self.auto_decide.get(body["action"])
        if rule is not None:
            status, modified, note = rule
            self.decide(
                request_id,
                status,
                modified_details=modified,
                decision_note=note,
                auto_rule=f"auto {body['action']}",
            )
        return request_id

    def _public(self, request_id: str) -> dict[str, Any]:
        with self.lock:
            record = dict(self.requests[request_id])
        for private in ("action", "summary", "justification", "riskScore", "webhookUrl", "trace"):
            record.pop(private, None)
        return record

    def _take_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validate(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key in ("action", "summary"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"{key} is required"
    if not isinstance(body.get("details"), dict):
        return "details must be an object"
    risk = body.get("riskScore")
    if risk is not None and (not isinstance(risk, int | float) or not 0 <= risk <= 1):
        return "riskScore must be between 0 and 1"
    return None


def create_fake_cheqpoint(connection_key: str = "cq_test_key") -> tuple[FastAPI, FakeCheqpoint]:
    state = FakeCheqpoint(connection_key=connection_key)
    app = FastAPI()

    @app.middleware("http")
    async def faults_and_auth(request: Request, call_next: Any) -> Response:
        raw = await request.body()
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = None
        with state.lock:
            state.calls.append((request.method, request.url.path, dict(request.headers), body))
        fault = state._take_fault()
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        elif fault is not None and fault.kind == "status":
            return _error(fault.status, "injected failure")
        elif fault is not None and fault.kind == "malformed":
            return Response("{not json", media_type="application/json")
        if request.headers.get("x-api-key") != state.connection_key:
            return _error(401, "Invalid API key")
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/api/approvals/request")
    async def create_request(request: Request) -> Response:
        body = await request.json()
        problem = _validate(body)
        if problem:
            return _error(400, problem)
        if body.get("apiKey") != state.connection_key:
            return _error(401, "Invalid API key")
        return JSONResponse({"id": state._new_request(body), "status": "PENDING"})

    @app.get("/api/approvals/{request_id}")
    async def get_request(request_id: str) -> Response:
        if request_id not in state.requests:
            return _error(404, "Approval request not found")
        return JSONResponse(state._public(request_id))

    @app.post("/api/webhooks/inbound")
    async def inbound(request: Request) -> Response:
        body = await request.json()
        problem = _validate(body)
        if problem:
            return _error(400, problem)
        request_id = state._new_request(body)
        wait_ms = min(int(body.get("maxWaitMs") or 0), MAX_WAIT_MS)
        deadline = asyncio.get_running_loop().time() + wait_ms / 1000
        while True:
            record = state._public(request_id)
            if record["status"] != "PENDING" or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.01)
        return JSONResponse(
            {
                "status": record["status"].lower(),
                "approvalId": request_id,
                "modifiedDetails": record["modifiedDetails"],
                "decisionNote": record["decisionNote"],
                "reviewUrl": f"http://127.0.0.1/review/{request_id}",
            }
        )

    return app, state

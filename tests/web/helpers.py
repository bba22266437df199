"""Signing in to the inbox over real HTTP, and reading what the pages say."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

import httpx

from jiragate.passwords import hash_password
from tests.helpers.service import KEYS, Service

PASSWORDS = {
    "lead-alice": "alice-inbox-password-1",
    "lead-bob": "bob-inbox-password-2",
    "pm-carol": "carol-inbox-password-3",
}
SESSION_SECRET = "inbox-test-session-secret-0001"
SEED_NOTE = "Approving 4 tickets as Medium priority. Review full list before adding more."


@functools.cache
def password_hash(password: str) -> str:
    """The service's argon2id hash of `password`, made once per test process (~0.1 s each)."""
    return hash_password(password)


def reviewer_accounts() -> list[dict[str, Any]]:
    """The harness's reviewers, with inbox passwords (pm-dave has none: no web sign-in)."""
    accounts: list[dict[str, Any]] = [
        {"name": name, "api_key": KEYS[name], "password_hash": password_hash(PASSWORDS[name])}
        for name in PASSWORDS
    ]
    accounts.append({"name": "pm-dave", "api_key": KEYS["pm-dave"]})
    accounts.append({"name": "auditor", "api_key": KEYS["auditor"], "admin": True})
    return accounts


def inbox_overrides() -> dict[str, Any]:
    return {"reviewers": reviewer_accounts(), "session_secret": SESSION_SECRET}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


class Browserless:
    """A reviewer's cookie jar over httpx: what a browser without JavaScript would do."""

    def __init__(self, service: Service, *, address: str | None = None) -> None:
        """`address`: connect from this loopback address (127.0.0.2, …), so the service sees
        another client, as a browser on another machine would be."""
        self.service = service
        transport = httpx.HTTPTransport(local_address=address) if address else None
        self.http = httpx.Client(
            base_url=service.url, follow_redirects=False, timeout=30, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def signin(self, name: str, password: str | None = None) -> httpx.Response:
        form = self.http.get("/inbox/signin")
        assert form.status_code == 200, form.text
        return self.http.post(
            "/inbox/signin",
            data={
                "csrf_token": csrf_of(form.text),
                "name": name,
                "password": password if password is not None else PASSWORDS[name],
                "next": "/inbox/",
            },
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def decide(self, action_id: str, **fields: Any) -> httpx.Response:
        """POST the decision form with the page's CSRF token and the given fields."""
        page = self.http.get(f"/inbox/actions/{action_id}")
        assert page.status_code == 200, page.text
        data: dict[str, Any] = {"csrf_token": csrf_of(page.text), **fields}
        return self.http.post(f"/inbox/actions/{action_id}", data=data)


_CONFIRM = re.compile(r'name="confirm-for" value="([^"]+)"')


def confirm_token_of(page: str) -> str | None:
    """The digest of the payload a confirmation panel asks about (None: no panel)."""
    found = _CONFIRM.search(page)
    return found.group(1) if found else None


def approve_confirmed(reviewer: Browserless, action_id: str, **fields: Any) -> httpx.Response:
    """Approve as a reviewer does: Approve, read what will run, confirm it (one round)."""
    asked = reviewer.decide(action_id, intent="approve", **fields)
    assert asked.status_code == 200, asked.text
    token = confirm_token_of(asked.text)
    assert token, "an edited or destructive approval must ask to confirm"
    data = {"csrf_token": csrf_of(asked.text), **fields, "intent": "confirm", "confirm-for": token}
    return reviewer.http.post(f"/inbox/actions/{action_id}", data=data)


def submit(service: Service, envelope: dict[str, Any]) -> str:
    response = service.agent.post("/v1/actions", json=envelope)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending_approval", response.json()
    return str(response.json()["id"])

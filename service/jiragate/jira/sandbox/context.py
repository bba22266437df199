"""Per-request helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from jiragate.jira.sandbox.state import SandboxState, User

# A Data Center personal access token carries no login in the request; the sandbox treats
# every bearer call as this user (documented in docs/jira-sandbox.md).
PAT_USER = "alice"


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def flavour_of(request: Request) -> str:
    """ "dc" for /rest/api/2 (Data Center: plain text, usernames), else "cloud"."""
    return "dc" if request.url.path.startswith("/rest/api/2/") else "cloud"


def body_of(request: Request) -> Any:
    """The JSON body the middleware already decoded (None when there was none)."""
    return request.scope.get("sandbox.body")


def current_user(request: Request) -> User | None:
    """The account the call acts as: the Basic login's (created on first use), or `alice`
    for a bearer PAT."""
    state = state_of(request)
    login = request.scope.get("sandbox.login")
    if login:
        return state.account_for_login(str(login))
    return state.find_user(name=PAT_USER)


def query_values(request: Request, name: str) -> list[str]:
    return request.query_params.getlist(name)


def as_int(text: str | None, default: int) -> int | None:
    """The integer in `text`, `default` when absent, None when it is not an integer."""
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        return None

"""A running Jiragate whose Jira client gives up quickly, for the Jira fault tests.

`running_service` serves the sandbox itself, but the Jira settings (a short `timeout`, a
bounded `max_retries`) need the sandbox's URL up front; so the sandbox state is served here
first and handed to `running_service`, which serves the same state again (faults and issues
are shared between the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, Service, running_service


@contextmanager
def running_service_with_jira_timeout(
    db_url: str, *, jira_timeout: float, max_retries: int, execution_retry_seconds: float
) -> Iterator[Service]:
    """A service on `db_url` whose Jira calls time out after `jira_timeout` seconds, are
    retried at most `max_retries` times, and whose unknown outcomes are retried after
    `execution_retry_seconds`."""
    state = SandboxState()
    with serve_app(create_sandbox_app(state)) as jira_url:
        jira = {
            "url": jira_url,
            "flavour": "cloud",
            "email": JIRA_EMAIL,
            "api_token": JIRA_TOKEN,
            "board_id": 1,
            "timeout": jira_timeout,
            "max_retries": max_retries,
        }
        with running_service(
            db_url,
            sandbox_state=state,
            jira=jira,
            execution_retry_seconds=execution_retry_seconds,
        ) as running:
            yield running

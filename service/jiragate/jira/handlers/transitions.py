"""Moving issues through their workflow to a target status, matched exactly by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiragate.errors import TransitionUnavailableError
from jiragate.jira.handlers.base import ActionCall, each, handles

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


async def status_name(jira: JiraAdapter, key: str) -> str:
    issue = await jira.client.get(jira.api(f"/issue/{key}"), query={"fields": "status"})
    return str(((issue or {}).get("fields") or {}).get("status", {}).get("name", ""))


@handles("jira_transition_issues")
async def transition_issues(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    # Status names are matched exactly, as the policy compared them: a case-insensitive
    # match would let "done" through a rule written for "Done".
    target = details["targetStatus"]
    already: list[str] = []

    async def transition(key: str) -> bool:
        if await status_name(jira, key) == target:
            already.append(key)
            return False
        transitions = await jira.get_transitions(key)
        chosen = next(
            (t for t in transitions if str(t["to"]["name"]) == target),
            None,
        )
        if chosen is None:
            raise TransitionUnavailableError(
                key, target, [str(t["to"]["name"]) for t in transitions]
            )
        body: dict[str, Any] = {"transition": {"id": chosen["id"]}}
        if details.get("resolution"):
            body["fields"] = {"resolution": {"name": details["resolution"]}}
        if details.get("comment"):
            body["update"] = {"comment": [{"add": {"body": jira.rich_text(details["comment"])}}]}

        async def recover() -> dict[str, Any] | None:
            done = await status_name(jira, key) == target
            return {} if done else None

        await jira.client.post(jira.api(f"/issue/{key}/transitions"), body, recover=recover)
        return True

    await each(details["issueKeys"], call.result, transition)
    call.result.data = {"alreadyInStatus": already} if already else None

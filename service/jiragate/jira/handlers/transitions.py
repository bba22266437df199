"""Moving issues through their workflow to a target status, matched exactly by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import TransitionFieldError, TransitionUnavailableError
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
    skipped: list[str] = []  # a resolution was given but the screen does not take it

    async def transition(key: str) -> bool:
        if await status_name(jira, key) == target:
            already.append(key)
            return False
        transitions = await jira.get_transitions(key, screens=True)
        chosen = next(
            (t for t in transitions if str(t["to"]["name"]) == target),
            None,
        )
        if chosen is None:
            raise TransitionUnavailableError(
                key, target, [str(t["to"]["name"]) for t in transitions]
            )
        body: dict[str, Any] = {"transition": {"id": chosen["id"]}}
        fields = screen_fields(key, chosen, details)
        if fields:
            body["fields"] = fields
        elif details.get("resolution"):
            skipped.append(key)
        if details.get("comment"):
            body["update"] = {"comment": [{"add": {"body": jira.rich_text(details["comment"])}}]}

        async def recover() -> dict[str, Any] | None:
            done = await status_name(jira, key) == target
            return {} if done else None

        await jira.client.post(jira.api(f"/issue/{key}/transitions"), body, recover=recover)
        return True

    await each(details["issueKeys"], call.result, transition)
    data: dict[str, Any] = {}
    if already:
        data["alreadyInStatus"] = already
    if skipped:
        data["resolutionNotOnScreen"] = skipped
    call.result.data = data or None


def screen_fields(
    key: str, chosen: Mapping[str, Any], details: Mapping[str, Any]
) -> dict[str, Any]:
    """The `fields` to send with a transition: only those its screen takes. Jira refuses a
    field that is not on the screen (a transition without a screen takes none), and a
    required one the action does not give is named before anything is sent."""
    screen: Mapping[str, Any] = chosen.get("fields") or {}
    if not chosen.get("hasScreen") and not screen:
        return {}
    fields: dict[str, Any] = {}
    if "resolution" in screen and details.get("resolution"):
        fields["resolution"] = {"name": details["resolution"]}
    for ident, meta in screen.items():
        if ident in fields or not meta.get("required") or meta.get("hasDefaultValue"):
            continue
        raise TransitionFieldError(
            key, str(chosen.get("name")), str(ident), meta.get("allowedValues") or ()
        )
    return fields

"""Budget usage: each budget of the running policy set, with what each agent and/or project
has used of it in its rolling window (counted from the recorded actions, as decisions count
it). An agent sees its own usage only; reviewers see everyone's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from jiragate.api.deps import GatewayDep, PrincipalDep
from jiragate.api.openapi import documented

router = APIRouter(prefix="/v1/budgets", tags=["policies"])


@router.get(
    "",
    summary="Budgets and their usage per agent and project",
    **documented(auth="any", errors=(401, 422, 503)),
)
def get_budgets(
    gateway: GatewayDep,
    who: PrincipalDep,
    agent: Annotated[str | None, Query(max_length=200, description="Only this agent")] = None,
    project: Annotated[
        str | None, Query(max_length=100, description="Only this project key")
    ] = None,
) -> dict[str, Any]:
    if who.is_agent:
        agent = who.name  # an agent's own usage, whatever it asks for
    return {
        "policy_revision": gateway.current_policies.revision,
        "at": gateway.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "budgets": gateway.budget_report(agent=agent, project=project),
    }

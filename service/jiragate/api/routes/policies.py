"""The running policy set: inspect it, reload it atomically for every process.

A reload loads and checks the files in this process (a thread-pool route: a large set takes
seconds to load and must not hold up the event loop), records the revision as the active one
in the database, and answers once this process runs it; the others follow within
`policy_poll_interval` plus their own load (see gateway.PolicyHolder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from jiragate.api.deps import AdminDep, GatewayDep, PrincipalDep
from jiragate.api.openapi import documented
from jiragate.errors import PolicyLoadError
from jiragate.policy.lint import lint

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get(
    "",
    summary="The running policy set: revision, groups, rules",
    **documented(auth="any", errors=(401, 503)),
)
def get_policies(gateway: GatewayDep, _who: PrincipalDep) -> dict[str, Any]:
    status = gateway.policy_status
    policies = status.policies
    return {
        "revision": policies.revision,
        "active_revision": status.active_revision,
        "in_sync": status.in_sync,
        "problem": status.problem,
        "files": [Path(f).name for f in policies.model.files],
        "groups": [
            {
                "name": g.name,
                "description": g.description,
                "members": list(g.members),
                "min_approvals": g.min_approvals,
                "approval_timeout_seconds": g.approval_timeout_seconds,
            }
            for g in policies.groups.values()
        ],
        "rules": [
            {
                "id": r.id,
                "description": r.description,
                "decision": r.decision.value,
                "route_to": r.route_to,
                "priority": r.priority,
                "reason": r.reason,
                "shadow": r.shadow,
                "location": f"{Path(r.location.file).name}:{r.location.line}",
            }
            for r in policies.rules
        ],
        "budgets": [
            {
                "name": b.name,
                "description": b.description,
                "actions": list(b.actions),
                "per": list(b.per),
                "counts": b.counts,
                "limit": b.limit,
                "window_seconds": b.window_seconds,
            }
            for b in policies.budgets.values()
        ],
        # Shadow rules' outcomes over this revision's recent decisions (all replicas').
        "shadow": gateway.shadow_report(),
        "defaults": {
            "write": policies.model.defaults.write.value,
            "destructive": policies.model.defaults.destructive.value,
            "route_to": policies.model.defaults.route_to,
        },
        "warnings": [issue.as_dict() for issue in lint(policies)],
    }


@router.post(
    "/reload",
    summary="Reload from disk; an invalid set is refused, the running one stays",
    **documented(
        auth="admin",
        errors=(401, 403, 422, 503),
        descriptions={
            422: "The files on disk are not a valid policy set (error invalid_policies, "
            "with running_revision and errors); the running set was kept"
        },
    ),
)
def reload_policies(gateway: GatewayDep, admin: AdminDep) -> JSONResponse:
    before = gateway.current_policies.revision
    try:
        fresh, previous = gateway.reload_policies(actor=admin.name)
    except PolicyLoadError as exc:  # audited by the gateway; the running set stays
        return JSONResponse(
            {
                "error": "invalid_policies",
                "message": "the new policy set is invalid; the running set was kept",
                "running_revision": before,
                "errors": [issue.as_dict() for issue in exc.issues],
            },
            status_code=422,
        )
    # `policy.reloaded` was audited in the transaction that made the revision active.
    return JSONResponse(
        {
            "revision": fresh.revision,
            "previous_revision": previous,
            "poll_interval_seconds": gateway.settings.policy_poll_interval,
        }
    )

"""Reviewer analytics per review group: how a group's approvals go, from its actions.

Computed on the records (the most recent `LIMIT` actions of the group, newest first), so
the page needs no extra tables: approval rate, median time to decide, how many expired
without a decision, how many approvals were edited, and the busiest agents.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from jiragate.catalog.rules import same
from jiragate.gateway.records import ActionRecord, ActionStatus
from jiragate.web.queue import duration

#: How many of a group's most recent actions the page looks at.
LIMIT = 2000
APPROVED = {
    ActionStatus.APPROVED,
    ActionStatus.EXECUTING,
    ActionStatus.EXECUTED,
    ActionStatus.PARTIALLY_EXECUTED,
    ActionStatus.FAILED,
}


@dataclass(slots=True)
class AgentLine:
    agent: str
    requests: int
    approved: int
    rejected: int
    expired: int


@dataclass(slots=True)
class GroupStats:
    group: str
    requests: int = 0
    pending: int = 0
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    expired: int = 0
    median_seconds: float | None = None
    agents: list[AgentLine] = field(default_factory=list)
    #: True when the group has more actions than the page looked at.
    truncated: bool = False

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def approval_rate(self) -> str:
        """ "75 %" of decided requests approved (expired ones are not decisions); "—" if none."""
        return f"{round(100 * self.approved / self.decided)} %" if self.decided else "—"

    @property
    def median_to_decide(self) -> str:
        return "—" if self.median_seconds is None else duration(self.median_seconds)


def group_stats(group: str, records: Iterable[ActionRecord], *, truncated: bool) -> GroupStats:
    stats = GroupStats(group=group, truncated=truncated)
    waits: list[float] = []
    per_agent: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {}
    for record in records:
        stats.requests += 1
        per_agent[record.agent] += 1
        tally = outcomes.setdefault(record.agent, Counter())
        status = record.status
        if status is ActionStatus.PENDING_APPROVAL:
            stats.pending += 1
        elif status is ActionStatus.EXPIRED:
            stats.expired += 1
            tally["expired"] += 1
        elif status is ActionStatus.REJECTED or status in APPROVED:
            if status is ActionStatus.REJECTED:
                stats.rejected += 1
                tally["rejected"] += 1
            else:
                stats.approved += 1
                tally["approved"] += 1
                edited = record.effective_details is not None
                if edited and not same(record.effective_details, record.details):
                    stats.edited += 1
            if record.decided_at is not None:
                waits.append(max(0.0, (record.decided_at - record.created_at).total_seconds()))
    stats.median_seconds = statistics.median(waits) if waits else None
    stats.agents = [
        AgentLine(
            agent,
            count,
            outcomes[agent]["approved"],
            outcomes[agent]["rejected"],
            outcomes[agent]["expired"],
        )
        for agent, count in sorted(per_agent.items(), key=lambda item: (-item[1], item[0]))[:5]
    ]
    return stats

"""The analytics page's numbers, from records built by hand: every status counted where it
belongs (expired is not a decision), the median over decided requests only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jiragate.gateway.records import ActionRecord, ActionStatus
from jiragate.web.analytics import group_stats

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def record(agent: str, status: ActionStatus, minutes: float | None, **extra) -> ActionRecord:
    return ActionRecord(
        agent=agent,
        action="jira_transition_issues",
        kind="write",
        decision="require_approval",
        review_group="engineering-leads",
        status=status,
        created_at=START,
        decided_at=None if minutes is None else START + timedelta(minutes=minutes),
        details={"issueKeys": ["ENG-1", "ENG-2"], "targetStatus": "Done"},
        **extra,
    )


def test_rates_median_expiry_and_busiest_agents():
    S = ActionStatus
    records = [
        record("bot-a", S.EXECUTED, 2),
        record(
            "bot-a",
            S.EXECUTED,
            10,
            effective_details={"issueKeys": ["ENG-1"], "targetStatus": "Done"},
        ),
        record("bot-a", S.REJECTED, 4),
        record("bot-b", S.EXPIRED, None),
        record("bot-b", S.EXPIRED, None),
        record("bot-a", S.PENDING_APPROVAL, None),
        record("bot-c", S.FAILED, 30),  # approved, then Jira failed: still an approval
        record(
            "bot-c",
            S.EXECUTED,
            1,
            effective_details={"issueKeys": ["ENG-1", "ENG-2"], "targetStatus": "Done"},
        ),
    ]
    stats = group_stats("engineering-leads", records, truncated=False)
    assert (stats.requests, stats.pending, stats.expired) == (8, 1, 2)
    assert (stats.approved, stats.rejected, stats.edited) == (4, 1, 1)  # unchanged: not edited
    assert stats.approval_rate == "80 %"
    assert stats.median_seconds == 4 * 60 and stats.median_to_decide == "4 min"
    assert [(a.agent, a.requests, a.approved, a.rejected, a.expired) for a in stats.agents] == [
        ("bot-a", 4, 2, 1, 0),
        ("bot-b", 2, 0, 0, 2),
        ("bot-c", 2, 2, 0, 0),
    ]


def test_a_group_without_decisions_says_so():
    stats = group_stats("empty", [], truncated=False)
    assert stats.approval_rate == "—" and stats.median_to_decide == "—" and stats.agents == []

"""Prometheus metrics, one registry per app (no process-global state, so tests can build many).

Label values are bounded sets (decisions, statuses, action names, outcomes): never an agent
key, an issue key or anything a caller controls freely.

With `jiragate serve --workers N` the processes share one socket, so /metrics may be answered
by any of them: `serve` then sets PROMETHEUS_MULTIPROC_DIR for its workers, prometheus_client
keeps each process's samples in files there, and `render` adds up every process's.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "jiragate_decisions_total",
            "Policy decisions, by outcome and action.",
            ["decision", "action"],
            registry=self.registry,
        )
        self.proxy_decisions = Counter(
            "jiragate_proxy_decisions_total",
            "Policy decisions on requests through the Jira REST proxy, by outcome and action.",
            ["decision", "action"],
            registry=self.registry,
        )
        self.proxy_refusals = Counter(
            "jiragate_proxy_refusals_total",
            "Proxy requests refused before a decision (path, credential, body), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.statuses = Counter(
            "jiragate_action_status_total",
            "Actions reaching a status.",
            ["status"],
            registry=self.registry,
        )
        self.approval_latency = Histogram(
            "jiragate_approval_latency_seconds",
            "From submission to a reviewer's decision.",
            ["outcome"],
            buckets=(1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 86400),
            registry=self.registry,
        )
        self.jira_latency = Histogram(
            "jiragate_jira_execution_seconds",
            "Time to execute one action against Jira (all its calls).",
            ["action"],
            registry=self.registry,
        )
        self.jira_errors = Counter(
            "jiragate_jira_errors_total",
            "Executions that did not fully succeed, by kind.",
            ["action", "kind"],
            registry=self.registry,
        )
        self.approval_backend_errors = Counter(
            "jiragate_approval_backend_errors_total",
            "Failed calls to the approval backend (Cheqpoint).",
            registry=self.registry,
        )
        self.policy_reloads = Counter(
            "jiragate_policy_reloads_total",
            "Policy reload attempts, by result.",
            ["result"],
            registry=self.registry,
        )
        self.policy_rules = Gauge(
            "jiragate_policy_rules",
            "Rules in the running policy set.",
            registry=self.registry,
            multiprocess_mode="max",  # every process runs the same set: not a sum
        )
        self.policy_out_of_date = Gauge(
            "jiragate_policy_out_of_date",
            "1 while this process does not run the active policy revision, else 0.",
            registry=self.registry,
        )

        # Budgets and shadow rules: budget and rule names come from the policy, agent names
        # from the settings (bounded); a project key is the agent's to choose, so never a label.
        self.budget_used = Gauge(
            "jiragate_budget_used",
            "Units of a budget an agent has used in its window, as of the last decision.",
            ["budget", "agent"],
            registry=self.registry,
            multiprocess_mode="mostrecent",  # the latest decision on any process is the truth
        )
        self.budget_limit = Gauge(
            "jiragate_budget_limit",
            "A budget's limit per window in the running policy set.",
            ["budget"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.budget_exceeded = Counter(
            "jiragate_budget_exceeded_total",
            "Decisions on an action that would overrun a budget, by the decision taken.",
            ["budget", "decision"],
            registry=self.registry,
        )
        self.shadow_outcomes = Counter(
            "jiragate_shadow_outcomes_total",
            "Decisions where a shadow rule matched: what enforcing the shadow rules would "
            "have decided, by the deciding rule, and whether that disagrees.",
            ["rule", "decision", "disagrees"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not shared:
            return generate_latest(self.registry)
        everyone = CollectorRegistry()
        MultiProcessCollector(everyone, path=shared)
        return generate_latest(everyone)

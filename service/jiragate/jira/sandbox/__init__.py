"""A contract-faithful Jira emulator (FastAPI) for tests, demos and `jiragate sandbox`.

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
"""

from __future__ import annotations

from jiragate.jira.sandbox.app import create_sandbox_app
from jiragate.jira.sandbox.faults import Fault, FaultSpecError, parse_fault
from jiragate.jira.sandbox.state import SandboxState

__all__ = ["Fault", "FaultSpecError", "SandboxState", "create_sandbox_app", "parse_fault"]

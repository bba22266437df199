"""Jiragate: a policy gate between AI assistants and Jira."""

from __future__ import annotations

from jiragate.catalog import ACTION_NAMES, ActionKind, ActionRequest, parse_envelope
from jiragate.errors import (
    ActionError,
    InvalidDetailsError,
    JiragateError,
    PolicyLoadError,
    UnknownActionError,
)

__all__ = [
    "ACTION_NAMES",
    "ActionError",
    "ActionKind",
    "ActionRequest",
    "InvalidDetailsError",
    "JiragateError",
    "PolicyLoadError",
    "UnknownActionError",
    "parse_envelope",
]

__version__ = "0.1.0"

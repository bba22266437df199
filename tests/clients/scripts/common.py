"""Shared by the client scripts (run by .venv-clients/bin/python, not by the test process):
each call is tried, and its outcome is one line of the JSON report printed at the end."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

REPORT: dict[str, str] = {}


def call(name: str, work: Callable[[], Any]) -> Any:
    """Run `work`; record "ok" or the error (type and message) under `name`."""
    try:
        result = work()
    except Exception as exc:  # the report names every failure
        REPORT[name] = f"{type(exc).__name__}: {str(exc)[:400]}"
        traceback.print_exc(file=sys.stderr)
        return None
    REPORT[name] = "ok"
    return result


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def report() -> None:
    print(json.dumps(REPORT))

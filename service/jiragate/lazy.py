"""Package exports loaded on first use (PEP 562), for packages every command imports.

`jiragate` and `jiragate.gateway` name what they export here instead of importing it at
once, so a command that needs one light module (`jiragate audit`, `jiragate --version`)
does not load the catalog's schemas, the engine, the approval backends and the Jira adapter.
Standard library only: importable from every layer.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: each name in `where` imported from the module named
    beside it when first asked for, then kept in the package (later lookups skip this)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

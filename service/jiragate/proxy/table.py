"""The proxy's whole table: the issue rows (`mapping.py`), the rows whose path names a bare
version, component, sprint or board id (`agile_rows.py`), the other reads (`read_rows.py`)
and Jira Service Management's (`jsm_rows.py`), by (method, template). An endpoint has one
row: two would make which action it is depend on the order of this file."""

from __future__ import annotations

from collections import Counter

from jiragate.proxy.agile_rows import AGILE_ROWS
from jiragate.proxy.jsm_rows import JSM_ROWS
from jiragate.proxy.mapping import ROWS as ISSUE_ROWS
from jiragate.proxy.mapping import Row
from jiragate.proxy.read_rows import READ_ROWS

ROWS: tuple[Row, ...] = (*ISSUE_ROWS, *AGILE_ROWS, *READ_ROWS, *JSM_ROWS)
_BY_ENDPOINT: dict[tuple[str, str], Row] = {(row.method, row.template): row for row in ROWS}
_TWICE = [e for e, n in Counter((r.method, r.template) for r in ROWS).items() if n > 1]
if _TWICE:
    raise RuntimeError(f"endpoints with two rows: {_TWICE}")


def row_for(method: str, template: str) -> Row | None:
    return _BY_ENDPOINT.get((method, template))

"""The proxy's whole table: the issue rows (`mapping.py`) and the rows whose path names a
bare version, component, sprint or board id (`agile_rows.py`), by (method, template)."""

from __future__ import annotations

from jiragate.proxy.agile_rows import AGILE_ROWS
from jiragate.proxy.mapping import ROWS as ISSUE_ROWS
from jiragate.proxy.mapping import Row

ROWS: tuple[Row, ...] = (*ISSUE_ROWS, *AGILE_ROWS)
_BY_ENDPOINT: dict[tuple[str, str], Row] = {(row.method, row.template): row for row in ROWS}


def row_for(method: str, template: str) -> Row | None:
    return _BY_ENDPOINT.get((method, template))

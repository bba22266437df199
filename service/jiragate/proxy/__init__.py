"""The Jira REST proxy (docs/proxy.md): Jiragate answering `/rest/api/2`, `/rest/api/3` and
`/rest/agile/1.0` like Jira, so an existing Jira client is gated by changing its URL.

An edge like `api/` and `mcp/`: it calls the gateway's use cases only.
- `endpoint.py`: the one route, from the raw request to the answer;
- `mapping.py`: which endpoints are which catalog actions (one row each);
- `credentials.py`: the agent key as a Bearer token or a Basic password;
- `answers.py`: Jira-shaped errors and the statuses chosen for the real clients.
"""

from __future__ import annotations

from jiragate.proxy.endpoint import METHODS, proxy_endpoint

__all__ = ["METHODS", "proxy_endpoint"]

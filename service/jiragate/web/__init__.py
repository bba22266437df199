"""The reviewer inbox: server-rendered pages under `/inbox` (see docs/inbox.md).

`mount_inbox(app, settings)` serves it on the service; `create_inbox_app(settings, get_gateway)`
builds it on its own (for tests or another host app).
"""

from __future__ import annotations

from jiragate.web.app import create_inbox_app, mount_inbox

__all__ = ["create_inbox_app", "mount_inbox"]

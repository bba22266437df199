"""The service imports the MCP SDK only when /mcp is first used (it costs ~24 MiB a process).

Checked in a fresh interpreter: this test session has long imported the SDK itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.service import REPO_ROOT

CHILD = """
import json, sys
import httpx
from jiragate.api.app import create_app
from jiragate.settings import Settings
from tests.helpers.servers import serve_app

settings = Settings(
    policy_dir=sys.argv[1] + "/policies",
    database_url="sqlite:///" + sys.argv[2] + "/jiragate.db",
    jira={"url": "http://127.0.0.1:9", "email": "a@example.com", "api_token": "token-0001"},
    agents=[{"name": "bot", "api_key": "agent-key-of-the-bot-0001"}],
    run_worker=False,
)
seen = {}
app = create_app(settings)
seen["sdk_after_create_app"] = "mcp" in sys.modules
with serve_app(app) as url:
    httpx.get(url + "/readyz").raise_for_status()
    seen["sdk_after_ready"] = "mcp" in sys.modules
    # The first request imports the MCP SDK: seconds on a busy 2-core machine, so no 5 s
    # default timeout here (what is checked is when it is imported, not how fast).
    refused = httpx.post(url + "/mcp", json={}, timeout=90)
    seen["refused"] = [refused.status_code, refused.json()["error"]]
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    answer = httpx.post(
        url + "/mcp",
        json=initialize,
        headers={
            "Authorization": "Bearer agent-key-of-the-bot-0001",
            "Accept": "application/json, text/event-stream",
        },
        timeout=90,
    )
    seen["initialize"] = [answer.status_code, answer.text]
    seen["sdk_after_mcp"] = "mcp" in sys.modules
print(json.dumps(seen))
"""


def test_the_sdk_is_imported_by_the_first_mcp_request_not_at_startup(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO_ROOT), str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["sdk_after_create_app"] is False
    assert seen["sdk_after_ready"] is False
    # the endpoint starts on the first request, and still authenticates every request
    assert seen["refused"] == [401, "unauthorized"]
    assert seen["sdk_after_mcp"] is True
    status, body = seen["initialize"]
    assert status == 200
    assert '"serverInfo"' in body and '"jiragate"' in body

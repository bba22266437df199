"""`uvicorn --factory service_app:create --workers 2`: the service as a user deploys it on 2 cores.

`jiragate serve` runs one uvicorn process; on a 2-core machine a user runs two worker
processes. This factory builds exactly the app `jiragate serve` builds (`create_app(settings)`,
settings from the file named by `JIRAGATE_CONFIG`), once per worker process.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from jiragate.api.app import create_app
from jiragate.settings import Settings


def create() -> FastAPI:
    return create_app(Settings.from_file(os.environ["JIRAGATE_CONFIG"]))

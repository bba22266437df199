"""`jiragate sandbox --profile ...` as a real process: the chosen site answers, a wrong profile
is refused by argparse naming the choices."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.servers import free_port

SERVICE = Path(__file__).resolve().parents[2] / "service"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SERVICE)}


@pytest.mark.parametrize(("profile", "deployment"), [("datacenter", "Server"), ("cloud", "Cloud")])
def test_the_sandbox_command_serves_the_chosen_profile(profile: str, deployment: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jiragate.cli",
            "sandbox",
            "--port",
            str(port),
            "--profile",
            profile,
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        info = None
        while info is None:
            assert process.poll() is None, f"jiragate sandbox exited {process.returncode}"
            try:
                info = httpx.get(
                    f"http://127.0.0.1:{port}/rest/api/2/serverInfo",
                    headers={"Authorization": "Bearer pat"},
                    timeout=2,
                ).json()
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox did not start in 30 s"
                time.sleep(0.1)
        assert info["deploymentType"] == deployment
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_unknown_profile_is_refused_naming_the_choices() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "sandbox", "--profile", "server"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "cloud" in done.stderr and "datacenter" in done.stderr

"""`jiragate hash-password`, and `jiragate serve` refusing plain-text passwords: real processes
(and two more inputs of one refusal through the CLI's entry function)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from jiragate.passwords import HASHER
from tests.cli.test_service_commands import jiragate, serve_config, serving
from tests.helpers import cli
from tests.web.helpers import text_of

PASSWORD = "inbox-password-from-stdin-7"


def test_the_printed_hash_signs_a_reviewer_in_to_a_real_service(tmp_path: Path):
    made = jiragate("hash-password", input=PASSWORD + "\n", timeout=60)
    assert made.returncode == 0, made.stderr
    stored = made.stdout.strip()
    assert re.fullmatch(
        r"\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", stored
    )
    assert PASSWORD not in made.stdout + made.stderr
    assert HASHER.verify(stored, PASSWORD)

    config = serve_config(tmp_path, "hashed")
    with config.open("a") as text:
        text.write(
            "session_secret: hash-password-test-session-0001\n"
            "reviewers:\n"
            "  - name: lead-alice\n"
            "    api_key: hash-test-reviewer-key-01\n"
            f"    password_hash: '{stored}'\n"
        )
    with serving(config, "--no-worker") as served, httpx.Client(base_url=served.url) as browser:
        form = browser.get("/inbox/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed_in = browser.post(
            "/inbox/signin",
            data={"csrf_token": token.group(1), "name": "lead-alice", "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        assert "Signed in as lead-alice" in text_of(browser.get("/inbox/").text)


@pytest.mark.parametrize(
    ("typed", "run"),
    # One real process (its exit status and streams); the other inputs through the same
    # entry function in this process (tests/helpers/cli.py).
    [("", cli.process), ("\n", cli.in_process), ("short\n", cli.in_process)],
)
def test_a_missing_or_short_password_is_refused(
    typed: str, run: Callable[..., subprocess.CompletedProcess[str]]
):
    result = run("hash-password", input=typed)
    assert result.returncode == 2
    assert "at least 8 characters" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("where", ["config file", "environment"])
def test_serve_refuses_a_plain_text_password_and_says_how_to_hash_one(tmp_path: Path, where: str):
    plain = "my-plain-inbox-password-42"
    account = {"name": "lead-alice", "api_key": "plain-test-reviewer-key-1", "password": plain}
    config = serve_config(tmp_path, "plain")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRAGATE_")}
    if where == "config file":
        with config.open("a") as text:
            text.write(f"reviewers: [{json.dumps(account)}]\n")
    else:
        env["JIRAGATE_REVIEWERS"] = json.dumps([account])
    result = jiragate("serve", "--config", str(config), timeout=60, env=env)
    assert result.returncode == 2
    assert "reviewers.0.password" in result.stderr
    assert "password_hash" in result.stderr and "jiragate hash-password" in result.stderr
    assert plain not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr

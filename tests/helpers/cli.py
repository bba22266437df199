"""The `jiragate` command run two ways, both answering a `subprocess.CompletedProcess`:

- `process(...)`: a real `python -m jiragate.cli` process, as an operator runs it (real argv,
  real exit status, real stdout/stderr). Each costs a Python start (about 1.5 s of CPU), so a
  test file keeps one per distinct behaviour (each exit status, what it prints).
- `in_process(...)`: the same entry function, `jiragate.cli.main(argv)`, in the test process:
  the same parser and the same command code, for the many variants of one behaviour.

Both run without the caller's JIRAGATE_* variables, so only the arguments name the database.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from jiragate.cli import main


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JIRAGATE_")}


def process(
    *argv: str, cwd: Path | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jiragate.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_clean_env(),
        cwd=cwd,
        input=input,
    )


def in_process(
    *argv: str, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`input` is what stdin holds (not a terminal, as with a pipe)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, _clean_env(), clear=True),
        contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext(),
        mock.patch("sys.stdin", io.StringIO(input or "")),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors, as the process would exit
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())

"""`jiragate hash-password`: the `password_hash` value for a reviewer's inbox sign-in.

Reads the password from the terminal (asked twice, not echoed) or, when stdin is not a
terminal, from its first line, and prints the argon2id hash. The password itself is never
printed, logged or passed on the command line (where `ps` and shell history would show it).
Standard-library imports only at module level (see cli.py).
"""

from __future__ import annotations

import argparse
import getpass
import sys

MIN_LENGTH = 8


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Put the printed hash in the reviewer's settings as `password_hash`. "
        "Example: jiragate hash-password < password.txt"
    )


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    try:
        password = _read_password()
    except (ValueError, EOFError) as exc:
        print(f"jiragate hash-password: {exc or 'no password given'}", file=sys.stderr)
        return 2
    if len(password) < MIN_LENGTH:
        print(
            f"jiragate hash-password: the password must be at least {MIN_LENGTH} characters",
            file=sys.stderr,
        )
        return 2
    from jiragate.passwords import hash_password

    print(hash_password(password))
    return 0

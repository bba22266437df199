"""Reviewer passwords: argon2id hashes, made and checked with one fixed set of parameters.

The settings hold only a hash (`reviewers[].password_hash`), made by `jiragate hash-password`.
Every hash must carry exactly the parameters below: a cheaper one would be easier to crack
and quicker to check (so its timing would tell that the name exists), a dearer one slower
(the same tell, the other way round). Unknown names are checked against a dummy hash with the
same parameters, so a sign-in costs the same whoever is named.

Standard library and `argon2` only: the settings import this module to check hashes at start.
"""

from __future__ import annotations

import functools
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: argon2-cffi's defaults, RFC 9106's "second recommended" profile: argon2id, 64 MiB, three
#: passes, four lanes (~0.1 s on one core). Pinned here, so a library upgrade that changes its
#: defaults cannot silently make every configured hash "wrong".
HASHER = argon2.PasswordHasher(
    time_cost=3,
    memory_cost=64 * 1024,
    parallelism=4,
    hash_len=32,
    salt_len=16,
    type=argon2.Type.ID,
)
ARGON2ID_PREFIX = "$argon2id$"
HOW_TO_HASH = (
    "make one with `jiragate hash-password` (it reads the password from the prompt or stdin)"
)


def hash_password(password: str) -> str:
    """A `password_hash` value: `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`, salted."""
    if not password:
        raise ValueError("the password is empty")
    return HASHER.hash(password)


def hash_problem(value: str) -> str | None:
    """Why `value` cannot be a reviewer's `password_hash`, or None when it can."""
    if not value.startswith(ARGON2ID_PREFIX):
        if value.startswith("pbkdf2_sha256$"):
            return (
                "PBKDF2 hashes are no longer accepted; store an argon2id hash instead "
                f"({HOW_TO_HASH})"
            )
        return f"it is not an argon2id hash (one starts with {ARGON2ID_PREFIX}); {HOW_TO_HASH}"
    try:
        different = HASHER.check_needs_rehash(value)
    except (InvalidHashError, ValueError):
        return f"it is not a well-formed argon2id hash; {HOW_TO_HASH}"
    if different:
        wanted = HASHER
        return (
            "its argon2id parameters differ from the service's "
            f"(m={wanted.memory_cost},t={wanted.time_cost},p={wanted.parallelism}, "
            f"{wanted.hash_len}-byte hash, {wanted.salt_len}-byte salt); {HOW_TO_HASH}"
        )
    return None


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password nobody knows, with the service's parameters."""
    return HASHER.hash(secrets.token_urlsafe(24))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`. None (an unknown name, or a reviewer with
    no inbox password) is checked against the dummy hash, so it costs the same and fails."""
    try:
        HASHER.verify(password_hash or dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return password_hash is not None

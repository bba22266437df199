"""Reviewer passwords are argon2id hashes with the service's parameters, and nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jiragate.passwords import HASHER, hash_password, hash_problem
from jiragate.settings import Settings
from jiragate.web.auth import check_password
from tests.web.helpers import password_hash

PASSWORD = "correct horse battery"


def settings_with(**account: str) -> Settings:
    return Settings.model_validate(
        {
            "database_url": "sqlite:///unused.db",
            "reviewers": [
                {"name": "lead-alice", "api_key": "reviewer-key-hash-test-01", **account},
                {"name": "pm-dave", "api_key": "reviewer-key-hash-test-02"},
            ],
        }
    )


def refusal(**account: str) -> str:
    with pytest.raises(ValidationError) as caught:
        settings_with(**account)
    return str(caught.value)


def test_a_hash_signs_in_and_does_not_reveal_the_password():
    stored = password_hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # salted
    settings = settings_with(password_hash=stored)
    assert check_password(settings, "lead-alice", PASSWORD) == (True, "ok")
    assert check_password(settings, "lead-alice", "Correct horse battery") == (
        False,
        "wrong password",
    )
    assert check_password(settings, "nobody", PASSWORD) == (False, "unknown reviewer")
    assert check_password(settings, "pm-dave", PASSWORD) == (
        False,
        "reviewer has no inbox password",
    )


def test_a_plain_text_password_is_refused_without_repeating_it():
    message = refusal(password="lead-alice-demo-password")
    assert "reviewers.0.password" in message
    assert "password_hash" in message and "jiragate hash-password" in message
    assert "lead-alice-demo-password" not in message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("lead-alice-demo-password", "not an argon2id hash"),
        ("pbkdf2_sha256$600000$c2FsdA$aGFzaA", "PBKDF2 hashes are no longer accepted"),
        ("$argon2id$v=19$m=65536,t=3,p=4$!!!", "not a well-formed argon2id hash"),
        # A cheaper (or dearer) hash would sign in faster (or slower): a timing tell.
        (
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
            "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "parameters differ",
        ),
        ("$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA", "not an argon2id"),
    ],
)
def test_anything_but_an_argon2id_hash_with_our_parameters_is_refused(value: str, fragment: str):
    message = refusal(password_hash=value)
    assert "reviewers.0.password_hash" in message and fragment in message
    assert value not in message


def test_a_mistyped_field_is_refused_rather_than_ignored():
    assert "reviewers.0.pasword_hash" in refusal(pasword_hash=password_hash(PASSWORD))


def test_the_parameters_are_pinned():
    assert hash_problem(HASHER.hash("anything-at-all")) is None
    assert (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism) == (3, 65536, 4)

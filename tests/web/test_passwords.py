"""Reviewer passwords may be configured as PBKDF2 hashes instead of plain text."""

from __future__ import annotations

from jiragate.settings import Settings
from jiragate.web.auth import check_password, hash_password


def settings_with(password: str) -> Settings:
    return Settings.model_validate(
        {
            "database_url": "sqlite:///unused.db",
            "reviewers": [
                {"name": "lead-alice", "api_key": "reviewer-key-hash-test-01", "password": password}
            ],
        }
    )


def test_a_hashed_password_signs_in_and_does_not_reveal_the_password():
    stored = hash_password("correct horse battery", iterations=1_000)
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert "correct horse" not in stored
    assert hash_password("correct horse battery", iterations=1_000) != stored  # salted
    settings = settings_with(stored)
    assert check_password(settings, "lead-alice", "correct horse battery") == (True, "ok")
    assert check_password(settings, "lead-alice", "Correct horse battery") == (
        False,
        "wrong password",
    )
    assert check_password(settings, "nobody", "correct horse battery") == (
        False,
        "unknown reviewer",
    )


def test_a_plain_password_still_works_and_a_malformed_hash_never_matches():
    assert check_password(settings_with("lead-alice-demo"), "lead-alice", "lead-alice-demo")[0]
    broken = settings_with("pbkdf2_sha256$not-a-number$abc$def")
    assert check_password(broken, "lead-alice", "anything") == (False, "wrong password")

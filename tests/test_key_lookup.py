"""An API key finds its account by digest (settings._match_key): the same account a
comparison against every configured key finds, for any keys, duplicates and revocations."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from jiragate.settings import AgentAccount, _match_key

keys = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=16, max_size=24)


@given(
    configured=st.lists(st.tuples(keys, st.booleans()), max_size=8),
    presented=keys,
    pick=st.integers(min_value=0, max_value=7),
)
def test_a_key_finds_the_account_a_full_comparison_finds(
    configured: list[tuple[str, bool]], presented: str, pick: int
) -> None:
    accounts = [
        AgentAccount(name=f"agent-{n}", api_key=key, revoked=revoked)
        for n, (key, revoked) in enumerate(configured)
    ]
    for candidate in [presented] + ([configured[pick % len(configured)][0]] if configured else []):
        expected = None
        for account in accounts:  # the reference: every account compared, the last one wins
            if account.api_key.get_secret_value() == candidate:
                expected = account
        assert _match_key(accounts, candidate) is expected


def test_an_account_added_later_is_found_and_one_removed_is_not() -> None:
    accounts = [AgentAccount(name="a", api_key="a" * 16)]
    assert _match_key(accounts, "b" * 16) is None
    accounts.append(AgentAccount(name="b", api_key="b" * 16))
    assert _match_key(accounts, "b" * 16) is accounts[1]
    del accounts[1]
    assert _match_key(accounts, "b" * 16) is None

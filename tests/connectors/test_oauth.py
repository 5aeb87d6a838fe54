"""The token keeper on its own: cached access, the refresh margin, one refresher, a stuck lock."""

from __future__ import annotations

import pytest

from infra.local.clock import Clock
from shared.connectors.oauth import (
    EXPIRY_MARGIN_SECONDS,
    IssuedTokens,
    MemoryTokenStore,
    RefreshRefused,
    TokenKeeper,
)
from shared.domain.errors import ConfigurationError, TransientError


class TokenEndpoint:
    """A vendor that rotates: each refresh token works once."""

    def __init__(self) -> None:
        self.valid = "rt-0"
        self.calls = 0

    def refresh(self, token: str) -> IssuedTokens:
        self.calls += 1
        if token != self.valid:
            raise RefreshRefused("invalid_grant")
        self.valid = f"rt-{self.calls}"
        return IssuedTokens(access_token=f"at-{self.calls}", refresh_token=self.valid, expires_in=3600)


def keeper(endpoint: TokenEndpoint, store: MemoryTokenStore, clock: Clock, seed: str = "rt-0") -> TokenKeeper:
    return TokenKeeper(
        "vendor/1",
        seed_refresh_token=seed,
        refresh=endpoint.refresh,
        store=store,
        clock=clock.time,
        sleep=clock.sleep,
    )


def test_the_access_token_is_reused_until_a_margin_before_it_expires() -> None:
    endpoint, store, clock = TokenEndpoint(), MemoryTokenStore(), Clock(fast_forward=True)
    one = keeper(endpoint, store, clock)
    assert {one.access_token() for _ in range(50)} == {"at-1"}
    clock.advance(3600 - EXPIRY_MARGIN_SECONDS - 1)
    assert one.access_token() == "at-1"
    clock.advance(2)
    assert one.access_token() == "at-2"
    assert endpoint.calls == 2


def test_a_cold_start_uses_the_stored_access_token_and_a_401_refreshes_once_for_all() -> None:
    endpoint, store, clock = TokenEndpoint(), MemoryTokenStore(), Clock(fast_forward=True)
    first, second = keeper(endpoint, store, clock), keeper(endpoint, store, clock)
    assert first.access_token() == second.access_token() == "at-1"
    # both containers are refused the same access token (revoked early)
    assert first.renew(stale="at-1") == "at-2"
    assert second.renew(stale="at-1") == "at-2"  # found in the store: no second refresh
    assert endpoint.calls == 2


def test_a_lock_held_by_a_container_that_died_is_a_transient_wait_not_a_configuration_error() -> None:
    endpoint, store, clock = TokenEndpoint(), MemoryTokenStore(), Clock(fast_forward=True)
    assert store.try_lock("vendor/1", "crashed-container", 3600)
    with pytest.raises(TransientError, match="refreshing"):
        keeper(endpoint, store, clock).access_token()
    assert endpoint.calls == 0


def test_when_every_known_refresh_token_is_refused_the_operator_is_asked_to_reconnect() -> None:
    endpoint, store, clock = TokenEndpoint(), MemoryTokenStore(), Clock(fast_forward=True)
    endpoint.valid = "rt-somebody-elses"
    with pytest.raises(ConfigurationError, match="reconnect"):
        keeper(endpoint, store, clock).access_token()

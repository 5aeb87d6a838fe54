"""Rotating OAuth tokens shared by every container: one refresher at a time, the others re-read.

A vendor that rotates refresh tokens (QuickBooks Online) makes the refresh token a baton: whoever
refreshes gets the only valid one and must hand it on at once. `TokenKeeper` does that for one
connection, against a `TokenStore` every container shares:

- the access token is kept in memory until a margin before its expiry (and dropped after a 401);
  a container that needs one first reads the store, so a cold start uses the token another
  container already obtained instead of refreshing again;
- to refresh, a container takes the store's lock (a DynamoDB lease in AWS), reads the store again
  (the previous holder may have just refreshed), calls the token endpoint, and writes the new pair
  before it releases the lock. Those who find the lock taken poll the store until the new tokens
  appear, then use them: exactly one call to the token endpoint;
- a refusal (invalid_grant) is not the end: another container may have rotated the token we hold,
  or an operator may have reconnected the company and put a new one in the connections secret, so
  the keeper re-reads the store and tries each refresh token it has not yet tried.

Why a lease rather than an optimistic version check on the secret: Secrets Manager has no
conditional write (PutSecretValue cannot say "only if the current version is still V"), so two
containers could both refresh and the loser's write would store a token Intuit already rotated
away. A lease makes the loser wait instead of refreshing.
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from shared.domain.errors import ConfigurationError, TransientError
from shared.domain.models import epoch_seconds
from shared.domain.tokens import OAuthTokens, TokenStore

# The lock outlives the token call's worst case (connect + read timeouts and retries), so a second
# refresher never starts while the first may still be talking to the vendor.
LOCK_SECONDS = 90
# How long a waiter polls before giving up with a transient error (its message is redelivered):
# well inside the shortest function timeout that refreshes (60 s), while a refresh takes ~1 s.
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.25
# Refreshed this long before the stated expiry, so that no call races the deadline.
EXPIRY_MARGIN_SECONDS = 120.0
# Refresh tokens tried per renewal: the stored one, ours, the connection's, and one that a
# concurrent refresher stored meanwhile.
_MAX_CANDIDATES = 4


class RefreshRefused(Exception):
    """The token endpoint refused this refresh token (invalid_grant): expired, revoked or rotated away."""


@dataclass(frozen=True)
class IssuedTokens:
    """What the token endpoint answered to a refresh."""

    access_token: str
    refresh_token: str
    expires_in: float
    refresh_expires_in: float | None = None


class MemoryTokenStore:
    """A `TokenStore` for one process (tests, and connectors built without a shared store)."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthTokens] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._guard = threading.Lock()

    def load(self, key: str) -> OAuthTokens | None:
        with self._guard:
            return self._tokens.get(key)

    def save(self, key: str, tokens: OAuthTokens) -> None:
        with self._guard:
            self._tokens[key] = tokens

    def try_lock(self, key: str, owner: str, seconds: int) -> bool:
        now = time.monotonic()
        with self._guard:
            held = self._locks.get(key)
            if held is not None and held[1] > now:
                return False
            self._locks[key] = (owner, now + seconds)
            return True

    def unlock(self, key: str, owner: str) -> None:
        with self._guard:
            if self._locks.get(key, ("", 0.0))[0] == owner:
                del self._locks[key]


class TokenKeeper:
    """The access token of one connection, refreshed once across every container sharing `store`."""

    def __init__(
        self,
        key: str,
        *,
        seed_refresh_token: str,
        refresh: Callable[[str], IssuedTokens],
        store: TokenStore,
        clock: Callable[[], float] = epoch_seconds,
        sleep: Callable[[float], None] = time.sleep,
        on_refreshed: Callable[[OAuthTokens], None] | None = None,
        vendor: str = "oauth",
    ) -> None:
        self.key = key
        self.on_refreshed = on_refreshed
        self._seed = seed_refresh_token
        self._refresh = refresh
        self._store = store
        self._clock = clock  # POSIX seconds: expiries are compared with other containers' stamps
        self._sleep = sleep
        self._vendor = vendor
        self._current: OAuthTokens | None = None
        self._refresh_token = seed_refresh_token
        self._lock = threading.Lock()
        self._sent = threading.local()  # the access token this thread last sent (a 401 refuses it)

    @property
    def refresh_token(self) -> str:
        """The newest refresh token this process knows (the store's copy is the shared truth)."""
        return self._refresh_token

    def access_token(self) -> str:
        """A valid access token: the one in memory while it is fresh, else the store's, else a new one."""
        with self._lock:
            current = self._current
        if self._usable(current, stale=None):
            assert current is not None and current.access_token is not None
            return current.access_token
        return self.renew(stale=None)

    def bearer_headers(self) -> dict[str, str]:
        """The Authorization header with a valid access token, remembered per thread so that a 401
        renews exactly the token it refused (`renew_refused`)."""
        token = self.access_token()
        self._sent.access = token
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def renew_refused(self) -> str:
        """After a 401: a token other than the one this thread sent (another container may have it)."""
        return self.renew(stale=getattr(self._sent, "access", None))

    def renew(self, *, stale: str | None) -> str:
        """A fresh access token other than `stale` (the one a 401 refused); returns it."""
        with self._lock:
            if self._usable(self._current, stale):
                assert self._current is not None and self._current.access_token is not None
                return self._current.access_token
            deadline = self._clock() + WAIT_SECONDS
            while True:
                stored = self._store.load(self.key)
                if self._usable(stored, stale):
                    return self._adopt(stored)
                owner = uuid.uuid4().hex
                if self._store.try_lock(self.key, owner, LOCK_SECONDS):
                    try:
                        # Read again under the lock: the previous holder may have refreshed between
                        # our read and our lock, and its refresh token is the only valid one now.
                        stored = self._store.load(self.key)
                        if self._usable(stored, stale):
                            return self._adopt(stored)
                        return self._refresh_and_store(stored)
                    finally:
                        self._store.unlock(self.key, owner)
                if self._clock() >= deadline:
                    raise TransientError(
                        f"{self._vendor}: another worker has been refreshing the OAuth tokens of "
                        f"{self.key} for {WAIT_SECONDS:.0f} s; trying again later"
                    )
                self._sleep(POLL_SECONDS)

    def _usable(self, tokens: OAuthTokens | None, stale: str | None) -> bool:
        return (
            tokens is not None
            and tokens.access_token is not None
            and tokens.access_token != stale
            and tokens.access_expires_at is not None
            and self._clock() < tokens.access_expires_at - EXPIRY_MARGIN_SECONDS
        )

    def _adopt(self, tokens: OAuthTokens | None) -> str:
        assert tokens is not None and tokens.access_token is not None
        self._current = tokens
        self._refresh_token = tokens.refresh_token
        return tokens.access_token

    def _candidates(self, stored: OAuthTokens | None, tried: set[str]) -> list[str]:
        # The store's token first (the shared truth), then the one we last held, then the
        # connection's (an operator who reconnected the company put a brand-new one there).
        ordered = [stored.refresh_token if stored else None, self._refresh_token, self._seed]
        return [t for t in dict.fromkeys(ordered) if t and t not in tried]

    def _refresh_and_store(self, stored: OAuthTokens | None) -> str:
        tried: set[str] = set()
        refusal: RefreshRefused | None = None
        while len(tried) < _MAX_CANDIDATES:
            candidates = self._candidates(stored, tried)
            if not candidates:
                break
            token = candidates[0]
            try:
                issued = self._refresh(token)
            except RefreshRefused as exc:
                refusal = exc
                tried.add(token)
                # Another container may have rotated it (a lease that ran out mid-refresh):
                # whatever it stored is the token to try next.
                stored = self._store.load(self.key)
                continue
            now = self._clock()
            tokens = OAuthTokens(
                refresh_token=issued.refresh_token,
                access_token=issued.access_token,
                access_expires_at=now + issued.expires_in,
                refresh_expires_at=(
                    now + issued.refresh_expires_in if issued.refresh_expires_in is not None else None
                ),
                refreshed_at=now,
            )
            # In memory first: should the write fail, this process still holds the only valid token.
            access = self._adopt(tokens)
            self._store.save(self.key, tokens)
            if self.on_refreshed is not None:
                self.on_refreshed(tokens)
            return access
        raise ConfigurationError(
            f"{self._vendor}: token refresh refused ({refusal}) for every refresh token known for "
            f"{self.key}; reconnect the company to close2cash and put the new refresh token in the "
            "connections secret"
        )

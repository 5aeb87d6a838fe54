"""OAuth tokens that a vendor rotates, and the port of the store every container shares them through.

Some vendors (QuickBooks Online) hand back a new refresh token on every refresh and stop honouring
the previous one. Every container that talks to such a vendor must therefore read and write one
shared copy: the store below, with a lock so that exactly one container refreshes at a time.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class OAuthTokens(BaseModel):
    """One connection's current tokens; times are POSIX seconds, so every container reads them alike."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    refresh_token: str = Field(min_length=1)
    access_token: str | None = None
    access_expires_at: float | None = None
    refresh_expires_at: float | None = None
    refreshed_at: float | None = None


class TokenStore(Protocol):
    """Where rotated tokens live (Secrets Manager in AWS and locally), keyed by system and tenant."""

    def load(self, key: str) -> OAuthTokens | None:
        """The stored tokens for `key`, read fresh (never from a cache), or None when none are stored."""
        ...

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Store `tokens` for `key` at once, leaving every other key as it is; only under the lock."""
        ...

    def try_lock(self, key: str, owner: str, seconds: int) -> bool:
        """Take the refresh lock for `key` for `seconds` (across containers); False when it is held."""
        ...

    def unlock(self, key: str, owner: str) -> None:
        """Release the lock if `owner` still holds it."""
        ...

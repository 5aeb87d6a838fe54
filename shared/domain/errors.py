"""Errors the domain and its ports speak, whatever vendor or AWS service raised them underneath."""

from __future__ import annotations


class Close2CashError(Exception):
    """Base of every error the hub raises on purpose."""


class TransientError(Close2CashError):
    """A failure that a later attempt may not meet: timeouts, 5xx, throttling. Retry it."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """The vendor's rate budget is spent; `retry_after` says when it refills (seconds)."""


class ConflictError(TransientError):
    """Someone else wrote the record between this reader's read and its write: read again, then retry."""


class PermanentError(Close2CashError):
    """A failure that repeats on every attempt until a person changes something."""


class NotFoundError(PermanentError):
    """The record the notice points at does not exist (any more) in its system."""


class ValidationFailed(PermanentError):
    """A record or request broke a rule; the message names the field and what is expected."""


class ConfigurationError(PermanentError):
    """A connection, secret or landscape setting is missing or wrong."""


class AuthenticityError(Close2CashError):
    """A webhook whose signature or origin could not be verified: answered 401, never enqueued."""


class MalformedNotice(Close2CashError):
    """A webhook body that was authentic but could not be parsed: answered 400, never enqueued."""

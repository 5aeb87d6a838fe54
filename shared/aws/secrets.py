"""Connection credentials from Secrets Manager (locally: moto's, loaded from the local secrets file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import boto3

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

_provider: SecretsProvider | None = None


def _secrets() -> SecretsProvider:
    global _provider
    if _provider is None:
        # Imported on first use: the Parameters utility is not needed to answer a rejected webhook.
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        # A client on boto3's default session, which the ledger's and the bus's clients share: the
        # provider's default is a Session of its own, whose first client loads botocore's endpoint and
        # partition data a second time (~40-80 ms of each cold start that reads the connections).
        # https://docs.powertools.aws.dev/lambda/python/latest/utilities/parameters/#bring-your-own-boto-client
        _provider = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    return _provider


def connections(secret_name: str, *, max_age: int = 300) -> dict[str, Any]:
    """The connections secret: a JSON object keyed by system name, cached for `max_age` seconds."""
    value = _secrets().get(secret_name, transform="json", max_age=max_age)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_name!r} must hold a JSON object keyed by system name")
    return cast(dict[str, Any], value)


def forget_cached() -> None:
    """Forget the client and the values read: a new environment in this process (local runtime, tests)."""
    global _provider
    _provider = None

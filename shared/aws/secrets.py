"""Connection credentials from Secrets Manager (locally: moto's, loaded from the local secrets file)."""

from __future__ import annotations

from typing import Any, cast


def connections(secret_name: str, *, max_age: int = 300) -> dict[str, Any]:
    """The connections secret: a JSON object keyed by system name, cached for `max_age` seconds."""
    # Imported on first use: the Parameters utility is not needed to answer a rejected webhook.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_name, transform="json", max_age=max_age)
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_name!r} must hold a JSON object keyed by system name")
    return cast(dict[str, Any], value)

"""A connection as the connections secret holds it: one model per vendor, refused the same way by all.

Each vendor's connection model subclasses `Connection` and names its `system`; `Connection.parse`
validates the secret's fields and turns every problem into one `ConfigurationError` that names the
system and each wrong field (never the values: they are credentials).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName


class Connection(BaseModel):
    """Base of every vendor's connection settings (frozen: a connector never edits its secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    system: ClassVar[SystemName]

    @classmethod
    def parse(cls, connection: Mapping[str, Any]) -> Self:
        """The connection's fields validated, or a `ConfigurationError` naming every wrong one."""
        try:
            return cls.model_validate(dict(connection))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(connection)'}: {error['msg']}"
                for error in exc.errors(include_input=False)
            )
            raise ConfigurationError(f"the {cls.system.value} connection is invalid: {problems}") from None

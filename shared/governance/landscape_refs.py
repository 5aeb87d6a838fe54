"""The landscape's declarations, gathered before validation, and the value types that check against them.

Validation runs in one pydantic pass so that every problem is reported at once: a check that needs
the rest of the file (is this owner a connected system? is this rate card declared?) reads the
declarations gathered leniently from the raw file (`declared`), never stopping the pass at the first
error of another section. `Section` is the base of every part of the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.domain.models import SystemName
from shared.domain.money import currency
from shared.domain.systems import Role


class Section(BaseModel):
    """Base of every part of the landscape file: unknown keys are errors, values are immutable."""

    # Built on first use (shared.domain.models.CanonicalModel says why).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)


@dataclass(frozen=True)
class References:
    """What the raw file declares: gathered leniently before validation so every check can run."""

    systems: frozenset[str]
    others: frozenset[str]  # systems declared with a valid role that is not accounting
    legal_entities: frozenset[str]
    rate_cards: frozenset[str]


_REFERENCES: ContextVar[References | None] = ContextVar("landscape_references", default=None)


def references() -> References | None:
    """The declarations of the file being validated now (None outside a validation)."""
    return _REFERENCES.get()


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _gather(raw: Mapping[str, Any]) -> References:
    systems = _rows(raw.get("systems"))
    mappings = raw.get("mappings")
    rate_cards = _rows(mappings.get("rate_cards")) if isinstance(mappings, Mapping) else []
    return References(
        systems=frozenset(str(s.get("name")) for s in systems),
        others=frozenset(
            str(s.get("name")) for s in systems if s.get("role") in (Role.CRM.value, Role.PSA.value)
        ),
        legal_entities=frozenset(str(e.get("code")) for e in _rows(raw.get("legal_entities"))),
        rate_cards=frozenset(str(r.get("source")) for r in rate_cards),
    )


@contextlib.contextmanager
def declared(raw: Any) -> Iterator[None]:
    token = _REFERENCES.set(_gather(raw) if isinstance(raw, Mapping) else None)
    try:
        yield
    finally:
        _REFERENCES.reset(token)


def _listing(values: frozenset[str]) -> str:
    return ", ".join(sorted(values)) or "(none declared)"


def _connected(system: SystemName) -> SystemName:
    refs = _REFERENCES.get()
    if refs is not None and system not in refs.systems:
        raise ValueError(
            f"{system} is not a connected system; expected one of the [[systems]]: {_listing(refs.systems)}"
        )
    return system


def _accounting(system: SystemName) -> SystemName:
    refs = _REFERENCES.get()
    if refs is not None and system in refs.others:
        raise ValueError(
            f"{system} is not an accounting system; expected a system declared with role = 'accounting'"
        )
    return system


def _one_of_declared(
    what: str, where: str, declared: Callable[[References], frozenset[str]]
) -> Callable[[str], str]:
    """A validator: the value must be one the file declares (`declared` picks which set)."""

    def check(value: str) -> str:
        refs = _REFERENCES.get()
        if refs is not None and value not in declared(refs):
            raise ValueError(
                f"{what} {value!r} is not declared; expected {where}: {_listing(declared(refs))}"
            )
        return value

    return check


_legal_entity = _one_of_declared(
    "legal entity", "one of the [[legal_entities]] codes", lambda r: r.legal_entities
)
_rate_card = _one_of_declared("rate card", "a source value of mappings.rate_cards", lambda r: r.rate_cards)


ConnectedSystem = Annotated[SystemName, AfterValidator(_connected)]
AccountingSystem = Annotated[SystemName, AfterValidator(_connected), AfterValidator(_accounting)]
LegalEntityCode = Annotated[str, Field(min_length=1), AfterValidator(_legal_entity)]
RateCardName = Annotated[str, Field(min_length=1), AfterValidator(_rate_card)]


def _iso_currency(code: str) -> str:
    # No "did you mean" here: three-letter codes one letter apart are different currencies.
    try:
        return currency(code)
    except ValueError as error:
        raise ValueError(f"{error}; expected an ISO 4217 code such as 'USD', 'EUR' or 'GBP'") from None


Currency = Annotated[str, AfterValidator(_iso_currency)]
NonEmpty = Annotated[str, Field(min_length=1)]

"""Matching rules that link a customer to records that already exist in other systems.

Keys are tried in the landscape's order, most trusted first. The first key that finds anything
decides: exactly one record links; several are AMBIGUOUS and go to a person, because linking the
wrong customer would merge two companies' invoices, which is worse than a duplicate; none is NEW.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.models import Account, SourceRef
from shared.governance.landscape import MatchingRules, MatchKey


class CustomerKeys(BaseModel):
    """What identifies a customer in one system: its name, web site, tax id, and where it lives."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    website: str | None = None
    tax_id: str | None = None
    ref: SourceRef | None = None

    @classmethod
    def of(cls, account: Account) -> CustomerKeys:
        """The keys of a canonical account."""
        return cls(name=account.name, website=account.website, tax_id=account.tax_id, ref=account.source)


class MatchOutcome(StrEnum):
    """What to do with a candidate customer."""

    LINK = "link"  # exactly one existing record: link to it
    AMBIGUOUS = "ambiguous"  # several: a person decides, the hub never guesses
    NEW = "new"  # none: create it


class MatchResult(BaseModel):
    """The outcome of matching one candidate, the key that decided it and the records it found."""

    model_config = ConfigDict(frozen=True)

    outcome: MatchOutcome
    key: MatchKey | None = None
    matches: tuple[CustomerKeys, ...] = ()

    @property
    def linked(self) -> CustomerKeys | None:
        """The one existing record to link to, when the outcome is LINK."""
        return self.matches[0] if self.outcome is MatchOutcome.LINK else None


def _fold(text: str) -> str:
    """Case- and accent-insensitive text: 'Müller' and 'MULLER' fold alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _tokens(text: str) -> list[str]:
    folded = _fold(text).replace("&", " and ")
    # Dots and apostrophes join ("S.A." is "sa", "O'Neil" is "oneil"); other punctuation separates.
    joined = folded.replace(".", "").replace("'", "").replace("\u2019", "")
    return "".join(c if c.isalnum() else " " for c in joined).split()


def normalise_name(name: str, legal_suffixes: Iterable[str]) -> str:
    """The name without case, accents, punctuation or trailing legal suffixes: 'ACME, Inc.' -> 'acme'."""
    suffixes = {" ".join(_tokens(s)) for s in legal_suffixes}
    tokens = _tokens(name)
    # Strip from the end only ("Co Ltd" goes, the "Co" in "Co-op Partners" stays), and never the
    # whole name: a company called "AG" is still called something.
    while len(tokens) > 1 and tokens[-1] in suffixes:
        tokens.pop()
    return " ".join(tokens)


def normalise_domain(website: str | None) -> str | None:
    """A web address's host without scheme, 'www.', port or path: 'https://www.Acme.com/x' -> 'acme.com'."""
    if not website or not website.strip():
        return None
    text = website.strip()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:  # e.g. an unbalanced "[" taken for an IPv6 literal: no usable domain
        return None
    host = host.rstrip(".").removeprefix("www.")
    return host or None


def normalise_tax_id(tax_id: str | None) -> str | None:
    """Letters and digits only, upper case: 'de 123.456.789' -> 'DE123456789'."""
    if tax_id is None:
        return None
    cleaned = "".join(c for c in tax_id.upper() if c.isalnum())
    return cleaned or None


class Matcher:
    """Applies a landscape's matching rules."""

    def __init__(self, rules: MatchingRules | None = None) -> None:
        self.rules = rules if rules is not None else MatchingRules()

    def key(self, customer: CustomerKeys, key: MatchKey) -> str | None:
        """The normalised value of `key` for `customer` (None when it has none)."""
        if key is MatchKey.TAX_ID:
            return normalise_tax_id(customer.tax_id)
        if key is MatchKey.DOMAIN:
            return normalise_domain(customer.website)
        return normalise_name(customer.name, self.rules.legal_suffixes) or None

    def match(self, candidate: CustomerKeys, existing: Iterable[CustomerKeys]) -> MatchResult:
        """Link `candidate` to one of `existing`, or say it is ambiguous or new."""
        tax_id = normalise_tax_id(candidate.tax_id)
        # Two different tax ids are two legal entities, however alike their names or sites
        # ("Acme Inc" and "Acme GmbH" both normalise to "acme"): never a match by a weaker key.
        pool = [
            record
            for record in existing
            if tax_id is None or normalise_tax_id(record.tax_id) in (None, tax_id)
        ]
        for key in self.rules.keys:
            wanted = self.key(candidate, key)
            if wanted is None:
                continue
            found = tuple(record for record in pool if self.key(record, key) == wanted)
            if len(found) == 1:
                return MatchResult(outcome=MatchOutcome.LINK, key=key, matches=found)
            if found:
                return MatchResult(outcome=MatchOutcome.AMBIGUOUS, key=key, matches=found)
        return MatchResult(outcome=MatchOutcome.NEW)


def match(
    candidate: CustomerKeys, existing: Iterable[CustomerKeys], rules: MatchingRules | None = None
) -> MatchResult:
    """`Matcher(rules).match(candidate, existing)`: the default rules when none are given."""
    return Matcher(rules).match(candidate, existing)

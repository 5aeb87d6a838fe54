"""The landscape file as pydantic models: systems, legal entities, routing, ownership, mappings, matching.

One landscape file per deployment describes the firm's systems. It is TOML because the standard
library reads it (`tomllib`, Python 3.11+), so nothing new ships to Lambda; because a finance or
operations person can edit it without learning indentation rules (YAML) or fighting quotes and
commas (JSON); and because it has comments and real dates (a cutover date is a date, not a string).

Schema in brief (see `infra/landscapes/demo.toml` for a complete, commented example):

    [landscape]        name, version (the version is shown in every log line)
    [[systems]]        name (a SystemName), role (crm | psa | accounting), intake (salesforce:
                       outbound_messages (default) | change_data_capture)
    [[legal_entities]] code, name, functional_currency (ISO 4217)
    [[routing]]        legal_entity, system (an accounting system), from_date (left out on an
                       entity's first route: every earlier date), shadow_from (before a cutover:
                       postings are also computed for the new system, not written): where postings go
    [ownership.<domain>]  owner = system, fields = { <system> = ["field", ...] } where it differs
    [mappings]         <table> = [ { source, target, source_system, target_system,
                                     legal_entity? }, ... ]   (project_templates rows add rate_card;
                       service_items, service_tax_codes, expense_accounts map a PSA service name,
                       payment_accounts a legal entity code: what posted work is booked with)
    [matching]         keys = ["tax_id", "domain", "name"] (order of trust), legal_suffixes = [...]
    [lifecycle.customer]  on_merge = repoint | deactivate | exception,
                       on_delete = deactivate | exception (what merges and deletes do to copies)
    [[rate_card]]      name (declared in mappings.rate_cards), currency, effective_from,
                       rates = { "<role>" = "<rate per hour>", ... }: a template's default card
    [billing]          run_on_day (the day of the month the previous month is billed),
                       approval_threshold = { "<currency>" = "<amount>" } (invoices above it wait
                       for a person), fixed_item (service item of milestone and retainer lines,
                       per accounting system), tax_rates = [ { legal_entity, code, rate } ]

Mapping rows are written out in full, one inline table per row: each row stands alone, reads the
same wherever it is grepped from, and a table may hold rows for several system pairs. Rows scoped to
a legal entity (`legal_entity = "UK01"`) win over unscoped rows for postings of that entity.

Validation is done in one pydantic pass so that every problem is reported at once: checks that need
the rest of the file (is this owner a connected system? is this rate card declared?) read the
declarations gathered from the raw file before the pass (`landscape_refs`), instead of stopping the
pass at the first model-level error.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, model_validator

from shared.domain.models import SystemName
from shared.domain.systems import SYSTEMS, Domain, Intake, Role
from shared.governance.landscape_refs import (
    AccountingSystem,
    ConnectedSystem,
    Currency,
    LegalEntityCode,
    NonEmpty,
    RateCardName,
    Section,
    declared,
    references,
)
from shared.governance.landscape_terms import Billing, DefaultRateCard, RateCards

# --- the sections ---------------------------------------------------------------------------


class LandscapeInfo(Section):
    """`[landscape]`: which firm's landscape this is, and its version (shown in every log line)."""

    name: NonEmpty
    version: NonEmpty


class System(Section):
    """`[[systems]]`: one connected system and its role."""

    name: SystemName
    role: Role
    # None: the vendor's default (the first of its intakes in shared/domain/systems.py).
    intake: Intake | None = None

    @model_validator(mode="after")
    def _role_fits_vendor(self) -> System:
        expected = SYSTEMS[self.name].role
        if self.role is not expected:
            raise ValueError(f"{self.name} is a {expected} system; expected role = {expected.value!r}")
        offered = SYSTEMS[self.name].intakes
        if self.intake is not None and self.intake not in offered:
            raise ValueError(
                f"{self.name} cannot deliver its changes by {self.intake.value!r}; "
                f"expected intake = {' or '.join(repr(i.value) for i in offered)}"
            )
        return self

    @property
    def chosen_intake(self) -> Intake:
        """The intake the landscape chose, or the vendor's default."""
        return self.intake or SYSTEMS[self.name].default_intake


class LegalEntity(Section):
    """`[[legal_entities]]`: a company of the firm that books in its own functional currency."""

    code: NonEmpty
    name: NonEmpty
    functional_currency: Currency


class Route(Section):
    """`[[routing]]`: from `from_date` on, postings of `legal_entity` go to `system`.

    An entity's first route has no `from_date` (it covers every date before the next one), so no
    posting is ever without a system. A later route is a cutover: with `shadow_from`, postings dated
    from then until `from_date` still go to the system before it and are also computed for this one
    without being written (`close2cash cutover diff` compares the two, document by document).
    """

    legal_entity: LegalEntityCode
    system: AccountingSystem
    from_date: date | None = None
    shadow_from: date | None = None

    @model_validator(mode="after")
    def _takes_postings(self) -> Route:
        held = SYSTEMS[self.system].holds
        if Domain.TIME not in held or Domain.INVOICE not in held:
            kept = ", ".join(sorted(domain.value for domain in held)) or "nothing"
            raise ValueError(
                f"{self.system} cannot take postings in close2cash yet (its connector holds {kept}); "
                "expected an accounting system that takes time, expenses and invoices"
            )
        return self

    @model_validator(mode="after")
    def _shadow_before_cutover(self) -> Route:
        if self.shadow_from is not None and (self.from_date is None or self.shadow_from >= self.from_date):
            raise ValueError(
                f"shadow_from {self.shadow_from.isoformat()} must come before the route's from_date "
                "(shadow postings run up to the cutover)"
            )
        return self


class OwnershipRule(Section):
    """One domain's owner, and the fields some other system owns (listed per owning system)."""

    owner: ConnectedSystem
    fields: dict[ConnectedSystem, list[NonEmpty]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _each_field_owned_once(self) -> OwnershipRule:
        owners: dict[str, list[str]] = {}
        for system, names in self.fields.items():
            for name in names:
                owners.setdefault(name, []).append(system.value)
        twice = {name: systems for name, systems in owners.items() if len(systems) > 1}
        if twice:
            described = "; ".join(f"{name!r} by {' and '.join(s)}" for name, s in sorted(twice.items()))
            raise ValueError(f"a field is owned twice ({described}); expected one owner per field")
        return self


class Ownership(Section):
    """`[ownership]`: one rule per domain; every domain must say who owns it."""

    customer: OwnershipRule
    contact: OwnershipRule
    opportunity: OwnershipRule
    engagement: OwnershipRule
    time: OwnershipRule
    expense: OwnershipRule
    invoice: OwnershipRule
    payment: OwnershipRule
    credit_memo: OwnershipRule

    def rule(self, domain: Domain) -> OwnershipRule:
        """The ownership rule of `domain`."""
        rule: OwnershipRule = getattr(self, domain.value)
        return rule


class MappingRow(Section):
    """One translation: `source` as `source_system` says it is `target` in `target_system`."""

    source: NonEmpty
    target: NonEmpty
    source_system: ConnectedSystem
    target_system: ConnectedSystem
    legal_entity: LegalEntityCode | None = Field(
        default=None, description="the row applies to this legal entity only"
    )

    @model_validator(mode="after")
    def _two_systems(self) -> MappingRow:
        if self.source_system == self.target_system:
            raise ValueError(
                f"source_system and target_system are both {self.source_system}; "
                "expected a mapping between two different systems"
            )
        return self


RowT = TypeVar("RowT", bound=MappingRow)


class CurrencyRow(MappingRow):
    """A currency mapping: `source` is the ISO 4217 code, `target` the target system's reference."""

    source: Currency


class LegalEntityRow(MappingRow):
    """A legal entity mapping: which declared legal entity the row's values stand for."""

    legal_entity: LegalEntityCode


class ProjectTemplateRow(MappingRow):
    """A service line (`source`) mapped to a project template (`target`) and its rate card."""

    rate_card: RateCardName


def _no_duplicate_rows(rows: list[RowT]) -> list[RowT]:
    seen: Counter[tuple[str, str, str | None, str]] = Counter(
        (r.source_system, r.target_system, r.legal_entity, r.source) for r in rows
    )
    twice = sorted(key for key, count in seen.items() if count > 1)
    if twice:
        described = "; ".join(
            f"{src!r} from {a} to {b}" + (f" for {entity}" if entity else "") for a, b, entity, src in twice
        )
        raise ValueError(f"a value is mapped twice ({described}); expected one row per value")
    return rows


Rows = Annotated[list[MappingRow], AfterValidator(_no_duplicate_rows)]


class MappingTables(Section):
    """`[mappings]`: the translation tables, each a list of rows (see the module docstring)."""

    legal_entities: Annotated[list[LegalEntityRow], AfterValidator(_no_duplicate_rows)] = []
    departments: Rows = []
    classes: Rows = []
    locations: Rows = []
    cost_centers: Rows = []
    tax_codes: Rows = []
    currencies: Annotated[list[CurrencyRow], AfterValidator(_no_duplicate_rows)] = []
    payment_terms: Rows = []
    rate_cards: Rows = []
    project_templates: Annotated[list[ProjectTemplateRow], AfterValidator(_no_duplicate_rows)] = []
    revenue_accounts: Rows = []
    # Approved work posted to accounting (shared/sync/delivery): a PSA service (named after the role,
    # or the kind of expense) -> the accounting item time is posted with, its tax code, the account an
    # expense is charged to; and per legal entity (source = its code) the account expenses are paid from.
    service_items: Rows = []
    service_tax_codes: Rows = []
    expense_accounts: Rows = []
    payment_accounts: Rows = []

    def table(self, name: str) -> list[MappingRow]:
        """The rows of table `name`; KeyError for a table the landscape does not know."""
        if name not in type(self).model_fields:
            raise KeyError(name)
        rows: list[MappingRow] = getattr(self, name)
        return rows


class MatchKey(StrEnum):
    """What identifies a customer that already exists in several systems."""

    TAX_ID = "tax_id"
    DOMAIN = "domain"
    NAME = "name"


def _distinct_keys(keys: list[MatchKey]) -> list[MatchKey]:
    if len(set(keys)) != len(keys):
        raise ValueError("a key is listed twice; expected each of tax_id, domain, name at most once")
    return keys


DEFAULT_LEGAL_SUFFIXES = (
    "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "lp", "ltd", "limited",
    "plc", "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "as", "oy", "pty",
)  # fmt: skip


class MatchingRules(Section):
    """`[matching]`: keys tried in order (most trusted first) and the legal suffixes to ignore."""

    keys: Annotated[list[MatchKey], Field(min_length=1), AfterValidator(_distinct_keys)] = [
        MatchKey.TAX_ID,
        MatchKey.DOMAIN,
        MatchKey.NAME,
    ]
    legal_suffixes: list[NonEmpty] = list(DEFAULT_LEGAL_SUFFIXES)


def _unique_systems(systems: list[System]) -> list[System]:
    names = Counter(s.name for s in systems)
    twice = sorted(name.value for name, count in names.items() if count > 1)
    if twice:
        raise ValueError(f"{', '.join(twice)} declared more than once; expected each system once")
    return systems


def _unique_entities(entities: list[LegalEntity]) -> list[LegalEntity]:
    codes = Counter(e.code for e in entities)
    twice = sorted(code for code, count in codes.items() if count > 1)
    if twice:
        raise ValueError(f"legal entity {', '.join(twice)} declared more than once; expected each once")
    return entities


def _routes_complete(routes: list[Route]) -> list[Route]:
    """Every legal entity has exactly one system on every date: one open first route, distinct cutovers."""
    starts = Counter((r.legal_entity, r.from_date) for r in routes)
    twice = sorted(
        (key for key, count in starts.items() if count > 1), key=lambda k: (k[0], k[1] or date.min)
    )
    if twice:
        described = ", ".join(
            f"{entity} from {day.isoformat()}" if day else f"{entity} without a from_date"
            for entity, day in twice
        )
        raise ValueError(f"two routes for {described}; expected one system per legal entity and date")
    entities = sorted({r.legal_entity for r in routes})
    unopened = [e for e in entities if (e, None) not in starts]
    if unopened:
        first = {e: min(r.from_date for r in routes if r.legal_entity == e and r.from_date) for e in unopened}
        described = ", ".join(f"{e} before {day.isoformat()}" for e, day in first.items())
        raise ValueError(
            f"no system takes postings of {described}; expected the first [[routing]] entry of each legal "
            "entity without a from_date (it covers every date before the next entry's)"
        )
    for entity in entities:
        ordered = sorted(
            (r for r in routes if r.legal_entity == entity), key=lambda r: r.from_date or date.min
        )
        for before, route in itertools.pairwise(ordered):
            if route.shadow_from is not None and before.from_date and route.shadow_from < before.from_date:
                raise ValueError(
                    f"{entity}: shadow_from {route.shadow_from.isoformat()} starts before the route it "
                    f"shadows ({before.system} from {before.from_date.isoformat()})"
                )
    refs = references()
    if refs is not None and refs.systems - refs.others:
        unrouted = sorted(refs.legal_entities - {r.legal_entity for r in routes})
        if unrouted:
            raise ValueError(
                f"legal entity {', '.join(unrouted)} has no route; expected a [[routing]] entry "
                "naming the accounting system its postings go to"
            )
    return routes


class OnMerge(StrEnum):
    """What becomes of a customer's copies when its record is merged into another."""

    REPOINT = "repoint"  # the copies follow the survivor (a duplicate copy is deactivated)
    DEACTIVATE = "deactivate"  # the merged-away record's copies are made inactive
    EXCEPTION = "exception"  # nothing changes; an exception names the records for a person


class OnDelete(StrEnum):
    """What becomes of a customer's copies when the CRM deletes the account."""

    DEACTIVATE = "deactivate"  # QuickBooks customer Active=false, Productive company archived
    EXCEPTION = "exception"  # nothing changes; an exception names the copies for a person


class CustomerLifecycle(Section):
    """`[lifecycle.customer]`: merges and deletes, decided by the firm, never guessed by the hub.

    `on_merge` applies to a merge in the CRM (the loser's copies) and in a target (the ledger's
    cross-reference: `repoint` names the survivor, anything else opens an exception); `on_delete`
    to an account deleted in the CRM. A copy deleted in a target is drift either way.
    """

    on_merge: OnMerge = OnMerge.EXCEPTION
    on_delete: OnDelete = OnDelete.EXCEPTION


class Lifecycle(Section):
    """`[lifecycle]`: per domain, what merges and deletes do to the copies."""

    customer: CustomerLifecycle = CustomerLifecycle()


class Landscape(Section):
    """The whole landscape file: what a firm edits to describe its systems."""

    landscape: LandscapeInfo
    systems: Annotated[list[System], Field(min_length=1), AfterValidator(_unique_systems)]
    legal_entities: Annotated[list[LegalEntity], AfterValidator(_unique_entities)] = []
    routing: Annotated[list[Route], AfterValidator(_routes_complete)] = []
    ownership: Ownership
    mappings: MappingTables = MappingTables()
    matching: MatchingRules = MatchingRules()
    lifecycle: Lifecycle = Lifecycle()
    rate_card: RateCards = []
    billing: Billing = Billing()

    @model_validator(mode="wrap")
    @classmethod
    def _with_references(cls, data: Any, handler: Any) -> Landscape:
        # Cross-references are checked field by field against what the raw file declares, so a
        # broken section never hides the problems of another (all errors come out of one pass).
        with declared(data):
            landscape: Landscape = handler(data)
        return landscape

    def rate_card_named(self, name: str) -> DefaultRateCard | None:
        """The `[[rate_card]]` called `name`, if the file defines its rates."""
        return next((card for card in self.rate_card if card.name == name), None)

    def system(self, name: SystemName) -> System | None:
        """The connected system called `name`, if it is connected."""
        return next((s for s in self.systems if s.name == name), None)

    def systems_with(self, role: Role) -> list[SystemName]:
        """The connected systems that play `role`."""
        return [s.name for s in self.systems if s.role is role]

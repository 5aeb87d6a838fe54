"""The customer master's ports: the system of record for accounts, and the targets that hold copies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import Field

from shared.domain.models import Account, CanonicalModel, SourceRef, SystemName
from shared.domain.ports import CrossReference

if TYPE_CHECKING:
    # Typing only: handlers that never set up engagements do not pay for importing these models.
    pass

# --- systems of record and targets ----------------------------------------------------------


class RecordFate(CanonicalModel):
    """What became of a record its system no longer returns: deleted, or merged into a survivor."""

    deleted: bool
    merged_into: str | None = Field(default=None, description="the surviving record's id, on a merge")


@runtime_checkable
class AccountSource(Protocol):
    """The system of record for accounts (the CRM): the hub reads the current record from it."""

    system: SystemName

    def fetch_account(self, account_id: str) -> Account: ...

    def account_fate(self, account_id: str) -> RecordFate | None:
        """What became of an account `fetch_account` no longer finds: deleted, or merged into another.

        None when the system knows nothing of the id (never existed, or purged for good).
        """
        ...

    def merged_away(self, survivor_id: str) -> list[str]:
        """Ids of the accounts merged into `survivor_id` (deleted, their copies maybe orphaned)."""
        ...

    def fetch_with_merged(self, account_id: str) -> tuple[Account, list[str]]:
        """`fetch_account` and `merged_away` together, in one call where the system can answer both.

        Raises what `fetch_account` raises (NotFoundError once the account itself is gone).
        """
        ...

    def show_owned_elsewhere(self, account_id: str, values: Mapping[str, str | None]) -> None:
        """Show on the account the values of fields another system owns (e.g. payment terms).

        `values` is keyed by canonical field name, in this system's words; writing them twice
        leaves the same record.
        """
        ...


class TargetRecord(CanonicalModel):
    """A record in a target system and its content seen through the canonical model."""

    ref: SourceRef
    view: Account
    origin: SourceRef | None = Field(
        default=None,
        description="the system-of-record record the hub stamped on it when it made it (None: no stamp)",
    )
    active: bool = Field(default=True, description="False: made inactive (archived) in its system")

    def made_for(self, source: SourceRef) -> bool:
        """True when the hub made this record for `source` (its stamp names that system and id)."""
        return self.origin is not None and (self.origin.system, self.origin.id) == (source.system, source.id)


# A handful is enough for a person to compare in an exception, and small enough that looking for
# namesakes costs one or two vendor calls per new customer, never a walk through the whole list.
MAX_MATCH_CANDIDATES = 20


@runtime_checkable
class AccountTarget(Protocol):
    """A system that holds a copy of each account (PSA client, accounting customer).

    Idempotency: `idempotency_key` is stable for the intent (the same account being created, or the
    same content being written over the same version); the connector passes it to the vendor's own
    device (QBO `requestid`, ...) so that a retried request never creates a second record.
    """

    system: SystemName

    def project(self, account: Account) -> Account:
        """The content this system will hold after writing `account` (fields it cannot store drop)."""
        ...

    def read_account(self, record_id: str) -> TargetRecord: ...

    def find_account(self, account: Account) -> TargetRecord | None:
        """The record this hub created earlier for `account`, found by the reference stamped on it."""
        ...

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Records that could be the same customer as `account`, at most `MAX_MATCH_CANDIDATES`.

        Found by name (and by web domain where the vendor can search it), inactive or archived ones
        included and none excluded: deciding which one, if any, is the same customer is the
        matching rules' job (`shared.governance.matching`), not the connector's. When more records
        share a name than the bound, the connector narrows its search rather than cut the list at
        random, because a cut list could make an ambiguous name look unique.
        """
        ...

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord: ...

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        """Write `account` over the record; `last_synced` is what the ledger knows of it (its version
        and content as last synced), so a connector that needs the version can skip reading it first
        (and reads it only when the vendor says the version moved)."""
        ...

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        """Make the copy inactive (kept, with its history, but out of use); twice is the same as once."""
        ...

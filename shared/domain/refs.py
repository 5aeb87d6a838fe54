"""References between lifecycle records: where the referenced record lives in its system of record."""

from __future__ import annotations

from shared.domain.models import SourceRef

# A reference is the referenced record's own SourceRef (system + type + id): a PSA time entry names
# its PSA project, an ERP payment names the ERP invoice. The ledger's cross-references translate a
# reference into another system's id at the connector boundary. The aliases say which kind of
# record a field points at, so the models read like the business.
AccountRef = SourceRef
ContactRef = SourceRef
WorkerRef = SourceRef
OpportunityRef = SourceRef
ContractRef = SourceRef
RateCardRef = SourceRef
ProjectRef = SourceRef
EngagementRef = SourceRef
TimeEntryRef = SourceRef
ExpenseEntryRef = SourceRef
InvoiceRef = SourceRef

__all__ = [
    "AccountRef",
    "ContactRef",
    "ContractRef",
    "EngagementRef",
    "ExpenseEntryRef",
    "InvoiceRef",
    "OpportunityRef",
    "ProjectRef",
    "RateCardRef",
    "TimeEntryRef",
    "WorkerRef",
]

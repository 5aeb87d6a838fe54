"""Pure functions: Salesforce Account and Opportunity records -> the canonical `Account` and `Opportunity`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.connectors.salesforce.schemas import (
    SalesforceAccount,
    SalesforceOpportunity,
    SalesforceOpportunityLineItem,
)
from shared.domain.commercial import IncompleteOpenDeal, Opportunity, OpportunityLine, OpportunityStatus
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel
from shared.domain.errors import ValidationFailed
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.systems import Role

ACCOUNT_TYPE = "Account"
OPPORTUNITY_TYPE = "Opportunity"

# Custom fields the firm adds to its org for the hub (Setup > Object Manager); documented in the
# connector's __init__ with the rest of the org set-up.
TAX_ID_FIELD = "Tax_Id__c"  # Account, text: the customer's tax / VAT registration number
# Account fields the hub writes for values another system owns (canonical field -> Account field),
# when the landscape gives a customer field to a system other than the CRM.
OWNED_ELSEWHERE_FIELDS = {
    "payment_terms": "Payment_Terms__c",
    "name": "Name",
    "website": "Website",
    "phone": "Phone",
    "tax_id": TAX_ID_FIELD,
}
SERVICE_LINE_FIELD = "Service_Line__c"  # Opportunity, picklist: the landscape maps it to a template
BILLING_MODEL_FIELD = "Billing_Model__c"  # Opportunity, picklist: see BILLING_MODELS
# Opportunity, optional: the delivering department, office and cost center, in the firm's codes.
DEPARTMENT_FIELD = "Department__c"  # picklist
LOCATION_FIELD = "Delivery_Location__c"  # picklist
COST_CENTER_FIELD = "Cost_Center__c"  # text
DIMENSION_FIELDS = (DEPARTMENT_FIELD, LOCATION_FIELD, COST_CENTER_FIELD)
ROLE_FIELD = "Role__c"  # OpportunityLineItem, text: the role sold; the product name when blank
# Opportunity custom fields engagement setup writes its outcome into (see the package docstring).
PSA_PROJECT_FIELD = "C2C_PSA_Project_Id__c"
ACCOUNTING_PROJECT_FIELD = "C2C_Accounting_Project_Id__c"
SETUP_STATUS_FIELD = "C2C_Setup_Status__c"
SETUP_DETAIL_FIELD = "C2C_Setup_Detail__c"
WRITE_BACK_FIELDS = (PSA_PROJECT_FIELD, ACCOUNTING_PROJECT_FIELD, SETUP_STATUS_FIELD, SETUP_DETAIL_FIELD)
# The field that shows the engagement's id in the system playing each role, whichever system that is.
PROJECT_FIELDS = {Role.PSA: PSA_PROJECT_FIELD, Role.ACCOUNTING: ACCOUNTING_PROJECT_FIELD}
# C2C_Setup_Status__c picklist values -> where the engagement stands (any other value: unknown).
SETUP_STATUSES: dict[str, EngagementStatus] = {
    "active": EngagementStatus.ACTIVE,
    "rejected": EngagementStatus.CLOSED,
    "failed": EngagementStatus.CLOSED,
    "pending_approval": EngagementStatus.DRAFT,
}

# Billing_Model__c picklist labels (and the canonical values, for orgs that use them as API names).
BILLING_MODELS: dict[str, BillingModel] = {
    "time and materials": BillingModel.TIME_AND_MATERIALS,
    "time & materials": BillingModel.TIME_AND_MATERIALS,
    "t&m": BillingModel.TIME_AND_MATERIALS,
    "fixed fee": BillingModel.FIXED_FEE,
    "fixed price": BillingModel.FIXED_FEE,
    "retainer": BillingModel.RETAINER,
    **{model.value: model for model in BillingModel},
}


def _text(value: str | None) -> str | None:
    """Salesforce returns blank text fields as null or "" depending on the API path; both mean absent."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def version_of(timestamp: datetime) -> str:
    """A record version string from a Salesforce timestamp: UTC, millisecond precision, like the API."""
    return timestamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def billing_address(record: SalesforceAccount) -> PostalAddress | None:
    """The Billing* compound address, or None when every part is empty."""
    parts = {
        "street": _text(record.billing_street),
        "city": _text(record.billing_city),
        "region": _text(record.billing_state),
        "postal_code": _text(record.billing_postal_code),
        "country": _text(record.billing_country),
    }
    if not any(parts.values()):
        return None
    return PostalAddress(**parts)


def account_from_salesforce(record: SalesforceAccount) -> Account:
    """The canonical account for one Salesforce Account record.

    `modified_at` is LastModifiedDate (the last change a person or integration made); the version is
    SystemModstamp, which also moves on system changes, so that any change yields a new version.
    Both fall back to each other when a query selected only one of them.
    """
    modified = record.last_modified_date or record.system_modstamp
    stamp = record.system_modstamp or record.last_modified_date
    currency = _text(record.currency_iso_code)
    try:
        return Account(
            source=SourceRef(
                system=SystemName.SALESFORCE,
                type=ACCOUNT_TYPE,
                id=record.id,
                version=version_of(stamp) if stamp else None,
            ),
            name=_text(record.name) or "",
            website=_text(record.website),
            phone=_text(record.phone),
            billing_address=billing_address(record),
            currency=currency.upper() if currency else None,
            tax_id=_text(record.tax_id),
            modified_at=modified,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValidationFailed(f"Salesforce Account {record.id} cannot be mapped: {problems}") from exc


def account_from_payload(payload: dict[str, Any]) -> Account:
    """The canonical account for a raw JSON record (GET sObject Rows or one SOQL row)."""
    try:
        record = SalesforceAccount.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"Salesforce Account payload is not valid: {exc}") from exc
    return account_from_salesforce(record)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


def opportunity_status(record: SalesforceOpportunity) -> OpportunityStatus:
    """IsClosed/IsWon, which the org derives from the stage's settings, whatever the stage is called.

    https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Opportunity.htm
    """
    if not record.is_closed:
        return OpportunityStatus.OPEN
    return OpportunityStatus.WON if record.is_won else OpportunityStatus.LOST


def billing_model(raw: str | None, opportunity_id: str) -> BillingModel | None:
    """The canonical billing model of a Billing_Model__c value (None when blank)."""
    text = _text(raw)
    if text is None:
        return None
    model = BILLING_MODELS.get(text.lower())
    if model is None:
        raise ValidationFailed(
            f"Salesforce Opportunity {opportunity_id}: {BILLING_MODEL_FIELD} {text!r} is not a known "
            f"billing model (expected one of: Time and Materials, Fixed Fee, Retainer)"
        )
    return model


def opportunity_line(
    item: SalesforceOpportunityLineItem, currency: str, opportunity_id: str
) -> OpportunityLine:
    """One OpportunityLineItem as a role sold: Role__c (else the product's name), Quantity, UnitPrice."""
    role = _text(item.role) or _text(item.product_name)
    where = f"Salesforce Opportunity {opportunity_id}, line item {item.id}"
    if role is None:
        raise ValidationFailed(f"{where}: neither {ROLE_FIELD} nor the product name says which role was sold")
    if item.quantity is None or item.unit_price is None:
        raise ValidationFailed(f"{where}: Quantity and UnitPrice are required")
    try:
        return OpportunityLine(
            role=role,
            quantity=item.quantity,
            rate=Money.of(item.unit_price, currency),
            description=_text(item.description),
        )
    except ValidationError as exc:
        raise ValidationFailed(f"{where} cannot be mapped: {_problems(exc)}") from exc


def opportunity_from_salesforce(
    record: SalesforceOpportunity,
    line_items: list[SalesforceOpportunityLineItem],
    *,
    corporate_currency: str,
) -> Opportunity:
    """The canonical opportunity for one Opportunity and all of its line items.

    Money is in the opportunity's currency: CurrencyIsoCode in multi-currency orgs (line items always
    share their opportunity's currency), else the org's corporate currency. The version is
    SystemModstamp, so re-opening and re-closing a deal gives a new close version.

    What a won deal must carry (service line, account, close date, priced lines) is required only
    once it is won: an open or lost deal missing any raises `IncompleteOpenDeal`, which says so.
    """
    status = opportunity_status(record)
    try:
        return _opportunity(record, line_items, status, corporate_currency=corporate_currency)
    except ValidationFailed as exc:
        if status is OpportunityStatus.WON:
            raise
        raise IncompleteOpenDeal(
            f"{exc} (the deal is {status}; required once it is won)", status=status
        ) from exc


def _opportunity(
    record: SalesforceOpportunity,
    line_items: list[SalesforceOpportunityLineItem],
    status: OpportunityStatus,
    *,
    corporate_currency: str,
) -> Opportunity:
    stamp = record.system_modstamp or record.last_modified_date
    currency = (_text(record.currency_iso_code) or corporate_currency).upper()
    where = f"Salesforce Opportunity {record.id}"
    service_line = _text(record.service_line)
    if service_line is None:
        raise ValidationFailed(f"{where}: {SERVICE_LINE_FIELD} (service line) is required and is blank")
    if _text(record.account_id) is None:
        raise ValidationFailed(f"{where}: AccountId is blank; an engagement needs a customer account")
    if record.close_date is None:
        raise ValidationFailed(f"{where}: CloseDate is blank")
    lines = tuple(opportunity_line(item, currency, record.id) for item in line_items)
    try:
        # Amount is nillable; when products are attached Salesforce keeps it at the sum of the lines.
        amount = Money.of(record.amount, currency) if record.amount is not None else Money.zero(currency)
        return Opportunity(
            source=SourceRef(
                system=SystemName.SALESFORCE,
                type=OPPORTUNITY_TYPE,
                id=record.id,
                version=version_of(stamp) if stamp else None,
            ),
            account=SourceRef(system=SystemName.SALESFORCE, type=ACCOUNT_TYPE, id=str(record.account_id)),
            name=_text(record.name) or "",
            stage=_text(record.stage_name) or "",
            status=status,
            close_date=record.close_date,
            stage_changed_at=record.last_stage_change_date,
            amount=amount,
            # Opportunity.Probability is a percent (0..100), the canonical unit: taken as it is.
            # https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-opportunity.html
            probability=record.probability,
            service_line=service_line,
            billing_model=billing_model(record.billing_model, record.id),
            department=_text(record.department),
            location=_text(record.location),
            cost_center=_text(record.cost_center),
            # Retainer_Hours__c / Retainer_Rollover__c (shared/connectors/salesforce/health.py).
            retainer_hours=record.retainer_hours,
            rollover=bool(record.retainer_rollover),
            lines=lines,
        )
    except ValidationError as exc:
        raise ValidationFailed(f"{where} cannot be mapped: {_problems(exc)}") from exc


def opportunity_from_payload(
    payload: dict[str, Any], line_items: list[dict[str, Any]], *, corporate_currency: str
) -> Opportunity:
    """The canonical opportunity for a raw SOQL row and every line item row (all subquery pages)."""
    try:
        record = SalesforceOpportunity.model_validate(payload)
        items = [SalesforceOpportunityLineItem.model_validate(item) for item in line_items]
    except ValidationError as exc:
        raise ValidationFailed(f"Salesforce Opportunity payload is not valid: {_problems(exc)}") from exc
    return opportunity_from_salesforce(record, items, corporate_currency=corporate_currency)


def setup_status(value: str | None) -> EngagementStatus | None:
    """Where the engagement stands as C2C_Setup_Status__c says (None: blank or not a known value)."""
    text = _text(value)
    return SETUP_STATUSES.get(text.lower()) if text else None

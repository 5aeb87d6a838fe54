"""The org's objects and fields: what each field is, which objects relate, which fields rules send."""

from __future__ import annotations

from dataclasses import dataclass

from infra.local.sandboxes.salesforce.ids import (
    ACCOUNT_PREFIX,
    LINE_ITEM_PREFIX,
    OPPORTUNITY_PREFIX,
    PRICEBOOK_ENTRY_PREFIX,
    PRICEBOOK_PREFIX,
    PRODUCT_PREFIX,
)

# --- the Account object --------------------------------------------------------------------------

# Account's fields are free text; the sandbox checks neither their length nor a picklist.
ACCOUNT_FIELDS = (
    "Name",
    "Type",
    "Industry",
    "AccountNumber",
    "Website",
    "Phone",
    "Description",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "CurrencyIsoCode",
    "Tax_Id__c",
    "Payment_Terms__c",
)
SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "OwnerId",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
DATETIME_FIELDS = frozenset({"CreatedDate", "LastModifiedDate", "SystemModstamp", "LastStageChangeDate"})
# The fields the outbound message rule was set up to send (Setup > Outbound Messages > fields).
ACCOUNT_OUTBOUND_FIELDS = (
    "Id",
    "Name",
    "Website",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "CurrencyIsoCode",
    "LastModifiedDate",
    "SystemModstamp",
)


# --- Opportunity, its products, and the price book they come from --------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of a sandbox object: its type, and whether the API may set it."""

    kind: str  # text, picklist, date, number, reference, boolean
    length: int = 255
    values: tuple[str, ...] = ()  # a restricted picklist's values
    refers_to: str | None = None
    create: bool = True
    update: bool = True
    required: bool = False


# Stages of the standard sales process: (label, IsClosed, IsWon). IsClosed and IsWon are read-only
# and follow from the stage's settings.
# https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Opportunity.htm
STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "JPY")
SERVICE_LINES = ("Advisory", "Implementation", "Managed Services", "Training")
BILLING_MODELS = ("Time and Materials", "Fixed Fee", "Retainer")
DEPARTMENTS = ("Strategy", "Technology")
LOCATIONS = ("New York", "London")
SETUP_STATUSES = ("pending_approval", "active", "rejected", "failed")
# The hub's key on Opportunity, marked External ID + Unique, so the sObject Rows by External ID
# resource can address opportunities by it.
EXTERNAL_ID_FIELD = "C2C_External_Id__c"

_UNCHECKED_LENGTH = 2**63

OBJECT_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Account": {
        name: FieldSpec("text", _UNCHECKED_LENGTH, required=name == "Name") for name in ACCOUNT_FIELDS
    },
    "Opportunity": {
        "Name": FieldSpec("text", 120, required=True),
        "AccountId": FieldSpec("reference", refers_to="Account"),
        "StageName": FieldSpec("picklist", values=tuple(STAGES), required=True),
        "CloseDate": FieldSpec("date", required=True),
        "Amount": FieldSpec("number"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
        "Description": FieldSpec("text", 32_000),
        "IsClosed": FieldSpec("boolean", create=False, update=False),
        "IsWon": FieldSpec("boolean", create=False, update=False),
        "HasOpportunityLineItem": FieldSpec("boolean", create=False, update=False),
        # Read-only, set by Salesforce when StageName changes (API 52.0+): a re-close moves it, an
        # edit of any other field does not.
        "LastStageChangeDate": FieldSpec("datetime", create=False, update=False),
        "Pricebook2Id": FieldSpec("reference", refers_to="Pricebook2"),
        "Service_Line__c": FieldSpec("picklist", values=SERVICE_LINES),
        "Billing_Model__c": FieldSpec("picklist", values=BILLING_MODELS),
        "Department__c": FieldSpec("picklist", values=DEPARTMENTS),
        "Delivery_Location__c": FieldSpec("picklist", values=LOCATIONS),
        "Cost_Center__c": FieldSpec("text", 40),
        "C2C_PSA_Project_Id__c": FieldSpec("text"),
        "C2C_Accounting_Project_Id__c": FieldSpec("text"),
        "C2C_Setup_Status__c": FieldSpec("picklist", values=SETUP_STATUSES),
        "C2C_Setup_Detail__c": FieldSpec("text", 1_000),
        EXTERNAL_ID_FIELD: FieldSpec("text"),
    },
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitylineitem.html
    "OpportunityLineItem": {
        "OpportunityId": FieldSpec("reference", refers_to="Opportunity", update=False, required=True),
        "PricebookEntryId": FieldSpec("reference", refers_to="PricebookEntry", update=False, required=True),
        "Product2Id": FieldSpec("reference", refers_to="Product2", create=False, update=False),
        "Name": FieldSpec("text", 376, create=False, update=False),
        "Quantity": FieldSpec("number", required=True),
        "UnitPrice": FieldSpec("number", required=True),
        "ListPrice": FieldSpec("number", create=False, update=False),
        "TotalPrice": FieldSpec("number", create=False, update=False),
        "Description": FieldSpec("text"),
        "SortOrder": FieldSpec("number"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES, create=False, update=False),
        "Role__c": FieldSpec("text", 80),
    },
    "Product2": {
        "Name": FieldSpec("text", required=True),
        "ProductCode": FieldSpec("text"),
        "IsActive": FieldSpec("boolean"),
    },
    "Pricebook2": {
        "Name": FieldSpec("text", required=True),
        "IsActive": FieldSpec("boolean"),
        "IsStandard": FieldSpec("boolean", create=False, update=False),
    },
    # A PricebookEntry ties a product to a price book in one currency; line items name the entry.
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-pricebookentry.html
    "PricebookEntry": {
        "Pricebook2Id": FieldSpec("reference", refers_to="Pricebook2", update=False, required=True),
        "Product2Id": FieldSpec("reference", refers_to="Product2", update=False, required=True),
        "Name": FieldSpec("text", create=False, update=False),
        "UnitPrice": FieldSpec("number", required=True),
        "IsActive": FieldSpec("boolean"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
    },
}
PREFIXES = {
    "Account": ACCOUNT_PREFIX,
    "Opportunity": OPPORTUNITY_PREFIX,
    "OpportunityLineItem": LINE_ITEM_PREFIX,
    "Product2": PRODUCT_PREFIX,
    "Pricebook2": PRICEBOOK_PREFIX,
    "PricebookEntry": PRICEBOOK_ENTRY_PREFIX,
}
# Child relationships a subquery may name: relationship -> (child object, its field naming the parent).
CHILD_RELATIONSHIPS = {("Opportunity", "OpportunityLineItems"): ("OpportunityLineItem", "OpportunityId")}
# Parent relationships a SELECT may traverse with a dot: (object, relationship) -> id field.
PARENT_RELATIONSHIPS = {
    ("OpportunityLineItem", "Product2"): "Product2Id",
    ("OpportunityLineItem", "PricebookEntry"): "PricebookEntryId",
    ("Opportunity", "Account"): "AccountId",
}
OPPORTUNITY_OUTBOUND_FIELDS = (
    "Id",
    "Name",
    "AccountId",
    "StageName",
    "IsClosed",
    "IsWon",
    "CloseDate",
    "Amount",
    "CurrencyIsoCode",
    "LastModifiedDate",
    "SystemModstamp",
)
# Each object's outbound message rule and the fields it sends.
OUTBOUND_FIELDS = {"Account": ACCOUNT_OUTBOUND_FIELDS, "Opportunity": OPPORTUNITY_OUTBOUND_FIELDS}

"""The org's objects and fields: what each field is, which objects relate, which fields rules send."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from infra.local.sandboxes.salesforce.ids import (
    ACCOUNT_PREFIX,
    LINE_ITEM_PREFIX,
    OPPORTUNITY_PREFIX,
    PRICEBOOK_ENTRY_PREFIX,
    PRICEBOOK_PREFIX,
    PRODUCT_PREFIX,
)

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

    kind: str  # text, picklist, date, datetime, number, integer, reference, boolean
    length: int = 255
    values: tuple[str, ...] = ()  # a picklist's values
    refers_to: str | None = None
    create: bool = True
    update: bool = True
    required: bool = False
    restricted: bool = True  # a picklist that refuses values outside its list
    type_name: str = ""  # the describe type when it is not the kind's (currency, url, phone, textarea)
    precision: int = 0  # number fields: total digits (0: the standard fields' 18)
    scale: int = 2  # number fields: digits after the point

    @property
    def describe_type(self) -> str:
        """The field's type as describe names it."""
        default = {"text": "string", "number": "double", "integer": "int"}
        return self.type_name or default.get(self.kind, self.kind)


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
# Each stage's default Probability (%), the org's OpportunityStage.DefaultProbability (Salesforce's
# default sales process): a write that changes StageName without naming Probability sets it.
# https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitystage.html
STAGE_PROBABILITIES: dict[str, Decimal] = {
    "Prospecting": Decimal(10),
    "Qualification": Decimal(10),
    "Proposal/Price Quote": Decimal(75),
    "Negotiation/Review": Decimal(90),
    "Closed Won": Decimal(100),
    "Closed Lost": Decimal(0),
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

# The billing custom fields (shared/connectors/salesforce/health.py declares them; the metadata in
# infra/salesforce/ deploys them; a test keeps the three equal): Currency(16, 2), Number and Date.
_MONEY = FieldSpec("number", type_name="currency", precision=16, scale=2)
HEALTH_FIELDS: dict[str, FieldSpec] = {
    "Invoiced_To_Date__c": _MONEY,
    "Paid_To_Date__c": _MONEY,
    "Credited_To_Date__c": _MONEY,
    "Open_AR__c": _MONEY,
    "Overdue_Amount__c": _MONEY,
    "Last_Payment_Date__c": FieldSpec("date"),
    "Days_Sales_Outstanding__c": FieldSpec("number", precision=7, scale=1),  # Number(7, 1)
    "Commercial_Health_As_Of__c": FieldSpec("date"),
}
DEAL_TERM_FIELDS: dict[str, FieldSpec] = {
    "Retainer_Hours__c": FieldSpec("number", precision=6, scale=2),  # Number(6, 2)
    "Retainer_Rollover__c": FieldSpec("boolean"),  # Checkbox, default unchecked
}

# Account's fields with their declared lengths, from the Account object reference; Type and Industry
# are standard picklists, which are unrestricted (the API stores a value outside the list).
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_account.htm
ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
INDUSTRIES = ("Banking", "Consulting", "Education", "Finance", "Healthcare", "Manufacturing", "Technology")
_ADDRESS = {"Street": 255, "City": 40, "State": 80, "PostalCode": 20, "Country": 80}

OBJECT_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Account": {
        "Name": FieldSpec("text", 255, required=True),
        "Type": FieldSpec("picklist", values=ACCOUNT_TYPES, restricted=False),
        "Industry": FieldSpec("picklist", values=INDUSTRIES, restricted=False),
        "ParentId": FieldSpec("reference", refers_to="Account"),
        "AccountNumber": FieldSpec("text", 40),
        "Website": FieldSpec("text", 255, type_name="url"),
        "Phone": FieldSpec("text", 40, type_name="phone"),
        "Description": FieldSpec("text", 32_000, type_name="textarea"),
        "NumberOfEmployees": FieldSpec("integer"),
        "AnnualRevenue": FieldSpec("number", type_name="currency"),
        **{f"Billing{part}": FieldSpec("text", size) for part, size in _ADDRESS.items()},
        **{f"Shipping{part}": FieldSpec("text", size) for part, size in _ADDRESS.items()},
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
        # The org's custom fields (Setup > Object Manager > Account): Text(40) and Text(100).
        "Tax_Id__c": FieldSpec("text", 40),
        "Payment_Terms__c": FieldSpec("text", 100),
        **HEALTH_FIELDS,
    },
    "Opportunity": {
        "Name": FieldSpec("text", 120, required=True),
        "AccountId": FieldSpec("reference", refers_to="Account"),
        "StageName": FieldSpec("picklist", values=tuple(STAGES), required=True),
        "CloseDate": FieldSpec("date", required=True),
        "Amount": FieldSpec("number", type_name="currency"),
        # Percent(3, 0): the likelihood of closing, 0..100, defaulted from the stage.
        # https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-opportunity.html
        "Probability": FieldSpec("number", type_name="percent", precision=3, scale=0),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
        "Description": FieldSpec("text", 32_000, type_name="textarea"),
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
        **HEALTH_FIELDS,
        **DEAL_TERM_FIELDS,
    },
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitylineitem.html
    "OpportunityLineItem": {
        "OpportunityId": FieldSpec("reference", refers_to="Opportunity", update=False, required=True),
        "PricebookEntryId": FieldSpec("reference", refers_to="PricebookEntry", update=False, required=True),
        "Product2Id": FieldSpec("reference", refers_to="Product2", create=False, update=False),
        "Name": FieldSpec("text", 376, create=False, update=False),
        "Quantity": FieldSpec("number", required=True),
        "UnitPrice": FieldSpec("number", required=True, type_name="currency"),
        "ListPrice": FieldSpec("number", create=False, update=False, type_name="currency"),
        "TotalPrice": FieldSpec("number", create=False, update=False, type_name="currency"),
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
        "UnitPrice": FieldSpec("number", required=True, type_name="currency"),
        "IsActive": FieldSpec("boolean"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
    },
}
# Organization and User are read-only here (the org and its integration user), queryable and
# describable. https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
_READ_ONLY_TEXT = FieldSpec("text", 80, create=False, update=False)
OBJECT_FIELDS["Organization"] = {
    name: _READ_ONLY_TEXT
    for name in (
        "Name",
        "OrganizationType",
        "InstanceName",
        "DefaultLocaleSidKey",
        "LanguageLocaleKey",
        "TimeZoneSidKey",
        "NamespacePrefix",
    )
} | {"IsSandbox": FieldSpec("boolean", create=False, update=False)}
OBJECT_FIELDS["User"] = {
    name: _READ_ONLY_TEXT
    for name in ("Username", "Name", "FirstName", "LastName", "Email", "Alias", "TimeZoneSidKey", "UserType")
} | {"IsActive": FieldSpec("boolean", create=False, update=False)}
ACCOUNT_FIELDS = tuple(OBJECT_FIELDS["Account"])
# The audit fields every record carries (MasterRecordId on Account only), typed for SOQL and describe.
_AUDIT = FieldSpec("reference", refers_to="User", create=False, update=False)
_STAMP = FieldSpec("datetime", create=False, update=False)
SYSTEM_SPECS: dict[str, FieldSpec] = {
    "Id": FieldSpec("id", 18, create=False, update=False),
    "IsDeleted": FieldSpec("boolean", create=False, update=False),
    "OwnerId": FieldSpec("reference", refers_to="User", create=False, update=False),
    "CreatedDate": _STAMP,
    "CreatedById": _AUDIT,
    "LastModifiedDate": _STAMP,
    "LastModifiedById": _AUDIT,
    "SystemModstamp": _STAMP,
    "MasterRecordId": FieldSpec("reference", refers_to="Account", create=False, update=False),
}
SYSTEM_FIELDS = tuple(name for name in SYSTEM_SPECS if name != "MasterRecordId")
READ_ONLY_OBJECTS = frozenset({"Organization", "User"})
# Objects without an owner or a recycle bin here: no OwnerId, no IsDeleted.
UNOWNED_OBJECTS = frozenset({"Organization", "User"})

PREFIXES = {
    "Account": ACCOUNT_PREFIX,
    "Opportunity": OPPORTUNITY_PREFIX,
    "OpportunityLineItem": LINE_ITEM_PREFIX,
    "Product2": PRODUCT_PREFIX,
    "Pricebook2": PRICEBOOK_PREFIX,
    "PricebookEntry": PRICEBOOK_ENTRY_PREFIX,
    "Organization": "00D",
    "User": "005",
}
# Child relationships a subquery may name: relationship -> (child object, its field naming the parent).
CHILD_RELATIONSHIPS = {
    ("Opportunity", "OpportunityLineItems"): ("OpportunityLineItem", "OpportunityId"),
    ("Account", "Opportunities"): ("Opportunity", "AccountId"),
    ("Account", "ChildAccounts"): ("Account", "ParentId"),
}
# Parent relationships a SELECT may traverse with a dot: (object, relationship) -> id field.
PARENT_RELATIONSHIPS = {
    ("OpportunityLineItem", "Product2"): "Product2Id",
    ("OpportunityLineItem", "PricebookEntry"): "PricebookEntryId",
    ("Opportunity", "Account"): "AccountId",
    ("Account", "Parent"): "ParentId",
    ("Account", "Owner"): "OwnerId",
    ("Opportunity", "Owner"): "OwnerId",
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

"""A local Salesforce org: REST (OAuth, Account, Opportunity with products, SOQL) and Outbound Messages.

It answers as the documented REST API does — paths, JSON error arrays, Sforce-Limit-Info, 403
REQUEST_LIMIT_EXCEEDED at the daily allocation, query locators — so the connector is tested against
the protocol, not against a mock. Fault switches let tests and the demo break it on purpose.

Modules, one idea each: ids (record ids), errors (error bodies), wire (JSON values and bodies),
schema (objects and fields), records (the store and its field checks), soql (queries), sobjects
(sObject REST resources), outbound (Outbound Messages), auth (OAuth), control (the UI-side control
API), app (routes, faults, limits; the SalesforceSandbox class).
"""

from infra.local.sandboxes.salesforce.app import SalesforceSandbox
from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.ids import (
    ACCOUNT_PREFIX,
    LINE_ITEM_PREFIX,
    NOTIFICATION_PREFIX,
    OPPORTUNITY_PREFIX,
    PRICEBOOK_ENTRY_PREFIX,
    PRICEBOOK_PREFIX,
    PRODUCT_PREFIX,
    to_18,
)
from infra.local.sandboxes.salesforce.outbound import (
    MAX_NOTIFICATIONS_PER_MESSAGE,
    OUTBOUND_RETENTION,
    DeliveryAttempt,
    PendingNotification,
)
from infra.local.sandboxes.salesforce.schema import (
    ACCOUNT_FIELDS,
    ACCOUNT_OUTBOUND_FIELDS,
    CURRENCIES,
    EXTERNAL_ID_FIELD,
    OBJECT_FIELDS,
    OPPORTUNITY_OUTBOUND_FIELDS,
    OUTBOUND_FIELDS,
    STAGES,
    FieldSpec,
)
from infra.local.sandboxes.salesforce.wire import Clock, dumps, sf_datetime

__all__ = [
    "ACCOUNT_FIELDS",
    "ACCOUNT_OUTBOUND_FIELDS",
    "ACCOUNT_PREFIX",
    "CURRENCIES",
    "EXTERNAL_ID_FIELD",
    "LINE_ITEM_PREFIX",
    "MAX_NOTIFICATIONS_PER_MESSAGE",
    "NOTIFICATION_PREFIX",
    "OBJECT_FIELDS",
    "OPPORTUNITY_OUTBOUND_FIELDS",
    "OPPORTUNITY_PREFIX",
    "OUTBOUND_FIELDS",
    "OUTBOUND_RETENTION",
    "PRICEBOOK_ENTRY_PREFIX",
    "PRICEBOOK_PREFIX",
    "PRODUCT_PREFIX",
    "STAGES",
    "Clock",
    "DeliveryAttempt",
    "FieldSpec",
    "PendingNotification",
    "SalesforceApiError",
    "SalesforceSandbox",
    "dumps",
    "sf_datetime",
    "to_18",
]

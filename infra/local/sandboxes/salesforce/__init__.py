# ruff: noqa: E501 - the table of what the sandbox serves reads best one row a line
"""A local Salesforce org: a twin of the REST API and Outbound Messages that a client written from
Salesforce's documentation can trust. It refuses what Salesforce refuses, with Salesforce's error
bodies (a JSON array of {message, errorCode, fields}); fault switches break it on purpose.

| Area | Served | Refused (as Salesforce answers) |
|---|---|---|
| OAuth | client credentials; client by HTTP Basic or in the body | unknown id `invalid_client_id`, bad secret `invalid_client`, both methods `invalid_request`, other grants |
| Versions | `GET /services/data` (31.0 .. the org's); URLs carry the request's version | 7.0-30.0 410 `GONE`; unknown 404 |
| Rows | create, read (`?fields=`), update, delete; upsert/read by `C2C_External_Id__c` (300 on duplicates) | unknown object/field 404/`INVALID_FIELD`; read-only objects `INVALID_TYPE_FOR_OPERATION` |
| Field checks | lengths, restricted picklists, required fields, references, org currencies, numbers (precision of custom fields), dates | `NUMBER_OUTSIDE_VALID_RANGE`, `STRING_TOO_LONG`, `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, `REQUIRED_FIELD_MISSING`, `MALFORMED_ID`, `INVALID_CROSS_REFERENCE_KEY`, `JSON_PARSER_ERROR`, `INVALID_FIELD_FOR_INSERT_UPDATE` |
| SOQL | fields, one-level parent paths, `FIELDS()`, `COUNT()`, one child subquery level, `AND`/`OR`/`NOT`, `= != < <= > >= LIKE IN NOT IN`, date/dateTime literals, `TODAY` `YESTERDAY` `TOMORROW` `LAST_N_DAYS:n` `NEXT_N_DAYS:n` `N_DAYS_AGO:n`, `ORDER BY` (nulls, several keys), `LIMIT`, `OFFSET`; text `=` ignores case; 15/18-char ids equal | `GROUP BY`, aggregates but `COUNT()`, semi-joins, other date literals, `TYPEOF`, `WITH`, `FOR`, unparenthesized AND/OR mix, mistyped values: `MALFORMED_QUERY`; bad ids `INVALID_QUERY_FILTER_OPERATOR`; `INVALID_FIELD`; `INVALID_TYPE` |
| Query paging | `queryAll` (IsDeleted rows), batches via `Sforce-Query-Options`, locators 15 min | stale locator `INVALID_QUERY_LOCATOR` |
| Metadata | `/sobjects` (describe global), `/sobjects/X`, `/sobjects/X/describe`, `/limits` (DailyApiRequests) | unknown object 404 |
| Replication | `/sobjects/X/updated`, `/sobjects/X/deleted` | end before start, start over 30 days ago: `INVALID_REPLICATION_DATE` |
| Collections | create, update, upsert by external id; 200 records; `allOrNone` rollback | 201+ records `EXCEEDED_ID_LIMIT` |
| Composite | up to 25 subrequests, `@{ref.field}` references, `allOrNone` rollback (`PROCESSING_HALTED`) | 26+ `LIMIT_EXCEEDED` |
| Limits | rolling 24 h allocation (the kit's RateWindows); `Sforce-Limit-Info: api-usage=X/Y` on every data API answer; `/limits` `DailyApiRequests` from the same count | over it 403 `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, not counted |
| Outbound Messages | Account and Opportunity rules, 100 notifications a message, SOAP Ack, replays; the kit's outbox: a refused message retried after waits doubling from 5 s up to 2 h, independently of order | a reply without Ack true is a refusal; undelivered at 24 h: dropped |
| Time | one clock (`clock=`; the runtime's under `LocalEnvironment`): sessions (2 h), modstamps, date literals, `updated`/`deleted` windows, CDC, retries, the 24 h allocation | an expired session 401 `INVALID_SESSION_ID` |
| Objects | Account, Opportunity, OpportunityLineItem, Product2, Pricebook2, PricebookEntry; Organization, User (read-only) | anything else `INVALID_TYPE` / 404 |

Modules, one idea each: ids, errors, wire (JSON values and bodies), schema (objects and fields),
records (the store, its checks, snapshots), soql_syntax (the grammar), soql (resolving and running
queries), sobjects (row and replication resources), describe (describe and limits), composite
(collections and composite), versions, outbound (Outbound Messages), auth (OAuth), control (the
UI-side control API), app (routes, faults, limits; the SalesforceSandbox class).
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

"""A local twin of QuickBooks Online (one company, one Intuit app), speaking QBO's documented protocol.

Tests mount it with `httpx.WSGITransport`; the demo serves it on a loopback port.

| area (file) | serves | refuses, with QBO's documented answer |
| --- | --- | --- |
| OAuth (oauth.py) | refresh grant, HTTP Basic client, | retired refresh token 400 `invalid_grant`, |
|                  | rotating refresh tokens (100 days) | wrong client 401 `invalid_client` |
| gate (app.py) | bearer tokens of one realm | bad bearer 401 (lowercase `fault`, 3200); |
|               |                           | other realm 403 3100; 500/min, 10/s, 10 at once: 429 |
| entities | Customer, Term, Item, Invoice, Employee, | the rest of QBO's entities: 404; |
| (entities.py) | TimeActivity, Account, Purchase, Payment, | |
|               | CreditMemo: read, create, | |
|               | sparse/full update; TaxCode: read | |
|               | Class, Department: read | Class/Department writes: 500 Unsupported |
| Customer | sub-customers, `requestid` replay (50 chars) | duplicate name 6240, stale SyncToken 5010, |
| (customers.py) | | no SyncToken 2020, colon, currency change, |
|                | | depth > 4: 6000, inactive parent 610 |
| Employee | create, read, sparse/full update, query; | DisplayName used by a customer, vendor |
| (time_activities.py) | `add_employee`, `add_vendor` | or employee: 6240 (both ways) |
| TimeActivity | NameOf Employee/Vendor + its Ref; | no NameOf, its Ref, Hours (nor Start |
| (time_activities.py) | Customer/Item/Class/DepartmentRef | and End), HourlyRate when Billable: |
|     | named; Hours+Minutes or Start/EndTime; | 2020; bad NameOf, BillableStatus 2170; |
|     | TxnDate today by default; update, | unknown ref 2500, inactive 610; |
|     | delete, query, batch, webhooks, | Minutes > 59, End <= Start: 6000; |
|     | `requestid` replay | stale SyncToken 5010; CDC: 400 |
| Account | chart of accounts: read, create, update, | duplicate Name 6240, `"`/`:` in Name 2010, |
| (accounts.py) | query; seeded defaults (Checking, ...); | no AccountType (nor SubType) 2020, unknown |
|               | `add_account`; type from sub-type | type or sub-type 2170; delete: 500 |
| TaxCode | read, query; `add_tax_code` | create (QBO uses TaxService): 500 Unsupported |
| Purchase | PaymentType + Bank/CreditCard AccountRef; | no PaymentType, AccountRef, Line, Amount, |
| (expenses.py) | AccountBasedExpenseLineDetail lines | line AccountRef, CustomerRef when Billable: |
|     | (Customer/Class/TaxCodeRef, MarkupInfo, | 2020; bad PaymentType, BillableStatus 2170; |
|     | BillableStatus); QBO-computed TotalAmt; | unknown ref 2500, inactive 610; account of |
|     | update, delete, query, batch, requestid, | the wrong type 6000; ItemBased lines 2010; |
|     | webhooks, CDC | DocNumber > 21: 2050; stale SyncToken 5010 |
| delete, void | Invoice, TimeActivity, Purchase, Payment, | Customer, Item, Term, Employee, Account |
| (writes.py)  | CreditMemo `?operation=delete`; Invoice | delete: 500 Unsupported Operation (lists |
|              | `?operation=void`, Payment `?operation=update&include=void` | |
|              | | are made inactive) |
| Invoice | QBO-computed TotalAmt/Balance/subtotal, | unknown ref 2500, inactive 610, no Line 2020, |
| (invoices.py) | TxnDate/DueDate (Term DueDays) | Amount != Qty*UnitPrice 6070, DocNumber > 21: 2050 |
| billed time | Invoice (API, batch) line or header LinkedTxn | unknown TimeActivity 2500; already billed, |
| (billing.py) | TimeActivity: HasBeenBilled + LinkedTxn; void, | not billable, another customer's: 6000 |
|              | delete, unlinking: Billable again | (code UNCONFIRMED) |
| Payment | CustomerRef, TotalAmt, Line Amount + one | no CustomerRef, TotalAmt, Line Amount/LinkedTxn |
| (payments.py) | LinkedTxn Invoice/CreditMemo; computed | 2020; unknown ref 2500; more than the Balance, |
|     | UnappliedAmt; invoice Balance and LinkedTxn, | RemainingCredit or TotalAmt, another customer's |
|     | memo RemainingCredit follow the live payments; | invoice: 6000 (code UNCONFIRMED) |
|     | update, delete, void, query, batch, webhooks, CDC | |
| CreditMemo | Invoice lines; QBO-computed TotalAmt and | as Invoice |
| (invoices.py) | RemainingCredit; applied by a $0 Payment | |
| query (query.py) | SELECT * / cols / count(*), WHERE = != < | parse errors 4000; unknown entity, property |
|                  | > <= >= IN LIKE AND, ORDERBY, STARTPOSITION, | or MAXRESULTS > 1000: 4001 |
|                  | MAXRESULTS; date-times compare as instants | QueryValidationError |
| batch (batch.py) | 30 BatchItemRequest: create/update/delete/ | > 30: 1040; no/duplicate bId 2020/2010; |
|                  | void/Query, per-item Fault, requestid (36) | > 40/min: 429; earlier items are unseen |
| CDC (cdc.py) | entities + changedSince, per-entity groups, | > 30 days back, missing params, TimeActivity |
|              | Deleted stubs, 1,000 objects at most | and other entities not served: 400 |
| webhooks | signed legacy or CloudEvents bodies, | — |
| (notices.py) | kept until answered 2xx | |
| time (app.py) | one clock (`clock=`; the runtime's under | an access token past 3600 s: 401 3200; a |
|               | `LocalEnvironment`): token lives, throttle | refresh token past 100 days: `invalid_grant` |
|               | windows, MetaData times, CDC's 30 days | |

Not modelled: an Item's IncomeAccountRef is required but not looked up; tax amounts, Bill,
deposits (Undeposited Funds); account balances stay 0; query filters any documented property
(QBO filters fewer);
Vendor is a name list for TimeActivity only (no /vendor route); a HasBeenBilled activity is not
locked (Intuit's TimeActivity reference documents no such refusal); an invoice or credit memo a payment
applies to may still be deleted (the payment line then applies to nothing).
"""

from infra.local.sandboxes.quickbooks.app import (
    CONCURRENT_LIMIT,
    PER_MINUTE_LIMIT,
    PER_SECOND_LIMIT,
    QuickBooksSandbox,
)
from infra.local.sandboxes.quickbooks.company import COMPANY_TZ
from infra.local.sandboxes.quickbooks.customers import MAX_LEVEL
from infra.local.sandboxes.quickbooks.notices import WebhookFormat
from infra.local.sandboxes.quickbooks.oauth import ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS, TOKEN_PATH
from infra.local.sandboxes.quickbooks.query import DEFAULT_MAX_RESULTS, MAX_RESULTS

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "COMPANY_TZ",
    "CONCURRENT_LIMIT",
    "DEFAULT_MAX_RESULTS",
    "MAX_LEVEL",
    "MAX_RESULTS",
    "PER_MINUTE_LIMIT",
    "PER_SECOND_LIMIT",
    "REFRESH_TOKEN_SECONDS",
    "TOKEN_PATH",
    "QuickBooksSandbox",
    "WebhookFormat",
]

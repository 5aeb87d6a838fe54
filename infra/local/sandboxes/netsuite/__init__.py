# ruff: noqa: E501 - the table of what the sandbox serves reads best one row a line
"""A local twin of one Oracle NetSuite account's REST web services, as Oracle documents them.

It refuses what NetSuite refuses, with NetSuite's error body (`type`, `title`, `status`,
`o:errorDetails` [{`detail`, `o:errorCode`, `o:errorPath` ...}]), and serves the calls a client of
NetSuite makes. Tests mount it with `httpx.WSGITransport`; the app's root stands for
`https://<account>.suitetalk.api.netsuite.com`.

| area (file) | serves | refuses, with NetSuite's answer |
| --- | --- | --- |
| OAuth 2.0 M2M (oauth.py) | client credentials with a JWT assertion (PS256/384/512 with an RSA certificate, ES256 with an EC P-256 one; `kid` = certificate id, `iss` = client id, `aud` = token URL, `exp` - `iat` <= 3600 s); bearer tokens valid 60 minutes | malformed 400 `invalid_request`; unknown/revoked certificate, bad signature, wrong `iss` 401 `invalid_client`; expired, > 1 h, wrong `aud` 400 `invalid_grant`; bad scope 400 `invalid_scope`; other grants `unsupported_grant_type` |
| gate (app.py) | bearer tokens with the `rest_webservices` scope; the kit's fault switches (5xx, answers lost after the write) | missing/expired/unknown token 401 INVALID_LOGIN + `WWW-Authenticate` |
| records (records.py, schema.py, wire.py) | customer, job, jobStatus, timeBill, invoice, customerPayment, creditMemo, expenseReport, employee, serviceItem, subsidiary, currency, term, expenseCategory, department, classification, location: GET by id or `eid:`, list (paged), POST (204 + Location), PATCH, PUT `eid:` upsert, DELETE; references `{"id"}`/`{"externalId"}` answered as `{links, id, refName}`; sublists (`item`, `apply`, `expense`, `addressbook` with its `addressbookaddress` subrecord) as a link unless `expandSubResources=true`, `replace=`; `lastModifiedDate` on every write | missing value 400 USER_ERROR "Please enter value(s) for"; bad reference 400 INVALID_CONTENT + `o:errorPath`; unknown property INVALID_CONTENT (unless `X-NetSuite-PropertyNameValidation` Warning/Ignore); unknown id 404 NONEXISTENT_ID; an external id with other than letters, digits, `_`, `-` (a pipe), or a duplicate: USER_ERROR; dependent records: USER_ERROR |
| entities (entities.py) | company or person customers (url, terms, one default billing and shipping address), projects under a customer (its Status `entityStatus` one of the project statuses, Oracle's five seeded; its customer fixed once created), employees, time bills (hours as a number or `H:MM`, at most 24; class, department, location; read-only `status` Billed once invoiced) | a time bill on a customer without a service item, or on a project with time entry off: USER_ERROR; changing or deleting a billed time bill: USER_ERROR (wording UNCONFIRMED) |
| money (transactions.py) | invoice totals from lines, due date from terms; payments and credit memos applied to invoices move `amountPaid`/`amountRemaining`/status (and the invoice's `lastModifiedDate`); expense reports; an invoice's Billable Time (`time`) and Billable Expenses (`expCost`) sublists: applied lines (`apply`, `doc`, `quantity`, `rate`, `amount`, `memo`, `billedDate`) count in the total, their time bills' `status` Billed once stored, billable again when the line is replaced away or the invoice deleted | over-application, another customer's or currency's invoice, lowering a total below what is applied, deleting an applied invoice: USER_ERROR; a `time`/`expCost` `doc` that is no time bill / expense report: INVALID_CONTENT + `o:errorPath`; one of another customer, or billed already (on another invoice, or through `bill_time`): USER_ERROR at `time.items[n].doc` |
| async (async_jobs.py) | `Prefer: respond-async` 202 + `Location: /services/rest/async/v1/job/{id}`; job, task, task result; `hold_async_jobs` | a repeated `X-NetSuite-Idempotency-Key` 400 Conflict IDEMPOTENCY_ERROR + Location of the first job (nothing runs again); a key that is not a UUID INVALID_HEADER |
| SuiteQL (suiteql_syntax.py, suiteql.py, suiteql_tables.py, suiteql_values.py) | `POST /services/rest/query/v1/suiteql` (`Prefer: transient`), `limit` <= 1000, `offset`; tables customer, job, employee, item, subsidiary, currency, term, expensecategory, timebill, entityaddress, transaction (type CustInvc/CustPymt/CustCred/ExpRept), nexttransactionlinelink (payments and credit memos applied to invoices); `*`, columns, aliases, TOP, WHERE AND/OR/NOT, = <> < > <= >=, IN, IS NULL, LIKE (ESCAPE), BETWEEN, TO_DATE/TO_TIMESTAMP/TO_CHAR, DATE/TIMESTAMP literals, SYSDATE - n, BUILTIN.DF, BUILTIN.RELATIVE_RANGES (calendar ranges), NVL, UPPER/LOWER, COUNT/SUM/MIN/MAX/AVG with GROUP BY, ORDER BY (Oracle's null order); values as text, dates as M/D/YYYY, null columns left out | unknown table/column, a statement outside the subset (joins, subqueries, DISTINCT, HAVING) 400 INVALID_PARAMETER "Invalid search query..."; no `Prefer: transient` INVALID_HEADER; bad limit/offset INVALID_PARAMETER |
| governance (governance.py) | account concurrency limit (15, settable) shared by every integration, allocations per integration, `GET /services/rest/system/v1/governanceLimits`, `GET .../serverTime`; `hold_slots(n)` stands for requests in flight | over the limit 429 (error code UNCONFIRMED: CONCURRENCY_LIMIT_EXCEEDED) |
| control (control.py) | `add_integration`, `add_project_status`, `add_employee`, `add_item`, `add_subsidiary`, `add_currency`, `add_term`, `add_expense_category`, `add_segment` (department, class, location), `bill_time` (an invoice carries a time bill), `enter`/`edit` (UI work), `record(s)`, `by_external_id`, `fail_next`, `hold_slots`, `revoke_tokens`, `revoke_certificate`, `connection(url)` | — |

Not modelled: record filtering with `q` on collections (use SuiteQL), joins and subqueries in
SuiteQL, voiding a transaction (so a voided invoice's time bills are not released: only deleting the
invoice, or replacing its `time` lines, releases them), a billed status on expense reports, billable
items (`itemCost`), tax, deposits; the account's time zone is UTC. NetSuite publishes no request-rate window for REST (only concurrency), so the kit's
RateWindows are not used.
"""

from infra.local.sandboxes.netsuite.app import NetSuiteSandbox
from infra.local.sandboxes.netsuite.async_jobs import ASYNC_PATH, IDEMPOTENCY_HEADER
from infra.local.sandboxes.netsuite.errors import NetSuiteError
from infra.local.sandboxes.netsuite.governance import DEFAULT_ACCOUNT_LIMIT, GOVERNANCE_PATH
from infra.local.sandboxes.netsuite.oauth import (
    ACCESS_TOKEN_SECONDS,
    ASSERTION_TYPE,
    MAX_ASSERTION_SECONDS,
    TOKEN_PATH,
    Integration,
)
from infra.local.sandboxes.netsuite.suiteql import MAX_LIMIT, SUITEQL_PATH

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "ASSERTION_TYPE",
    "ASYNC_PATH",
    "DEFAULT_ACCOUNT_LIMIT",
    "GOVERNANCE_PATH",
    "IDEMPOTENCY_HEADER",
    "MAX_ASSERTION_SECONDS",
    "MAX_LIMIT",
    "SUITEQL_PATH",
    "TOKEN_PATH",
    "Integration",
    "NetSuiteError",
    "NetSuiteSandbox",
]

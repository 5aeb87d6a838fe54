"""A local twin of QuickBooks Online (one company, one Intuit app), speaking QBO's documented protocol.

Tests mount it with `httpx.WSGITransport`; the demo serves it on a loopback port.

| area (file) | serves | refuses, with QBO's documented answer |
| --- | --- | --- |
| OAuth (oauth.py) | refresh grant, HTTP Basic client, | retired refresh token 400 `invalid_grant`, |
|                  | rotating refresh tokens (100 days) | wrong client 401 `invalid_client` |
| gate (app.py) | bearer tokens of one realm | bad bearer 401 (lowercase `fault`, 3200); |
|               |                           | other realm 403 3100; 500/min, 10/s, 10 at once: 429 |
| Customer | read, create, sparse/full update, | duplicate name 6240, stale SyncToken 5010, |
| (customers.py) | sub-customers, `requestid` replay | no SyncToken 2020, colon, currency change, |
|                |                                  | depth > 4: 6000, inactive parent 610 |
| Class, Department | read by Id, query | unknown Id 610 |
| query (query.py) | SELECT * / count(*), WHERE = != < > | parse errors 4000, other entities 4001 |
|                  | <= >= IN LIKE AND, STARTPOSITION, MAXRESULTS | (QueryValidationError) |
| webhooks | signed legacy or CloudEvents bodies, | — |
| (notices.py) | kept until answered 2xx | |
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

"""Concurrency governance: one account limit shared by every integration, allocations, governanceLimits.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1525253248.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0625010817.html
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import BASE, RECORDS, assertion, error_of, token_request

LIMITS = "/services/rest/system/v1/governanceLimits"


def test_the_16th_request_in_flight_on_a_limit_of_15_is_refused(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    # given 14 requests of other applications in flight (the account's limit is 15)
    assert netsuite.concurrency_limit == 15
    netsuite.hold_slots(14)
    # then one more request still runs (the 15th)
    assert api.get(f"{RECORDS}/subsidiary/1").status_code == 200
    # when a 15th other request is in flight too, ours is the 16th: 429
    netsuite.hold_slots(1)
    answer = api.get(f"{RECORDS}/subsidiary/1")
    assert answer.status_code == 429
    assert answer.json()["title"] == "Too Many Requests"
    assert error_of(answer)["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert netsuite.concurrency_refused == 1
    # and once they finish, requests run again
    netsuite.release_slots()
    assert api.get(f"{RECORDS}/subsidiary/1").status_code == 200


def test_the_limit_is_settable(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    netsuite.concurrency_limit = 2
    netsuite.hold_slots(2)
    assert api.get(f"{RECORDS}/subsidiary/1").status_code == 429


def test_an_integration_with_its_own_allocation_is_capped_by_it_and_others_share_the_rest(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # given a reporting app allocated 3 of the 15, and our integration sharing the unallocated 12
    reporting = netsuite.add_integration("reporting", concurrency_limit=3)
    reporting_token = token_request(http, assertion(netsuite.connection(BASE, reporting), clock)).json()[
        "access_token"
    ]
    ours_token = token_request(http, assertion(netsuite.connection(BASE), clock)).json()["access_token"]

    def call(token: str) -> int:
        return http.get(f"{RECORDS}/subsidiary/1", headers={"Authorization": f"Bearer {token}"}).status_code

    # when the reporting app has 3 requests in flight, its 4th is refused, ours is not
    netsuite.hold_slots(3, reporting)
    assert call(reporting_token) == 429
    assert call(ours_token) == 200
    # when 12 requests share the unallocated pool, ours is refused while the account is not full
    netsuite.release_slots(integration=reporting)
    netsuite.hold_slots(12)
    assert call(ours_token) == 429
    assert call(reporting_token) == 200


def test_governance_limits_reports_the_account_and_the_integration(
    api: httpx.Client, netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # our integration has no allocation of its own: the account limit applies
    assert api.get(LIMITS).json() == {
        "accountConcurrencyLimit": 15,
        "accountUnallocatedConcurrencyLimit": 15,
        "integrationLimitType": "accountLimit",
    }
    # an integration with an allocation sees it, and the unallocated part shrinks
    allocated = netsuite.add_integration("allocated", concurrency_limit=5)
    token = token_request(http, assertion(netsuite.connection(BASE, allocated), clock)).json()["access_token"]
    body = http.get(LIMITS, headers={"Authorization": f"Bearer {token}"}).json()
    assert body == {
        "accountConcurrencyLimit": 15,
        "accountUnallocatedConcurrencyLimit": 10,
        "integrationConcurrencyLimit": 5,
        "integrationLimitType": "integrationSpecific",
    }

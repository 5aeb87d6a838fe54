"""OAuth 2.0 client credentials: a JWT assertion signed with the certificate's key buys a 60-minute token.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
"""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import BASE, RECORDS, assertion, error_of, token_request


def test_a_signed_assertion_buys_a_bearer_token_that_reads_records(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # given the integration's connection (client id, certificate id, private key)
    connection = netsuite.connection(BASE)
    # when the client signs a PS256 assertion and posts it
    answer = token_request(http, assertion(connection, clock))
    # then it gets a bearer token valid an hour, which reads a record
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    read = http.get(f"{RECORDS}/subsidiary/1", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert read.status_code == 200
    assert read.json()["name"] == "Parent Company"


def test_an_ec_certificate_signs_with_es256(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # given an integration whose certificate has an EC P-256 key
    connection = netsuite.connection(BASE, netsuite.add_integration("ec app", key_type="EC"))
    assert connection["algorithm"] == "ES256"
    # when it signs an ES256 assertion, then it buys a token
    assert token_request(http, assertion(connection, clock)).status_code == 200


def test_rs256_is_not_an_accepted_algorithm(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    connection = netsuite.connection(BASE)
    answer = token_request(http, assertion(connection, clock, alg="RS256"))
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request"}


@pytest.mark.parametrize(
    ("claims", "status", "error"),
    [
        ({"kid": "no-such-certificate"}, 401, "invalid_client"),
        ({"iss": "another-client-id"}, 401, "invalid_client"),
        ({"aud": "https://elsewhere.example/token"}, 400, "invalid_grant"),
        ({"scope": ["everything"]}, 400, "invalid_scope"),
        ({"scope": None}, 400, "invalid_scope"),
    ],
)
def test_a_bad_assertion_is_refused_with_the_oauth_error(
    netsuite: NetSuiteSandbox,
    http: httpx.Client,
    clock: HandClock,
    claims: dict[str, object],
    status: int,
    error: str,
) -> None:
    answer = token_request(http, assertion(netsuite.connection(BASE), clock, **claims))
    assert answer.status_code == status
    assert answer.json() == {"error": error}


def test_the_audience_may_be_a_list_holding_the_token_url(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    connection = netsuite.connection(BASE)
    signed = assertion(connection, clock, aud=["https://other.example", connection["token_url"]])
    assert token_request(http, signed).status_code == 200


def test_a_signature_from_another_key_is_an_invalid_client(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # given an assertion naming our certificate but signed with another integration's key
    ours = netsuite.connection(BASE)
    other_key = netsuite.connection(BASE, netsuite.add_integration("other"))["private_key_pem"]
    answer = token_request(http, assertion(ours, clock, key=other_key))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client"}


def test_an_expired_or_too_long_assertion_is_an_invalid_grant(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    connection = netsuite.connection(BASE)
    now = int(clock().timestamp())
    # expired a second ago
    expired = assertion(connection, clock, iat=now - 600, exp=now - 1)
    # valid for more than 60 minutes
    too_long = assertion(connection, clock, iat=now, exp=now + 3601)
    for signed in (expired, too_long):
        answer = token_request(http, signed)
        assert answer.status_code == 400
        assert answer.json() == {"error": "invalid_grant"}
    # exactly 60 minutes is accepted
    assert token_request(http, assertion(connection, clock, iat=now, exp=now + 3600)).status_code == 200


def test_the_form_must_be_the_client_credentials_grant(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    signed = assertion(netsuite.connection(BASE), clock)
    assert token_request(http, signed, grant_type="authorization_code").json() == {
        "error": "unsupported_grant_type"
    }
    assert token_request(http, signed, client_assertion_type="secret").json() == {"error": "invalid_request"}
    assert token_request(http, "not-a-jwt").json() == {"error": "invalid_request"}


def test_a_revoked_certificate_buys_no_token(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    connection = netsuite.connection(BASE)
    netsuite.revoke_certificate()
    answer = token_request(http, assertion(connection, clock))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client"}


def test_a_token_stops_working_after_60_minutes(api: httpx.Client, clock: HandClock) -> None:
    # given a token just issued, which reads a record
    assert api.get(f"{RECORDS}/subsidiary/1").status_code == 200
    # when 60 minutes pass
    clock.advance(minutes=60)
    # then the same call gets 401 INVALID_LOGIN with the WWW-Authenticate challenge
    answer = api.get(f"{RECORDS}/subsidiary/1")
    assert answer.status_code == 401
    assert answer.json()["title"] == "Unauthorized"
    assert error_of(answer)["o:errorCode"] == "INVALID_LOGIN"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_no_token_or_an_unknown_one_is_refused(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        answer = http.get(f"{RECORDS}/subsidiary/1", headers=headers)
        assert answer.status_code == 401
        assert error_of(answer)["o:errorCode"] == "INVALID_LOGIN"


def test_a_token_without_the_rest_scope_cannot_call_rest(
    netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock
) -> None:
    # given a token bought for RESTlets only
    signed = assertion(netsuite.connection(BASE), clock, scope=["restlets"])
    token = token_request(http, signed).json()["access_token"]
    # then the REST record service refuses it
    answer = http.get(f"{RECORDS}/subsidiary/1", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401

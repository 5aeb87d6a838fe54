"""OAuth 2.0 client credentials: the signed assertion, the cached token, its sharing and its refusal."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.connectors.netsuite import build
from shared.connectors.netsuite.auth import ASSERTION_TYPE, client_assertion
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.oauth import MemoryTokenStore
from shared.domain.errors import ConfigurationError
from tests.connectors.netsuite.conftest import TOKEN_URL, ScriptedNetSuite, Sleeps, error

CUSTOMER = {"id": "107", "companyName": "Acme Consulting Ltd", "lastModifiedDate": "2026-12-03T07:00:00Z"}


def ok_customer(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=CUSTOMER)


def test_the_assertion_is_what_oracle_documents(
    connection: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    # given the connection's certificate key
    parsed = NetSuiteConnection.parse({**connection, "scopes": ["restlets", "rest_webservices"]})
    # when the connector signs an assertion
    token = client_assertion(parsed, now=1_800_000_000.5)
    # then NetSuite, holding the certificate's public key, accepts its signature and claims
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "PS256", "typ": "JWT", "kid": "cert-7f3a"}
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["PS256"],
        audience=TOKEN_URL,
        issuer="c2c-integration-client-id",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["scope"] == "restlets,rest_webservices"
    assert claims["iat"] == 1_800_000_000
    assert claims["iat"] < claims["exp"] < claims["iat"] + 3600
    # and a key that is not the certificate's does not verify it
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, other.public_key(), algorithms=["PS256"], audience=TOKEN_URL, options={"verify_exp": False}
        )


def test_an_assertion_may_not_live_an_hour(connection: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="less than 3600"):
        client_assertion(NetSuiteConnection.parse(connection), now=0, lifetime=3600)


def test_one_token_serves_every_call_until_shortly_before_it_expires(connection: dict[str, Any]) -> None:
    # given NetSuite issuing tokens valid 3600 s
    netsuite = ScriptedNetSuite(answers=[ok_customer] * 3)
    clock = Sleeps()
    connector = build(connection, transport=netsuite.transport(), clock=clock.time, sleep=clock.sleep)
    # when the hub reads twice within the hour
    connector.read_account("107")
    clock.now += 3000
    connector.read_account("107")
    # then one token was requested, by a client credentials grant with a JWT assertion
    assert len(netsuite.token_requests) == 1
    form = netsuite.token_requests[0]
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == [ASSERTION_TYPE]
    assert jwt.get_unverified_header(form["client_assertion"][0])["kid"] == "cert-7f3a"
    assert netsuite.requests[0].headers["Authorization"] == "Bearer token-1"
    # and close to the expiry a new assertion gets a new token (no refresh token in this flow)
    clock.now += 550
    connector.read_account("107")
    assert len(netsuite.token_requests) == 2
    assert netsuite.requests[2].headers["Authorization"] == "Bearer token-2"


def test_containers_sharing_a_token_store_sign_in_once(connection: dict[str, Any]) -> None:
    # given two Lambda containers sharing the token store
    netsuite = ScriptedNetSuite(answers=[ok_customer] * 2)
    store, clock = MemoryTokenStore(), Sleeps()
    first = build(connection, transport=netsuite.transport(), clock=clock.time, token_store=store)
    second = build(connection, transport=netsuite.transport(), clock=clock.time, token_store=store)
    # when both call NetSuite
    first.read_account("107")
    second.read_account("107")
    # then the second used the token the first obtained
    assert len(netsuite.token_requests) == 1
    assert {r.headers["Authorization"] for r in netsuite.requests} == {"Bearer token-1"}


def test_a_token_refused_early_is_replaced_once(connection: dict[str, Any]) -> None:
    # given NetSuite refusing the token it issued (revoked) with its documented 401
    refused = error(401, "INVALID_LOGIN", "Invalid login attempt.")
    netsuite = ScriptedNetSuite(answers=[refused, ok_customer])
    connector = build(connection, transport=netsuite.transport(), clock=Sleeps().time)
    # when the hub reads a customer
    record = connector.read_account("107")
    # then it signed in again and the second try succeeded
    assert record.ref.id == "107"
    assert len(netsuite.token_requests) == 2
    assert netsuite.requests[1].headers["Authorization"] == "Bearer token-2"


def test_a_bad_assertion_is_a_configuration_error(connection: dict[str, Any]) -> None:
    # given the token endpoint refusing the assertion (e.g. the certificate mapping was removed)
    netsuite = ScriptedNetSuite(
        token_answer=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "bad assertion"}
        )
    )
    connector = build(connection, transport=netsuite.transport())
    # when the hub calls NetSuite
    with pytest.raises(ConfigurationError) as refused:
        connector.read_account("107")
    # then the error says what was refused and which settings to check, and no API call went out
    assert "invalid_grant: bad assertion" in str(refused.value)
    assert "certificate_id" in str(refused.value)
    assert netsuite.requests == []

"""Parsing the NetSuite connection secret: a good one builds, a bad one is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.connectors.netsuite import build
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.domain.errors import ConfigurationError
from tests.connectors.netsuite.conftest import BASE_URL, TOKEN_URL, pem


def test_a_connection_from_the_secret_derives_the_account_hosts(connection: dict[str, Any]) -> None:
    # given the secret's fields of a sandbox account (ID with _SB1)
    parsed = NetSuiteConnection.parse(connection)
    # then the REST host and the token endpoint (the assertion's audience) are the account's own
    assert parsed.api_url == BASE_URL
    assert parsed.token_endpoint == TOKEN_URL
    assert parsed.scopes == ("rest_webservices",)
    assert parsed.algorithm == "PS256"
    # and the key never shows in the model's text (logs)
    assert "PRIVATE KEY" not in repr(parsed)


def test_a_base_url_in_the_secret_points_the_connector_elsewhere(connection: dict[str, Any]) -> None:
    # given an operator pointing the connection at a local sandbox
    parsed = NetSuiteConnection.parse({**connection, "base_url": "http://netsuite.sandbox/"})
    # then calls and the token endpoint go there
    assert parsed.api_url == "http://netsuite.sandbox"
    assert parsed.token_endpoint == "http://netsuite.sandbox/services/rest/auth/oauth2/v1/token"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"client_id": ""}, "client_id"),
        ({"certificate_id": None}, "certificate_id"),
        (
            {"private_key_pem": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"},
            "private_key_pem",
        ),
        ({"account_id": "12 34/x"}, "account_id"),
        ({"scopes": ["rest_webservices", "everything"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"algorithm": "RS256"}, "algorithm"),
        ({"concurrency_limit": 0}, "concurrency_limit"),
        ({"subsidary": "1"}, "subsidary"),
        ({"currencies": {"usd": "1"}}, "currencies"),
        ({"home_currency": "EUR"}, "currencies"),
        ({"suiteql_time_zone": "Mars/Olympus"}, "suiteql_time_zone"),
    ],
)
def test_a_bad_connection_is_refused_naming_the_field(
    connection: dict[str, Any], change: dict[str, Any], named: str
) -> None:
    # given a secret with one wrong field
    # when the connector is built from it
    with pytest.raises(ConfigurationError) as refused:
        build({**connection, **change})
    # then the error names the field, and nothing of the key
    assert named in str(refused.value)
    assert "BEGIN" not in str(refused.value)


def test_a_missing_field_is_named(connection: dict[str, Any]) -> None:
    del connection["private_key_pem"]
    with pytest.raises(ConfigurationError, match="private_key_pem"):
        build(connection)


def test_an_ec_key_for_ps256_is_refused_but_fits_es256(connection: dict[str, Any]) -> None:
    # given the certificate's key is an EC key
    key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = pem(key)  # type: ignore[arg-type]
    # then PS256 (RSA-PSS) cannot sign with it, ES256 can
    with pytest.raises(ConfigurationError, match="PS256 needs an RSA private key"):
        build({**connection, "private_key_pem": ec_pem})
    assert (
        NetSuiteConnection.parse({**connection, "private_key_pem": ec_pem, "algorithm": "ES256"}).algorithm
        == "ES256"
    )


def test_subsidiary_and_currency_tables(connection: dict[str, Any]) -> None:
    parsed = NetSuiteConnection.parse({**connection, "subsidiaries": {"UK01": "3"}})
    assert parsed.subsidiary_for("UK01") == "3"
    assert parsed.subsidiary_for("US01") == "1"  # the default
    assert parsed.currency_id("GBP") == "2"
    assert parsed.currency_code("2") == "GBP"
    assert parsed.currency_code("9") is None

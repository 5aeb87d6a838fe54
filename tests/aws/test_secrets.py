"""The connections secret as handlers read it: cached, and on the clients' shared boto3 session."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.aws import secrets


def test_the_connections_are_read_on_the_session_every_other_client_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        # given the connections secret, and the boto3 session the ledger's and the bus's clients use
        manager = boto3.client("secretsmanager")
        manager.create_secret(
            Name="c2c-connections", SecretString=json.dumps({"quickbooks": {"realm_id": "1"}})
        )
        secrets.forget_cached()
        opened: list[Any] = []
        real_init = boto3.session.Session.__init__

        def counted(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
            opened.append(self)
            real_init(self, *args, **kwargs)

        monkeypatch.setattr(boto3.session.Session, "__init__", counted)
        # when a handler reads its connections twice
        first = secrets.connections("c2c-connections")
        manager.put_secret_value(SecretId="c2c-connections", SecretString=json.dumps({}))
        again = secrets.connections("c2c-connections")
        # then it reads them once (cached), and no session of its own was opened: a new one would
        # load botocore's endpoint and partition data again on every cold start
        assert first == again == {"quickbooks": {"realm_id": "1"}}
        assert opened == []
        secrets.forget_cached()

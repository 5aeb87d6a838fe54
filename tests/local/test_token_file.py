"""The tokens file beside `--secrets`: what the functions write to the secret lands there, privately."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import boto3
from moto import mock_aws

from infra.local.token_file import SecretFileMirror, read_tokens_file, tokens_file_for


def test_the_tokens_file_sits_beside_the_secrets_file_and_starts_empty(tmp_path: Path) -> None:
    path = tokens_file_for(tmp_path / "acme.json", "oauth-tokens")
    assert path == tmp_path / "acme.oauth-tokens.json"
    assert read_tokens_file(path) == {}


def test_a_rotation_written_to_the_secret_reaches_the_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "acme.oauth-tokens.json"
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="tokens", SecretString="{}")
        mirror = SecretFileMirror(client, "tokens", path).start()
        # nothing changed yet: nothing written
        assert not mirror.flush() and not path.exists()
        client.put_secret_value(
            SecretId="tokens", SecretString=json.dumps({"quickbooks/1": {"refresh_token": "rt-2"}})
        )
        mirror.stop()
    assert read_tokens_file(path) == {"quickbooks/1": {"refresh_token": "rt-2"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

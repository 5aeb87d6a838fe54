"""Rotated OAuth tokens that outlive the local stack: moto's `oauth-tokens` secret mirrored to a file.

moto keeps secrets in memory, so without this a restart of `close2cash local up --secrets FILE`
would provision the connections file's refresh token again, one that the vendor (QuickBooks)
already rotated away: every write would fail with invalid_grant. The mirror is a sibling of the
secrets file (`connections.json` -> `connections.oauth-tokens.json`), not the file itself: the
operator's file stays as they wrote it (nothing rewrites a document they may keep elsewhere or
under version control), as in AWS, where the connections secret is read-only and the functions
write a separate token secret. The next start loads the sibling into the secret.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# moto answers on loopback in microseconds; a rotation reaches the disk within this much.
POLL_SECONDS = 0.2


def tokens_file_for(secrets_file: Path, secret_name: str) -> Path:
    """Where the tokens of a stack started with `secrets_file` are kept between runs."""
    return secrets_file.with_name(f"{secrets_file.stem}.{secret_name}.json")


def read_tokens_file(path: Path) -> dict[str, Any]:
    """The tokens kept by an earlier run, or {} on a first start."""
    if not path.exists():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by system/tenant")
    return value


class SecretFileMirror:
    """Writes one secret of moto's Secrets Manager to `path` whenever its version changes."""

    def __init__(self, client: SecretsManagerClient, secret_id: str, path: Path) -> None:
        self._client = client
        self._secret_id = secret_id
        self.path = path
        self._version: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="token-file-mirror", daemon=True)
        self._guard = threading.Lock()

    def start(self) -> SecretFileMirror:
        # The version provisioned from the file is already on disk: only later ones are written.
        self._version = self._client.get_secret_value(SecretId=self._secret_id)["VersionId"]
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.flush()

    def flush(self) -> bool:
        """Write the secret to the file if it changed since the last write; True when written."""
        with self._guard:
            answer = self._client.get_secret_value(SecretId=self._secret_id)
            if answer["VersionId"] == self._version:
                return False
            # Written beside and renamed over, readable by this user only: a crash mid-write never
            # leaves half a token file, and the tokens are credentials.
            partial = self.path.with_name(self.path.name + ".partial")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(json.dumps(json.loads(answer["SecretString"]), indent=2, sort_keys=True))
            partial.replace(self.path)
            self._version = answer["VersionId"]
            return True

    def stop(self) -> None:
        """Stop polling, after a last write of whatever changed."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.flush()

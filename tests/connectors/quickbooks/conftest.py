"""Fixtures for the QuickBooks connector tests: the sandbox in-process and a connector pointed at it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

SAMPLES = Path(__file__).parents[3] / ".." / "shared" / "vendor-samples" / "qbo"


def sample_bytes(name: str) -> bytes:
    """A vendor sample's exact bytes, or skip when the shared samples folder is not on this machine."""
    if not SAMPLES.is_dir():
        pytest.skip(f"vendor samples not found at {SAMPLES.resolve()} (they live beside the repo)")
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample_bytes(name))


class Recorder:
    """Collects what the connector hands back: rotated tokens and waits."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.tokens: list[tuple[str, str]] = []
        self.sleeps: list[float] = []

    def on_tokens(self, access: str, refresh: str) -> None:
        self.tokens.append((access, refresh))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.sleep(seconds)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(Clock(fast_forward=True))


@pytest.fixture
def sandbox(recorder: Recorder) -> QuickBooksSandbox:
    # The realm counts its per-second limit on the same (fast-forwarding) clock the connector waits on.
    return QuickBooksSandbox(
        realm_id="4620816365",
        refresh_token="rt-initial",
        verifier_token="verifier-1",
        clock=recorder.clock.now,
    )


def connect(sandbox: QuickBooksSandbox, recorder: Recorder) -> QuickBooksConnector:
    return build(
        sandbox.connection("http://qbo.sandbox"),
        transport=httpx.WSGITransport(app=sandbox),
        clock=recorder.clock.time,
        sleep=recorder.sleep,
        on_tokens_refreshed=recorder.on_tokens,
    )


@pytest.fixture
def connector(sandbox: QuickBooksSandbox, recorder: Recorder) -> QuickBooksConnector:
    return connect(sandbox, recorder)


def make_account(crm_id: str = "001ACME", **changes: Any) -> Account:
    fields: dict[str, Any] = {
        "source": SourceRef(system=SystemName.SALESFORCE, type="account", id=crm_id, version="3"),
        "name": "Acme Consulting Ltd",
        "website": "https://acme.example",
        "phone": "+1 512 555 0100",
        "email": "ap@acme.example",
        "billing_address": PostalAddress(
            street="1 Congress Ave", city="Austin", region="TX", postal_code="78701", country="USA"
        ),
        "currency": "USD",
    }
    fields.update(changes)
    return Account(**fields)

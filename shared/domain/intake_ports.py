"""How changes reach the hub: webhook requests and replies, receivers, change-event streams."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import ConfigDict, Field

from shared.domain.models import CanonicalModel, SystemName
from shared.domain.notices import ChangeNotice, ReceivedChanges

if TYPE_CHECKING:
    # Typing only: handlers that never set up engagements do not pay for importing these models.
    pass

# --- webhooks -------------------------------------------------------------------------------


class WebhookRequest(CanonicalModel):
    """An inbound HTTP request exactly as received: the signature covers `body`, byte for byte."""

    # Header and query values are credentials (a signature, an endpoint token): compared as sent,
    # so the canonical models' whitespace trimming must not touch them.
    model_config = ConfigDict(str_strip_whitespace=False)

    method: str
    path: str
    query: Mapping[str, str] = Field(default_factory=dict)
    headers: Mapping[str, str] = Field(default_factory=dict, description="names lower-cased")
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReply(CanonicalModel):
    """What the vendor expects back (a SOAP Ack for Salesforce, an empty 200 for QBO, ...)."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"


class ReceivedWebhook(CanonicalModel):
    """An authentic webhook: the notices it carries and the reply its sender expects."""

    notices: tuple[ChangeNotice, ...]
    reply: WebhookReply = Field(default_factory=WebhookReply)
    dropped: Mapping[str, int] = Field(
        default_factory=dict, description="notices acknowledged but not recorded, counted per reason"
    )


@runtime_checkable
class WebhookReceiver(Protocol):
    """Verifies one vendor's webhooks on the raw bytes and parses them into notices.

    Raises `AuthenticityError` (401) or `MalformedNotice` (400); never enqueues anything itself.
    """

    provider: SystemName

    def receive(self, request: WebhookRequest) -> ReceivedWebhook: ...


@runtime_checkable
class ChangeEventReceiver(Protocol):
    """Reads one event of a vendor's change stream delivered through an event bus (Salesforce Change
    Data Capture relayed to EventBridge): the notices it carries and the sweeps it asks for.

    Raises `AuthenticityError` (not this tenant's stream) or `MalformedNotice`.
    """

    provider: SystemName

    def read_change_event(self, event: Mapping[str, Any]) -> ReceivedChanges: ...


@runtime_checkable
class ChangedRecordsFeed(Protocol):
    """A system that can say which records of a type changed since an instant (a catch-up sweep)."""

    system: SystemName

    def records_changed_since(self, vendor_type: str, since: datetime) -> list[str]: ...

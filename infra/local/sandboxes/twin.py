"""What the local environment asks of every vendor's sandbox, so it can start any landscape's systems.

Each sandbox package `infra/local/sandboxes/<system>/` has a `twin.py` whose `local_twin(clock)`
wraps its sandbox, made with fresh credentials as a firm's own vendor sandbox would be. The
environment starts one for each system of the landscape that close2cash has a connector for
(`shared/domain/systems.py`), serves it on loopback, puts its `connection` in the connections
secret, lets it `seed` what the landscape's mapping tables point at, `connect`s its pushes to the
hub and, while settling, delivers what it has queued (`push_pending`). A new vendor is one package
here; the environment does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.governance.landscape import Landscape


@dataclass(frozen=True)
class Hub:
    """Where a twin sends what it pushes: the hub's webhook route, or a partner event bus."""

    api_url: str
    connection: Mapping[str, Any]  # the twin's own entry of the connections secret
    landscape: Landscape
    events: Any = None  # an EventBridge client of the local runtime (for a relay to a partner bus)
    partner_buses: Mapping[str, str] | None = None  # partner bus name -> its ARN

    def webhook_url(self, system: SystemName) -> str:
        return f"{self.api_url}/webhooks/{system.value}"


class Twin(Protocol):
    """One vendor's sandbox as the environment drives it; `sandbox` is the WSGI app with its control API."""

    system: SystemName
    sandbox: Any  # the vendor's sandbox: a WSGI app (served on loopback) and its control API

    def connection(self, base_url: str) -> dict[str, Any]:
        """The connections-secret entry for this sandbox served at `base_url`."""
        ...

    def seed(self, landscape: Landscape) -> None:
        """Create what the landscape's mapping tables name in this system (templates, items, codes)."""
        ...

    def connect(self, hub: Hub) -> None:
        """Point the vendor's pushes (webhooks, a relay) at the hub; a pull-only vendor does nothing."""
        ...

    def push_pending(self) -> int:
        """Deliver every queued push now; how many were delivered."""
        ...

    def describe(self) -> list[str]:
        """What `close2cash local up` prints for a person who wants to call the sandbox themselves."""
        ...

    def partner_event_source(self) -> tuple[str, str] | None:
        """(partner bus name in the wiring, event source name) when the vendor relays to a partner bus."""
        ...


class TwinDefaults:
    """What a twin does when its vendor pushes nothing of that kind: subclasses override the rest."""

    def connect(self, hub: Hub) -> None:
        del hub  # a pull-only vendor: the hub sweeps it

    def push_pending(self) -> int:
        return 0

    def describe(self) -> list[str]:
        return []

    def partner_event_source(self) -> tuple[str, str] | None:
        return None


TwinFactory = Callable[[Callable[[], datetime]], Twin]

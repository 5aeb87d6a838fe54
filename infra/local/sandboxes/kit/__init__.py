"""What every vendor sandbox needs alike: an outbox of signed notices, fault switches, rate windows.

| piece | file | what it does |
| --- | --- | --- |
| `Outbox`, `deliver` | outbox.py | notices kept until the subscriber answers 2xx, signed when sent |
| `FaultSwitch` | faults.py | the next n requests (optionally on one path) answer an injected status |
| `RateWindows`, `InFlight` | rate.py | sliding request windows (which one is full), requests at once |

Each sandbox keeps its vendor's own bodies (fault shapes, notice formats, signature headers); the kit
only keeps the state and the arithmetic that would otherwise be written once per vendor.
"""

from infra.local.sandboxes.kit.faults import FaultSwitch, InjectedFault
from infra.local.sandboxes.kit.outbox import Notice, Outbox, Subscriber, deliver
from infra.local.sandboxes.kit.rate import InFlight, RateWindows, Window

__all__ = [
    "FaultSwitch",
    "InFlight",
    "InjectedFault",
    "Notice",
    "Outbox",
    "RateWindows",
    "Subscriber",
    "Window",
    "deliver",
]

# ruff: noqa: E501 - the table of pieces reads best one row a line
"""What every vendor sandbox needs alike: an outbox of signed notices, fault switches, rate windows,
JSON answers and errors, a query tokenizer.

| piece | file | what it does |
| --- | --- | --- |
| `Outbox`, `deliver`, `RetrySchedule` | outbox.py | notices kept until acknowledged, signed when sent, retried on the vendor's schedule in the sandbox's clock, dropped when too old |
| `FaultSwitch` | faults.py | the next n requests (optionally on one path) answer an injected status |
| `RateWindows`, `InFlight` | rate.py | sliding request windows in the sandbox's clock (which one is full, how full), requests at once |
| `VendorError`, `json_answer` | answers.py | a JSON answer (a vendor's encoder and media type), and the base of each vendor's error: it answers `status`, its vendor's `body()` and media type |
| `Token`, `tokenize`, `TokenCursor` | tokens.py | a query language's tokens by its own pattern, and the cursor its parser moves (look ahead, keywords, expected marks); SOQL, SuiteQL and the QuickBooks query share it |

Nothing here reads the wall clock: every time comes from the sandbox's clock (the local runtime's
virtual one under `LocalEnvironment`). Each sandbox keeps its vendor's own bodies (fault shapes,
notice formats, signature headers); the kit only keeps the state and the arithmetic that would
otherwise be written once per vendor.
"""

from infra.local.sandboxes.kit.answers import VendorError, json_answer
from infra.local.sandboxes.kit.faults import FaultSwitch, InjectedFault
from infra.local.sandboxes.kit.outbox import (
    Delivery,
    Notice,
    Outbox,
    RetrySchedule,
    Subscriber,
    deliver,
    delivered,
)
from infra.local.sandboxes.kit.rate import InFlight, RateWindows, Window
from infra.local.sandboxes.kit.tokens import Token, TokenCursor, tokenize

__all__ = [
    "Delivery",
    "FaultSwitch",
    "InFlight",
    "InjectedFault",
    "Notice",
    "Outbox",
    "RateWindows",
    "RetrySchedule",
    "Subscriber",
    "Token",
    "TokenCursor",
    "VendorError",
    "Window",
    "deliver",
    "delivered",
    "json_answer",
    "tokenize",
]

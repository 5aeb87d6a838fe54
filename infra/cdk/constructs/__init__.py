"""One construct per capability; each reads its part of the wiring and exposes resources by logical name."""

"""Use cases: one module per flow, written against the ports in shared.domain.ports."""

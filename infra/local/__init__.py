"""The local runtime: renders infra/wiring.py on this machine with moto, in-process handlers and a clock."""

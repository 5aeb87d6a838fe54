"""Thin Lambda entry points: parse the trigger, call one use case, map the result."""

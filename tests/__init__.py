"""Tests mirror the source tree; tests/flows run end to end on the local runtime."""

"""Replay: a window of the bus archive re-derived under a landscape, diffed, and (asked) applied."""

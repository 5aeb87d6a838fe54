"""Benchmarks: `make bench` prints figures; nothing here is a timed test."""

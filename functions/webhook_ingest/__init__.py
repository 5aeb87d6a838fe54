"""Webhook ingest: POST /webhooks/{provider}."""

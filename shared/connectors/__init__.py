"""One self-contained package per vendor; `http` holds the httpx pieces they share."""

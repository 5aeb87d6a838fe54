"""Billing runs and cash feedback (issue 11): invoices in accounting, status back to the PSA and the CRM."""

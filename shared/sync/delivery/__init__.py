"""Approved billable time and expenses from the PSA to accounting (see `sync` for the policy)."""

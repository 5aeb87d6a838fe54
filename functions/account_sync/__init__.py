"""Account sync worker: account-changes queue."""

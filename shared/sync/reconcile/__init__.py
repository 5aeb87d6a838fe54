"""Reconciliation: the systems compared copy by copy and to the cent (`run.Reconciliation`)."""

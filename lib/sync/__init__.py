"""The sync engine: one model (engine), many models under leases and a time budget (runner)."""

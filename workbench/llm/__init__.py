"""The model gateway: one entry point for every model call (DESIGN §3.3)."""

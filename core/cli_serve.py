"""`punchbridge serve`: run the receiver (terminal pushes and cloud webhooks)."""

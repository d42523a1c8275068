"""`punchbridge device ...` (commands to terminals through the Minop cloud) and `punchbridge emulate minop`."""

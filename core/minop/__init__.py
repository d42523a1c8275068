"""The Minop device cloud: its attendance API client (`client`) and commands to terminals (`devices`).

The `minop` source plugin (`punchbridge.plugins.minop`) reads punches through `client`;
`punchbridge device ...` and employee sync send commands through `devices`.
"""

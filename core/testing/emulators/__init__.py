"""Emulators of the systems punchbridge talks to, enforcing each one's documented limits and errors.

Shipped with punchbridge: the plugins' tests run against them, and `punchbridge emulate` serves them
so a consultant can try a flow offline. One module per system: `minop`, `zoho`, `odoo`, `sap`,
`salesforce`, `erpnext`; `trial` sets each target's emulator up for `punchbridge emulate TARGET`.
"""

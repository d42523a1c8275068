"""Payroll cut-off: locked periods keep their values; later changes become adjustments (docs/cutoff.md).

Modules: `state` (the locks and erasures as the sync engine applies them), `adjustments` (changes to
days of locked periods, pure) and `settings` (the `adjustments:` section). Payroll period labels
live in `punchbridge.periods`, shared with the store.
"""

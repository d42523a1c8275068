"""Retention and erasure: `punchbridge purge` and `punchbridge erase` (docs/retention.md).

Modules: `engine` (purge data older than the retention, from months locked everywhere), `erasure`
(remove one person's data and keep them out) and `settings` (the `retention:` section).
"""

"""The durable store of punches, processed days, the delivery ledger and run history (SQLAlchemy Core).

`Store.open(url)` connects (SQLite by default, PostgreSQL by URL) and migrates the database; every
method is one transaction. docs/store.md is the contract.

`Store` and the rest are imported on first use: plugins import `punchbridge.store.files` (file modes)
when they load, and must not pay for SQLAlchemy and pandas then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.lazy import lazy_names

if TYPE_CHECKING:
    from punchbridge.store.punches import IngestResult
    from punchbridge.store.store import DEFAULT_URL, Store

__all__ = ["DEFAULT_URL", "IngestResult", "Store"]

_HOMES = {
    "DEFAULT_URL": "punchbridge.store.store",
    "IngestResult": "punchbridge.store.punches",
    "Store": "punchbridge.store.store",
}


__getattr__ = lazy_names(__name__, _HOMES)

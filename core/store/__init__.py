"""The durable store of punches, processed days, the delivery ledger and run history (SQLAlchemy Core).

`Store.open(url)` connects (SQLite by default, PostgreSQL by URL) and migrates the database; every
method is one transaction. docs/store.md is the contract.
"""

from punchbridge.store.punches import IngestResult
from punchbridge.store.store import DEFAULT_URL, Store

__all__ = ["DEFAULT_URL", "IngestResult", "Store"]

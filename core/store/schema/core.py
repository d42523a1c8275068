"""The store's first tables (SQLAlchemy Core): punches, days, ledger, batches, runs, the receiver's.

docs/store.md describes them; the migrations create them.

Choices beyond docs/store.md:

- The punches' uniqueness is declared on (`employee_id`, `instant_ns`, `device_id`): the same set of
  columns as the contract's unique (`device_id`, `employee_id`, `instant_ns`), ordered so that its
  index *is* the (`employee_id`, `instant_ns`) index the range queries use. A separate index on the
  same leading columns would only slow ingestion (measured on SQLite: 1,000,000 punches in time order
  into a store of five million took 21 s with the contract's two indexes, 12 s with this one plus the
  `instant_ns` index). `instant_ns` has its own index for queries over every employee.
- Identity texts (employee, device, date, target and record keys) compare bytewise on PostgreSQL
  (`COLLATE "C"`), as SQLite's default does, so both databases sort them in the same order.
- JSON is stored as text written by the store (`json.dumps`, key order kept), so what was recorded
  comes back byte for byte.
- `batches.status` also takes `dropped` (see `Store.drop_batch`): a dropped batch keeps its row so its
  sequence number is never given out again.
- `processed_days` and `ledger` (migration 0010) are WITHOUT ROWID tables on SQLite: their text key
  is stored once, as the table's own order, instead of in the table and again in its key index.
  Their `content_hash` is bytes, and `first_in`, `last_out` and `intervals` are kept without the
  day's date and offset repeated in every time (`punchbridge.store.compact`; the store converts at
  its boundary, so callers see the same texts).
- `quarantine.raw` and `raw_digest` (migration 0008): the body of a push the receiver acknowledged
  but could not use, and its digest (a resend of the same push is held once).
- The receiver's tables (migration 0003): `webhook_events` remembers the ids of webhook events already
  applied (replay protection; purged after the replay window), `leaves` and `period_locks` hold what
  `leave.approved` and `payroll.cutoff.locked` events said, and `cloud_events` keeps the payloads of
  events kept for later use (`attendance.processed`, and types this version does not know).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)

from punchbridge.store.schema.base import id_type as _id
from punchbridge.store.schema.base import key_type as _key
from punchbridge.store.schema.base import metadata
from punchbridge.store.schema.base import one_of as _one_of

__all__ = [
    "BATCH_STATUSES",
    "DAY_BOOL_COLUMNS",
    "DAY_FLOAT_COLUMNS",
    "DAY_INT_COLUMNS",
    "DAY_TEXT_COLUMNS",
    "LEAVE_KINDS",
    "LEDGER_STATUSES",
    "RUN_STATUSES",
    "audit",
    "batches",
    "cloud_events",
    "cursors",
    "dead_letters",
    "leaves",
    "ledger",
    "period_locks",
    "processed_days",
    "punches",
    "quarantine",
    "runs",
    "webhook_events",
]

LEDGER_STATUSES = ("delivered", "rejected")
BATCH_STATUSES = ("open", "done", "dropped")
#: stopped: migration 0005; busy (another process held a target's delivery lock): migration 0007
RUN_STATUSES = ("running", "ok", "failed", "partial", "stopped", "busy")
LEAVE_KINDS = ("full", "first_half", "second_half")

punches = Table(
    "punches",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("employee_id", _key(), nullable=False),
    Column("instant_ns", BigInteger, nullable=False),
    Column("device_id", _key(), nullable=False),
    Column("direction", Text, nullable=True),
    Column("source", Text, nullable=False),
    Column("ingested_at_ns", BigInteger, nullable=False),
    UniqueConstraint("employee_id", "instant_ns", "device_id"),
    Index(None, "instant_ns"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("line", BigInteger, nullable=True),
    Column("employee_id", Text, nullable=True),
    Column("timestamp", Text, nullable=True),
    Column("device_id", Text, nullable=True),
    Column("direction", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at_ns", BigInteger, nullable=False),
    # migration 0008: a quarantined push keeps its body (secrets and health data masked), and the
    # digest that tells a terminal's resend of it from another unusable push.
    Column("raw", Text, nullable=True),
    Column("raw_digest", Text, nullable=True),
    Index(None, "reason"),
)

#: processed_days value columns by kind (DAY_COLUMNS without employee_id and work_date).
DAY_TEXT_COLUMNS = (
    "site",
    "shift",
    "day_type",
    "status",
    "first_in",
    "last_out",
    "anomalies",
    "rules_version",
    "intervals",
)
DAY_INT_COLUMNS = (
    "worked_minutes",
    "regular_minutes",
    "ot_minutes",
    "break_minutes",
    "late_minutes",
    "early_exit_minutes",
    "punch_count",
)
DAY_FLOAT_COLUMNS = ("leave_days", "lop_days")
DAY_BOOL_COLUMNS = ("recomputed",)

processed_days = Table(
    "processed_days",
    metadata,
    Column("employee_id", _key(), primary_key=True),
    Column("work_date", _key(), primary_key=True),
    Column("site", Text, nullable=True),
    Column("shift", Text, nullable=True),
    Column("day_type", Text, nullable=True),
    Column("status", Text, nullable=True),
    Column("first_in", Text, nullable=True),
    Column("last_out", Text, nullable=True),
    *(Column(name, BigInteger, nullable=False) for name in DAY_INT_COLUMNS[:6]),
    Column("leave_days", Double, nullable=False),
    Column("lop_days", Double, nullable=False),
    Column("punch_count", BigInteger, nullable=False),
    Column("anomalies", Text, nullable=True),
    Column("recomputed", Boolean, nullable=False),
    Column("rules_version", Text, nullable=True),
    Column("intervals", Text, nullable=True),  # migration 0002
    Column("version", Integer, nullable=False),
    Column("content_hash", LargeBinary, nullable=False),  # migration 0010: punchbridge.store.compact
    Column("computed_at_ns", BigInteger, nullable=False),
    Index(None, "work_date"),
    sqlite_with_rowid=False,
)

ledger = Table(
    "ledger",
    metadata,
    Column("target", _key(), primary_key=True),
    Column("record_key", _key(), primary_key=True),
    # what the target holds (NULL if it never took the record), in punchbridge.store.compact's form
    Column("content_hash", LargeBinary, nullable=True),
    Column("remote_id", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("batch_id", BigInteger, nullable=True),
    Column("updated_at_ns", BigInteger, nullable=False),
    _one_of("status", LEDGER_STATUSES, "status"),
    sqlite_with_rowid=False,
)

batches = Table(
    "batches",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("target", _key(), nullable=False),
    Column("period_start", _key(), nullable=False),
    Column("period_end", _key(), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("columns", Text, nullable=False),
    Column("records", Text, nullable=False),  # JSON while open; empty once done or dropped
    Column("created_at_ns", BigInteger, nullable=False),
    Column("finished_at_ns", BigInteger, nullable=True),
    # migration 0010: a done or dropped batch's [{key, content_hash}] JSON, zlib-compressed
    Column("finished_records", LargeBinary, nullable=True),
    UniqueConstraint("target", "period_start", "period_end", "seq"),
    Index(None, "target", "status"),
    _one_of("status", BATCH_STATUSES, "status"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("target", _key(), nullable=False),
    Column("record_key", _key(), nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("fields", Text, nullable=False),
    Column("message", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("batch_id", BigInteger, nullable=True),
    Column("created_at_ns", BigInteger, nullable=False),
    UniqueConstraint("target", "record_key"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("name", _key(), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at_ns", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("target", Text, nullable=True),
    Column("started_at_ns", BigInteger, nullable=False),
    Column("finished_at_ns", BigInteger, nullable=True),
    Column("status", Text, nullable=False),
    Column("summary", Text, nullable=True),
    # migration 0005: which scheduled job the run was (NULL for a run of a command such as `sync`),
    # who started it (`schedule`, `catch_up`, `manual`), the fire time it ran for, and why it failed.
    Column("job", Text, nullable=True),
    Column("started_by", Text, nullable=True),
    Column("scheduled_at_ns", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Index(None, "kind", "status"),
    Index(None, "job"),
    _one_of("status", RUN_STATUSES, "status"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("at_ns", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("detail", Text, nullable=False),
)

# -- the receiver (migration 0003) ------------------------------------------------------------------

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", _key(), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("scheme", Text, nullable=False),  # which header set signed it: minop or standard
    Column("received_at_ns", BigInteger, nullable=False),
    Index(None, "received_at_ns"),
)

leaves = Table(
    "leaves",
    metadata,
    Column("employee_id", _key(), primary_key=True),
    Column("date", _key(), primary_key=True),  # YYYY-MM-DD
    Column("kind", _key(), primary_key=True),
    Column("paid", Boolean, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("received_at_ns", BigInteger, nullable=False),
    _one_of("kind", LEAVE_KINDS, "kind"),
)

period_locks = Table(
    "period_locks",
    metadata,
    Column("site", _key(), primary_key=True),  # `*`: every site
    Column("period", _key(), primary_key=True),
    Column("locked_at", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("received_at_ns", BigInteger, nullable=False),
)

cloud_events = Table(
    "cloud_events",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("event_id", _key(), nullable=False),
    Column("event_type", _key(), nullable=False),
    Column("created_at", Text, nullable=True),
    Column("payload", Text, nullable=False),
    Column("received_at_ns", BigInteger, nullable=False),
    UniqueConstraint("event_id"),
    Index(None, "event_type"),
)

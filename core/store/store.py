"""`Store`: the only code that talks to the database (docs/store.md is its contract).

Every public method is one transaction. Database failures become `StoreError` naming the store's URL
with the password redacted; malformed arguments (a frame missing a column, an outcome for a record
that is not in the batch) raise `ValueError` before anything is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, desc, func, select, update
from sqlalchemy.pool import SingletonThreadPool

from punchbridge.config.paths import sqlite_store_file
from punchbridge.errors import StoreError
from punchbridge.records import Batch, Outcome, Record
from punchbridge.store import delivery as _delivery
from punchbridge.store import punches as _punches
from punchbridge.store import quarantine as _quarantine
from punchbridge.store import receiver as _receiver
from punchbridge.store.database import (
    DATABASE_ERRORS,
    OPEN_ERRORS,
    connect,
    describe_error,
    describe_store,
    dialect_insert,
    dumps_json,
    migrate,
    redact_url,
    transaction,
)
from punchbridge.store.files import private_sqlite_file
from punchbridge.store.locks import LockStore
from punchbridge.store.punches import IngestResult
from punchbridge.store.receiver import ReceiverWrite
from punchbridge.store.reconcile import ReconcileStore
from punchbridge.store.retention import RetentionStore
from punchbridge.store.scheduling import SchedulingStore
from punchbridge.store.schema import RUN_STATUSES, audit, cursors, runs
from punchbridge.store.terminals import TerminalStore

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["DEFAULT_URL", "IngestResult", "Store"]

DEFAULT_URL = "sqlite:///punchbridge.db"

QUARANTINE_COLUMNS = _quarantine.ADDED_COLUMNS
RUN_COLUMNS = tuple(column.name for column in runs.columns)  # every column, in table order


class Store(TerminalStore, SchedulingStore, LockStore, RetentionStore, ReconcileStore):
    """The durable store. Open it with `Store.open(url)`; close it (or use it as a context manager)."""

    def __init__(self, engine: Engine, url: str) -> None:
        """Use `Store.open`: it migrates the database first."""
        self._engine: Engine | None = engine
        self._url = url
        self.url_for_display: str = redact_url(url)

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str = DEFAULT_URL, *, migrating: Callable[[int, int], None] | None = None) -> Store:
        """Connect to `url` and migrate the database to the newest schema.

        `migrating(done, total)` is told the schema revisions applied, when there are any to apply.

        A new SQLite file is created with mode 0600 (`punchbridge.store.files`); an existing one that
        other users may read is reported once. Raises StoreError (naming the URL, password redacted)
        when the URL is malformed or names an unsupported database, the server cannot be reached, the
        SQLite file is not a database, or the schema is newer than this code.
        """
        display = describe_store(url)
        private_sqlite_file(url)  # created 0600 before SQLite makes it with the umask's mode
        engine: Engine | None = None
        try:
            engine = connect(url)
            migrate(engine, migrating)
        except StoreError:
            if engine is not None:
                engine.dispose()
            raise
        except OPEN_ERRORS as exc:
            if engine is not None:
                engine.dispose()
            raise StoreError(f"cannot open the store {display}: {describe_error(exc, url)}") from exc
        return cls(engine, url)

    @staticmethod
    def peek_cursor(url: str, name: str) -> str | None:
        """Cursor `name` of the store at `url` as it is, without creating, migrating or writing the store;
        None when there is no such store or cursor, or it cannot be read (for checks that write nothing)."""
        path = sqlite_store_file(url)
        if path is not None and not path.exists():
            return None
        engine: Engine | None = None
        try:
            engine = connect(url)
            with engine.connect() as connection:
                found = connection.execute(select(cursors.c.value).where(cursors.c.name == name)).scalar_one_or_none()
        except (StoreError, *OPEN_ERRORS):
            return None
        finally:
            if engine is not None:
                engine.dispose()
        return None if found is None else str(found)

    def close(self) -> None:
        """Release the connections (the store cannot be used afterwards; closing twice is fine)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_for_display!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests that inspect the database; writes go through methods)."""
        if self._engine is None:
            raise StoreError(f"the store {self.url_for_display} is closed")
        return self._engine

    @property
    def shared_across_threads(self) -> bool:
        """True when threads of this process see one database (False for an in-memory SQLite store:
        each thread's connection is a database of its own)."""
        return not isinstance(self.engine.pool, SingletonThreadPool)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        engine = self.engine
        try:
            with transaction(engine, write=write) as connection:
                yield connection
        except DATABASE_ERRORS as exc:
            doing = "write to" if write else "read from"
            raise StoreError(
                f"cannot {doing} the store {self.url_for_display}: {describe_error(exc, self._url)}"
            ) from exc
        except StoreError as exc:  # the store does not hold what was asked for (a batch, a run)
            if self.url_for_display in str(exc):
                raise
            raise StoreError(f"the store {self.url_for_display}: {exc}") from exc

    # -- punches --------------------------------------------------------------------------------

    def add_punches(self, punches: pd.DataFrame, source: str) -> IngestResult:
        """Store new punches; a punch already stored (same device, employee, instant), or repeated in
        `punches`, is not stored again. Ids follow the rows' order: the ingest order."""
        columns = _punches.punch_columns(punches, source, time.time_ns())
        if len(punches) == 0:
            return IngestResult(0, 0, None, None)
        with self._transaction(write=True) as connection:
            return _punches.insert_punches(connection, columns)

    def punches_between(self, start_ns: int, end_ns: int, employee_ids: Collection[str] | None = None) -> pd.DataFrame:
        """Punches with instant in [start_ns, end_ns), ordered by employee_id, instant, device_id."""
        with self._transaction(write=False) as connection:
            return _punches.punches_between(connection, start_ns, end_ns, employee_ids)

    def punches_after(self, punch_id: int) -> pd.DataFrame:
        """Punches with id > punch_id, in ingest order."""
        with self._transaction(write=False) as connection:
            return _punches.punches_after(connection, punch_id)

    def last_punch_id(self) -> int:
        """The highest punch id (0 when there are none)."""
        with self._transaction(write=False) as connection:
            highest = connection.execute(select(func.max(_punches.punches.c.id))).scalar_one()
        return int(highest or 0)

    def first_punch_ns(self) -> int | None:
        """The earliest instant of any stored punch (UTC nanoseconds), or None when there is none."""
        with self._transaction(write=False) as connection:
            first = connection.execute(select(func.min(_punches.punches.c.instant_ns))).scalar_one()
        return None if first is None else int(first)

    def punch_count(self) -> int:
        with self._transaction(write=False) as connection:
            return int(connection.execute(select(func.count()).select_from(_punches.punches)).scalar_one())

    # -- cursors --------------------------------------------------------------------------------

    def get_cursor(self, name: str) -> str | None:
        with self._transaction(write=False) as connection:
            value = connection.execute(select(cursors.c.value).where(cursors.c.name == name)).scalar_one_or_none()
        return value

    def set_cursor(self, name: str, value: str) -> None:
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            insert = dialect_insert(connection, cursors).values(name=name, value=str(value), updated_at_ns=now)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["name"], set_={"value": insert.excluded.value, "updated_at_ns": now}
                )
            )

    def replace_cursor(self, name: str, expected: str, value: str) -> bool:
        """Set cursor `name` to `value` only if it still holds `expected` (compare and set); whether it did.

        For a value that must not overwrite what another process wrote since it was read (the sync's
        "clean" after a delivery, over a "dirty" another run set meanwhile).
        """
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            done = connection.execute(
                update(cursors)
                .where(cursors.c.name == name, cursors.c.value == expected)
                .values(value=str(value), updated_at_ns=now)
            )
            return bool(done.rowcount == 1)

    # -- quarantine -----------------------------------------------------------------------------

    def add_quarantine(self, rows: pd.DataFrame) -> int:
        """Store quarantined rows (columns as the table; only `source` and `reason` are required)."""
        import pandas as pd

        from punchbridge.store.days import text_values

        missing = [c for c in ("source", "reason") if c not in rows.columns]
        if missing:
            raise ValueError(f"quarantine: missing columns {missing}")
        if len(rows) == 0:
            return 0
        values: dict[str, list[Any]] = {}
        for name in QUARANTINE_COLUMNS:
            if name not in rows.columns:
                values[name] = [None] * len(rows)
            elif name == "line":
                lines = pd.to_numeric(rows[name]).astype("Int64")
                values[name] = [None if pd.isna(v) else int(v) for v in lines.tolist()]
            else:
                values[name] = text_values(rows[name], name, required=name in ("source", "reason"), what="quarantine")
        values["created_at_ns"] = [time.time_ns()] * len(rows)
        with self._transaction(write=True) as connection:
            _quarantine.insert_rows(connection, values)
        return len(rows)

    def quarantine_rows(
        self,
        reason: str | None = None,
        *,
        source: str | None = None,
        device: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Quarantined rows in the order they were stored: id, the added columns, created_at_ns and `raw`
        (the body of a quarantined push). Filters: `reason`; `source` (a name, or its prefix before `:`:
        `receiver` is every `receiver:...`); `device`; `limit` keeps the newest that many."""
        with self._transaction(write=False) as connection:
            return _quarantine.list_rows(connection, reason=reason, source=source, device=device, limit=limit)

    def quarantine_count(self, reason: str | None = None, *, source: str | None = None) -> int:
        """How many quarantined rows there are (with `reason`, from `source`, as in `quarantine_rows`)."""
        with self._transaction(write=False) as connection:
            return _quarantine.count_rows(connection, reason=reason, source=source)

    # -- processed days -------------------------------------------------------------------------

    def save_days(self, days: pd.DataFrame) -> pd.DataFrame:
        """Upsert days by (employee_id, work_date), versioned by content hash.

        Returns employee_id, work_date, version, content_hash and change (`new`, `changed`, `same`),
        indexed like `days`. A changed row gets version + 1 and its values replaced; a row with an
        equal hash is left as it is (also its `recomputed` flag and `computed_at_ns`).
        """
        from punchbridge.store import days as _days

        now = time.time_ns()
        _days.normalise_days(days.iloc[:0])  # the columns are there (before opening a transaction)
        with self._transaction(write=True) as connection:
            return _days.save_days(connection, days, now)

    def load_days(self, date_from: date, date_to: date, employee_ids: Collection[str] | None = None) -> pd.DataFrame:
        """Stored days with work_date in [date_from, date_to]: DAY_COLUMNS + version + content_hash."""
        from punchbridge.store import days as _days

        with self._transaction(write=False) as connection:
            return _days.load_days(connection, date_from, date_to, employee_ids)

    @staticmethod
    def day_content_hash(days: pd.DataFrame) -> pd.Series:
        """The content hash save_days uses (see `punchbridge.store.days.day_content_hash`)."""
        from punchbridge.store import days as _days

        return _days.day_content_hash(days)

    # -- delivery -------------------------------------------------------------------------------

    def ledger(self, target: str, keys: Collection[str] | None = None) -> pd.DataFrame:
        """What `target` holds: record_key, content_hash, remote_id, status, attempts, last_error,
        batch_id, ordered by record_key (only `keys` when given)."""
        with self._transaction(write=False) as connection:
            return _delivery.read_ledger(connection, target, keys)

    def open_batch(
        self,
        target: str,
        period_start: date,
        period_end: date,
        columns: Sequence[str],
        records: Sequence[Record],
    ) -> Batch:
        """Record a batch durably before it is sent, with seq = 1 + the highest seq ever used for
        (target, period). The returned Batch holds the records as stored (read back from JSON), so
        the first send and any resend see the same values."""
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            return _delivery.open_batch(connection, target, period_start, period_end, columns, records, now)

    def open_batches(self, target: str) -> list[Batch]:
        """Batches of `target` recorded but not completed nor dropped, oldest first."""
        with self._transaction(write=False) as connection:
            return _delivery.open_batches(connection, target)

    def complete_batch(self, batch_id: int, outcomes: Sequence[Outcome]) -> None:
        """Apply a batch's outcomes to the ledger and dead letters and mark it done, in one transaction.

        ok: ledger `delivered` with the record's content hash and the remote id (the previous one is
        kept when the target gave none), attempts + 1, no error; its dead letter is removed.
        failed: ledger `rejected`, attempts + 1, last_error = message (content_hash and remote_id
        stay what the target holds); the dead letter for the key is replaced (its attempts count the
        failures since the last delivery). Records without an outcome are left as they were.
        StoreError when the batch does not exist or is not open; ValueError (nothing written) for an
        outcome whose key is not in the batch or appears twice.
        """
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            _delivery.complete_batch(connection, batch_id, outcomes, now)

    def drop_batch(self, batch_id: int) -> None:
        """Give up an open batch that will not be sent. It stays recorded as `dropped` (so its seq is
        never reused); dropping it again does nothing; a completed batch cannot be dropped."""
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            _delivery.drop_batch(connection, batch_id, now)

    def dead_letters(self, target: str | None = None) -> pd.DataFrame:
        """Dead letters (of `target`, or all): id, target, record_key, content_hash, fields (dict),
        message, attempts, batch_id, created_at_ns, oldest first."""
        with self._transaction(write=False) as connection:
            return _delivery.list_dead_letters(connection, target)

    def drop_dead_letters(self, ids: Collection[int]) -> int:
        """Remove dead letters by id; returns how many there were."""
        with self._transaction(write=True) as connection:
            return _delivery.drop_dead_letters(connection, ids)

    # -- the receiver ---------------------------------------------------------------------------

    def receive(self, writes: Sequence[ReceiverWrite], received_at_ns: int | None = None) -> list[str]:
        """Apply what the receiver took in, in ONE transaction, and return one outcome per write.

        The receiver groups the requests that arrive together into one call (group commit) and
        answers each only after this returns: one durable commit covers them all. Outcomes: a punch is
        `stored` or `duplicate`; a quarantined push `quarantined` or `already_quarantined`; a webhook
        event `processed` or `replayed` (its id is known: it has no effect). ValueError (nothing
        written) for a malformed write. `received_at_ns` is the time recorded with them (default now):
        the receiver passes its own clock, the one its replay window is measured with. See
        `punchbridge.store.receiver`.
        """
        _receiver.check_writes(writes)
        if not writes:
            return []
        now = time.time_ns() if received_at_ns is None else int(received_at_ns)
        with self._transaction(write=True) as connection:
            return _receiver.apply_writes(connection, writes, now)

    def leaves(self) -> pd.DataFrame:
        """Approved leaves received from the cloud, as the rules engine takes them: employee_id,
        date (datetime.date), kind (full, first_half, second_half), paid (bool); ordered by
        employee_id, date, kind."""
        with self._transaction(write=False) as connection:
            return _receiver.list_leaves(connection)

    def period_locks(self) -> pd.DataFrame:
        """Payroll periods locked in the cloud: site (`*` for every site), period, locked_at (as
        sent), event_id, source, received_at_ns; ordered by site and period."""
        with self._transaction(write=False) as connection:
            return _receiver.list_period_locks(connection)

    def cloud_events(self, event_type: str | None = None) -> pd.DataFrame:
        """Webhook payloads kept for later use (of `event_type`, or all): event_id, event_type,
        created_at, payload (decoded), received_at_ns; in the order they arrived."""
        with self._transaction(write=False) as connection:
            return _receiver.list_cloud_events(connection, event_type)

    def webhook_event_seen(self, event_id: str) -> bool:
        """True when a webhook event with this id was applied (and not yet purged)."""
        with self._transaction(write=False) as connection:
            return _receiver.webhook_event_seen(connection, event_id)

    def purge_webhook_events(self, older_than_ns: int) -> int:
        """Forget the ids of webhook events received before `older_than_ns` (ns since the epoch);
        returns how many. The receiver keeps them for its replay window first."""
        with self._transaction(write=True) as connection:
            return _receiver.purge_webhook_events(connection, older_than_ns)

    def ping(self) -> None:
        """Read the schema version: StoreError when the database cannot be read (for health checks)."""
        with self._transaction(write=False) as connection:
            connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()

    # -- runs and audit -------------------------------------------------------------------------

    def start_run(self, kind: str, target: str | None = None) -> int:
        """Record a run as `running`; returns its id.

        Inside a scheduled job's run (`begin_job_run` .. `end_job_run` on this store), a run of the
        job's kind is that job run: its id is returned and no second row is written, so a job run is
        one row whatever the engine it calls records (see `punchbridge.store.scheduling`).
        """
        adopted = self._adopted_run(kind)
        if adopted is not None:
            return adopted
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            statement = runs.insert().values(kind=kind, target=target, started_at_ns=now, status="running")
            return int(connection.execute(statement.returning(runs.c.id)).scalar_one())

    def finish_run(self, run_id: int, status: str, summary: Mapping[str, Any], error: str | None = None) -> None:
        """Record how a run ended (`ok`, `failed`, `partial` or `stopped`), its summary (JSON) and, for a
        run that failed, why (`error`, one line)."""
        if status not in RUN_STATUSES or status == "running":
            finished = ", ".join(s for s in RUN_STATUSES if s != "running")
            raise ValueError(f"run status must be one of {finished}, not {status!r}")
        stored = dumps_json(dict(summary), "the run summary")
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            statement = update(runs).where(runs.c.id == run_id)
            values: dict[str, Any] = {"status": status, "summary": stored, "finished_at_ns": now}
            if error is not None:
                values["error"] = error
            done = connection.execute(statement.values(**values))
            if done.rowcount != 1:
                raise StoreError(f"there is no run {run_id}")

    def last_run(self, kind: str, status: str | None = None, *, job: str | None = None) -> dict[str, Any] | None:
        """The most recently started run of `kind` (with `status`, and of scheduled job `job`, when
        given) as a dict of its columns (summary decoded), or None."""
        query = select(*(runs.c[c] for c in RUN_COLUMNS)).where(runs.c.kind == kind)
        if status is not None:
            query = query.where(runs.c.status == status)
        if job is not None:
            query = query.where(runs.c.job == job)
        with self._transaction(write=False) as connection:
            row = connection.execute(query.order_by(desc(runs.c.id)).limit(1)).one_or_none()
        if row is None:
            return None
        found = dict(row._mapping)
        found["summary"] = None if found["summary"] is None else json.loads(found["summary"])
        return found

    def audit(self, event: str, detail: Mapping[str, Any]) -> None:
        """Append an audit event with its detail (JSON)."""
        stored = dumps_json(dict(detail), "the audit detail")
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            connection.execute(audit.insert().values(at_ns=now, event=event, detail=stored))

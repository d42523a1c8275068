"""The scheduler's lock and the run history of scheduled jobs (docs/jobs.md).

`Store` inherits `SchedulingStore`; its methods use `self._transaction(write=...)` like the rest of the store.

Run history: a scheduled job's run is one row of `runs`, written by `begin_job_run` (status
`running`, with the job's name, who started it and the fire time it runs for) and closed by
`end_job_run`. Engines that record their own run (the sync engine calls `start_run("sync")` and
`finish_run`) write into that same row while the job runs: `Store.start_run` returns the job run's
id for the job's kind instead of adding a row. A job run is therefore one row, with the engine's
counts in its summary and the job's final status (also `stopped`) and error.

The lock row (`scheduler_lock`) is read and written by `punchbridge.store.locks` (`LockStore`, the
same code as the delivery locks'); `scheduler_lock_holder` says who holds it. The lock itself is
taken in `punchbridge.jobs.lock`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, desc, select, update

from punchbridge.errors import StoreError
from punchbridge.store.database import dumps_json
from punchbridge.store.schema import RUN_STATUSES, runs

__all__ = ["JOB_RUN_STARTERS", "SchedulingStore"]

#: Who starts a job run: the scheduler at a fire time, the scheduler at start-up for a fire time
#: missed while it was down, or an operator (`punchbridge jobs run`).
JOB_RUN_STARTERS = ("schedule", "catch_up", "manual")
_RUN_COLUMNS = tuple(column.name for column in runs.columns)  # every column, in table order
_MAX_ERROR = 2000


def _run_dict(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    found["summary"] = None if found["summary"] is None else json.loads(found["summary"])
    return found


class SchedulingStore:
    """Store methods for this feature (mixed into `Store`)."""

    #: (run id, kind) of the job run in progress on this store object, if any (see the module docstring).
    _job_run: tuple[int, str] | None = None

    if TYPE_CHECKING:

        def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]: ...

        def lock_holder(self, kind: str, name: str) -> dict[str, Any] | None: ...

    # -- job runs -----------------------------------------------------------------------------------

    def begin_job_run(
        self,
        job: str,
        kind: str,
        *,
        target: str | None = None,
        started_by: str = "manual",
        scheduled_at_ns: int | None = None,
        now_ns: int | None = None,
    ) -> int:
        """Record a run of scheduled job `job` (of `kind`: sync, reconcile, ...) as `running`; its id.

        `now_ns` is the start time to record (default: now); the scheduler passes its clock's.
        Until `end_job_run`, `start_run(kind)` on this store returns this id (one row per job run).
        ValueError when a job run is already in progress on this store or `started_by` is unknown.
        """
        if not job or not kind:
            raise ValueError("a job run needs the job's name and kind")
        if started_by not in JOB_RUN_STARTERS:
            raise ValueError(f"started_by must be one of {', '.join(JOB_RUN_STARTERS)}, not {started_by!r}")
        if self._job_run is not None:
            raise ValueError(f"job run {self._job_run[0]} is still in progress on this store")
        now = time.time_ns() if now_ns is None else int(now_ns)
        with self._transaction(write=True) as connection:
            statement = runs.insert().values(
                kind=kind,
                target=target,
                started_at_ns=now,
                status="running",
                job=job,
                started_by=started_by,
                scheduled_at_ns=scheduled_at_ns,
            )
            run_id = int(connection.execute(statement.returning(runs.c.id)).scalar_one())
        self._job_run = (run_id, kind)
        return run_id

    def _adopted_run(self, kind: str) -> int | None:
        """The job run in progress on this store when it is of `kind` (for `start_run`)."""
        if self._job_run is not None and self._job_run[1] == kind:
            return self._job_run[0]
        return None

    def end_job_run(
        self,
        run_id: int,
        status: str,
        summary: Mapping[str, Any],
        error: str | None = None,
        *,
        now_ns: int | None = None,
    ) -> None:
        """Record how job run `run_id` ended: status (ok, partial, failed, stopped), summary, error.

        The summary is merged over what the engine recorded in the row (the job's keys win);
        `now_ns` is the end time to record (default: now).
        """
        if status not in RUN_STATUSES or status == "running":
            finished = ", ".join(s for s in RUN_STATUSES if s != "running")
            raise ValueError(f"run status must be one of {finished}, not {status!r}")
        if self._job_run is not None and self._job_run[0] == run_id:
            self._job_run = None
        now = time.time_ns() if now_ns is None else int(now_ns)
        with self._transaction(write=True) as connection:
            recorded = connection.execute(select(runs.c.summary).where(runs.c.id == run_id)).one_or_none()
            if recorded is None:
                raise StoreError(f"there is no run {run_id}")
            merged = {**(json.loads(recorded[0]) if recorded[0] else {}), **dict(summary)}
            values = {
                "status": status,
                "summary": dumps_json(merged, "the run summary"),
                "finished_at_ns": now,
                "error": None if error is None else error[:_MAX_ERROR],
            }
            connection.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def abandon_job_runs(self, error: str) -> list[int]:
        """Mark job runs still `running` as `failed` with `error`; their ids.

        Only the holder of the scheduler lock runs jobs, so when a process takes the lock, job runs
        still `running` were left by a holder that died (runs of commands such as `sync`, which have
        no job, are not touched).
        """
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            left = [
                int(run_id)
                for run_id in connection.execute(
                    select(runs.c.id).where(runs.c.status == "running", runs.c.job.is_not(None))
                ).scalars()
            ]
            if left:
                connection.execute(
                    update(runs)
                    .where(runs.c.id.in_(left))
                    .values(status="failed", finished_at_ns=now, error=error[:_MAX_ERROR])
                )
        return left

    def last_job_run(self, job: str) -> dict[str, Any] | None:
        """The most recently started run of scheduled job `job` (any status), or None."""
        query = select(*(runs.c[c] for c in _RUN_COLUMNS)).where(runs.c.job == job)
        with self._transaction(write=False) as connection:
            row = connection.execute(query.order_by(desc(runs.c.id)).limit(1)).one_or_none()
        return None if row is None else _run_dict(row)

    def list_runs(
        self, *, limit: int = 20, kind: str | None = None, job: str | None = None, failed: bool = False
    ) -> list[dict[str, Any]]:
        """The most recent runs first (at most `limit`), of `kind` / `job` when given, only failed
        ones when `failed`; each a dict of the run's columns (summary decoded)."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = select(*(runs.c[c] for c in _RUN_COLUMNS))
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        if job is not None:
            query = query.where(runs.c.job == job)
        if failed:
            query = query.where(runs.c.status == "failed")
        with self._transaction(write=False) as connection:
            rows = connection.execute(query.order_by(desc(runs.c.id)).limit(limit)).all()
        return [_run_dict(row) for row in rows]

    # -- the scheduler lock row -------------------------------------------------------------------

    def scheduler_lock_holder(self, name: str = "scheduler") -> dict[str, Any] | None:
        """The lock row `name` (holder, host, pid, command, acquired_at_ns, heartbeat_at_ns), or None."""
        return self.lock_holder("scheduler", name)

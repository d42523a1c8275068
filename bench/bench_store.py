"""Benchmark the store on SQLite: bulk ingestion, range reads over a year, processed-day upserts.

    python bench/bench_store.py                 # keeps the year store in bench/out/ for later runs
    python bench/bench_store.py --rebuild       # builds the year store again
    python bench/bench_store.py --url postgresql+psycopg://...   # the same on another database
    python bench/bench_store.py --employees 50 --days 3 --months 2 --out /tmp/b   # a tiny run

Sizes below are the defaults (`--employees`, `--days` for the month, `--months` for the year store).

1. `add_punches` of 1,000,000 punches (10,000 employees x 25 days x 4 punches, in time order, with
   2% re-sent) into an empty store.
2. A year of punches (~14.6 million) built month by month with `add_punches` (each month timed), then
   `punches_between` for 3 days of all 10,000 employees (ids given, and not given), best of 3.
3. `save_days` of 250,000 days (10,000 employees x 25 days) into an empty table, the same rows again
   (all `same`), and with 10% of them changed; and `day_content_hash` alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
T = TypeVar("T")

EMPLOYEES = np.array([f"E{i:05d}" for i in range(10_000)], dtype=object)  # --employees replaces it
DEVICES = np.array([f"GATE-{i}" for i in range(20)], dtype=object)
DIRECTIONS = np.array(["in", "break_out", "break_in", "out"], dtype=object)
#: Minutes after local midnight (IST) of the four punches of a day.
PUNCH_MINUTES = np.array([9 * 60, 13 * 60, 14 * 60, 18 * 60])
IST_NS = (5 * 60 + 30) * 60 * 10**9
NS_PER_MINUTE = 60 * 10**9
NS_PER_DAY = 24 * 60 * NS_PER_MINUTE
EPOCH = date(1970, 1, 1)


def month_of_punches(first: date, days: int, seed: int, resent: float = 0.0) -> pd.DataFrame:
    """Four punches per employee per day (jittered), sorted by instant, with a share of them re-sent."""
    rng = np.random.default_rng(seed)
    n_emp = len(EMPLOYEES)
    day = np.repeat(np.arange(days), n_emp * 4)
    employee = np.tile(np.repeat(np.arange(n_emp), 4), days)
    which = np.tile(np.arange(4), n_emp * days)
    base = ((first - EPOCH).days + day) * NS_PER_DAY - IST_NS
    jitter = rng.integers(-20 * NS_PER_MINUTE, 20 * NS_PER_MINUTE, len(day))
    instants = base + PUNCH_MINUTES[which] * NS_PER_MINUTE + jitter
    device = rng.integers(0, len(DEVICES), len(day))
    order = np.argsort(instants, kind="stable")
    if resent:
        again = rng.choice(len(order), int(len(order) * resent), replace=False)
        order = np.concatenate([order, np.sort(order[again])])
    return pd.DataFrame(
        {
            "employee_id": EMPLOYEES[employee[order]],
            "instant": pd.to_datetime(instants[order], unit="ns", utc=True),
            "device_id": DEVICES[device[order]],
            "direction": DIRECTIONS[which[order]],
        }
    )


def _times(dates: list[str], day: np.ndarray, hour: int, minutes: np.ndarray) -> list[str]:
    return [f"{dates[d]}T{hour:02d}:{m:02d}:00+05:30" for d, m in zip(day.tolist(), minutes.tolist(), strict=True)]


def days_frame(first: date, days: int, seed: int) -> pd.DataFrame:
    """Processed days shaped like the engine's output (categoricals for the repeated texts)."""
    from punchbridge.rules.frames import DAY_COLUMNS

    rng = np.random.default_rng(seed)
    n = len(EMPLOYEES) * days
    dates = [(first + timedelta(days=d)).isoformat() for d in range(days)]
    work_date = np.repeat(np.arange(days), len(EMPLOYEES))
    worked = rng.integers(400, 600, n)
    first_in = _times(dates, work_date, 9, rng.integers(0, 60, n))
    last_out = _times(dates, work_date, 18, rng.integers(0, 60, n))
    frame = pd.DataFrame(
        {
            "employee_id": pd.Categorical(np.tile(EMPLOYEES, days)),
            "work_date": pd.Categorical.from_codes(work_date, categories=dates),
            "site": pd.Categorical(["PUNE"] * n),
            "shift": pd.Categorical(rng.choice(["G", "N"], n)),
            "day_type": pd.Categorical(["workday"] * n),
            "status": pd.Categorical(rng.choice(["present", "half_day", "absent"], n, p=[0.9, 0.05, 0.05])),
            "first_in": first_in,
            "last_out": last_out,
            "worked_minutes": worked,
            "regular_minutes": np.minimum(worked, 480),
            "ot_minutes": np.maximum(worked - 480, 0),
            "break_minutes": np.full(n, 60),
            "late_minutes": rng.integers(0, 15, n),
            "early_exit_minutes": np.zeros(n, dtype=np.int64),
            "leave_days": np.zeros(n),
            "lop_days": np.zeros(n),
            "punch_count": np.full(n, 4),
            "anomalies": pd.Categorical(rng.choice(["", "missing_out", "duplicates:1"], n, p=[0.95, 0.03, 0.02])),
            "recomputed": np.zeros(n, dtype=bool),
            "rules_version": pd.Categorical(["r1"] * n),
            "intervals": [f"{start}/{end}" for start, end in zip(first_in, last_out, strict=True)],
        }
    )
    return frame[list(DAY_COLUMNS)]


class Timing(NamedTuple):
    """Wall clock and this process's CPU time (user + system): on a shared machine the CPU time is the figure."""

    wall: float
    cpu: float


def timed(work: Callable[[], T]) -> tuple[Timing, T]:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Timing(time.perf_counter() - started, time.process_time() - cpu), result


def best_of(runs: int, work: Callable[[], T]) -> tuple[Timing, T]:
    timings = [timed(work) for _ in range(runs)]
    return min((t for t, _ in timings), key=lambda t: t.cpu), timings[0][1]


def fresh_sqlite(name: str) -> str:
    path = OUT / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def main() -> None:
    global EMPLOYEES, OUT  # the sizes and folder the options choose, used by the helpers above
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="build the year store again")
    parser.add_argument("--url", help="a database URL instead of SQLite files in bench/out (emptied first!)")
    parser.add_argument("--months", type=int, default=12, help="months in the year store (default 12)")
    parser.add_argument("--employees", type=int, default=10_000, help="employees (default 10,000)")
    parser.add_argument("--days", type=int, default=25, help="days of the month measured (default 25)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the SQLite files (default bench/out)")
    args = parser.parse_args()
    EMPLOYEES = np.array([f"E{i:05d}" for i in range(args.employees)], dtype=object)
    OUT = args.out
    from punchbridge.store import Store

    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str]] = []

    def report(what: str, seconds: Timing, note: str = "") -> None:
        rows.append((what, f"{seconds.wall:8.2f}", f"{seconds.cpu:8.2f}", note))
        print(f"  {what:<58} {seconds.wall:8.2f} s wall {seconds.cpu:8.2f} s CPU  {note}", flush=True)

    def empty_store(name: str) -> Store:
        if args.url:
            store = Store.open(args.url)
            with store.engine.begin() as connection:
                for table in ("punches", "processed_days"):
                    connection.exec_driver_sql(f"DELETE FROM {table}")
            return store
        return Store.open(fresh_sqlite(name))

    print(f"store: {args.url or 'SQLite files in ' + str(OUT)}")

    # 1. One million punches into an empty store.
    month = month_of_punches(date(2025, 3, 1), args.days, seed=1, resent=0.02)
    with empty_store("bench-million.db") as store:
        seconds, result = timed(lambda: store.add_punches(month, source="bench"))
        report(f"add_punches {len(month):,} rows, empty store", seconds, f"{result.inserted:,} new")
        some = month.iloc[:100_000]
        again, result = timed(lambda: store.add_punches(some, source="bench"))
        report(f"add_punches {len(some):,} rows already stored", again, f"{result.duplicates:,} duplicates")

    # 2. A year of punches, then 3 days of every employee.
    year_path = OUT / "bench-year.db"
    url = args.url or f"sqlite:///{year_path}"
    first_day = date(2024, 1, 1)
    build = args.url is not None or args.rebuild or not year_path.exists()
    with empty_store("bench-year.db") if build else Store.open(url) as store:
        if build:
            start = first_day
            # Eleven months of 31 days and one of 24 make the year; fewer months make a smaller store.
            for number in range(args.months):
                days = 31 if number < 11 else 24
                frame = month_of_punches(start, days, seed=100 + number)
                held = store.punch_count()
                seconds, _ = timed(lambda frame=frame: store.add_punches(frame, source="year"))
                report(f"  month {number + 1}: add_punches {len(frame):,} rows", seconds, f"store had {held:,}")
                start += timedelta(days=days)
        total = store.punch_count()
        held_days = min(args.months, 11) * 31 + (24 if args.months >= 12 else 0)
        middle = ((first_day - EPOCH).days + held_days // 2) * NS_PER_DAY - IST_NS
        window = (middle, middle + 3 * NS_PER_DAY)
        everyone = list(EMPLOYEES)
        seconds, found = best_of(3, lambda: store.punches_between(*window, employee_ids=everyone))
        report(f"punches_between 3 days x {len(everyone):,} ids, store of {total:,}", seconds, f"{len(found):,} rows")
        seconds, found = best_of(3, lambda: store.punches_between(*window))
        report("punches_between 3 days, no employee filter", seconds, f"{len(found):,} rows")
        few = everyone[:50]
        seconds, found = best_of(3, lambda: store.punches_between(*window, employee_ids=few))
        report("punches_between 3 days x 50 ids", seconds, f"{len(found):,} rows")

    # 3. Processed days.
    days = days_frame(date(2025, 3, 1), args.days, seed=7)
    with empty_store("bench-days.db") as store:
        seconds, _ = best_of(3, lambda: Store.day_content_hash(days))
        report(f"day_content_hash {len(days):,} rows", seconds)
        seconds, result = timed(lambda: store.save_days(days))
        report(f"save_days {len(days):,} rows, all new", seconds, f"{(result['change'] == 'new').sum():,} new")
        seconds, result = timed(lambda: store.save_days(days))
        report(f"save_days {len(days):,} rows, all the same", seconds, f"{(result['change'] == 'same').sum():,} same")
        changed = days.copy()
        changed.loc[changed.index % 10 == 0, "late_minutes"] = 99
        seconds, result = timed(lambda: store.save_days(changed))
        report(f"save_days {len(days):,} rows, 10% changed", seconds, f"{(result['change'] == 'changed').sum():,}")
        seconds, loaded = timed(lambda: store.load_days(date(2025, 3, 1), date(2025, 3, 31)))
        report(f"load_days {args.days} days x {len(EMPLOYEES):,} employees", seconds, f"{len(loaded):,} rows")

    print()
    print(f"{'measurement':<60} {'wall s':>8} {'CPU s':>8}  note")
    for what, wall, cpu, note in rows:
        print(f"{what:<60} {wall} {cpu}  {note}")
    if not args.url:
        for name in ("bench-million.db", "bench-days.db"):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{OUT / name}{suffix}").unlink(missing_ok=True)
        print(f"\nyear store kept: {year_path} ({year_path.stat().st_size / 2**20:,.0f} MiB)")


if __name__ == "__main__":
    sys.exit(main())

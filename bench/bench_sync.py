"""Benchmark `punchbridge sync`: a quiet night over a year of history, and one busy day.

    python bench/bench_sync.py [--employees 10000] [--months 12]

Setup (not timed as a figure, but printed): a SQLite store holding one year of history for 10,000
employees (about 14.6 million punches, 3.65 million processed days, all delivered to a local CSV
target), built month by month with the normal sync.

Then, each run of `punchbridge sync` timed end to end as a subprocess:
1. no new punches: the run must make no target request (no new file) — the figure is its wall time,
   `--runs` times, alternating with `punchbridge --help` (the start-up alone, its baseline), after
   one untimed quiet night (reported apart: on a store an older version synced last, it runs the
   engine and keeps the digest of its inputs that later quiet nights compare with);
2. one new day of punches for every employee: wall time, and the records delivered.

Last, the store's size per million punches held, in all, per table (indexes counted with their
table) and per b-tree (each table and index apart), from SQLite's `dbstat`; and the bytes each row of
the largest tables takes with its indexes (a punch, a processed day, a ledger row, a batch).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import RULES, generate  # noqa: E402

WORK = HERE / "out" / "sync"  # --work sets another folder
MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: date, from: work_date}
  - {name: status, from: status}
  - {name: worked, from: worked_minutes}
  - {name: overtime, from: ot_minutes}
"""


def _config(first: date, last: date) -> Path:
    config = WORK / "punchbridge.yaml"
    config.write_text(
        f"store: sqlite:///{WORK / 'store.db'}\n"
        "sources:\n  terminals: {plugin: csv_folder, folder: inbox}\n"
        "employees: employees.csv\n"
        f"sync: {{from: {first.isoformat()}, to: {last.isoformat()}}}\n"
        "targets:\n  payroll: {plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true}\n" + RULES
    )
    return config


def _sync(config: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "punchbridge", "sync", "-c", str(config)], capture_output=True, text=True, cwd=WORK
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sync failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def _start_up() -> float:
    """The baseline of a quiet night: starting the command and printing its help, nothing more."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "punchbridge", "--help"], capture_output=True, check=True)
    return time.perf_counter() - started


def _month_of_punches(employees: int, first: date, days: int, seed: int) -> Path:
    scratch = WORK / "scratch"
    generate(scratch, employees=employees, days=days, seed=seed, first_day=first, night_seed=0)
    target = WORK / "inbox" / f"punches-{first.isoformat()}.csv"
    (scratch / "punches.csv").rename(target)
    (scratch / "employees.csv").replace(WORK / "employees.csv")
    return target


def _store_size(path: Path) -> dict[str, object]:
    """The store's bytes per table (with its indexes), per b-tree and in all, per million punches held."""
    with sqlite3.connect(path) as connection:
        punches = connection.execute("SELECT COUNT(*) FROM punches").fetchone()[0]
        pages = connection.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')")
        table_of = dict(pages.fetchall())
        by_tree = dict(connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        by_table: dict[str, int] = {}
        for name, size in by_tree.items():
            table = table_of.get(name, name)
            by_table[table] = by_table.get(table, 0) + size
        # what one row costs says where a saving has to come from (a punch's columns, a day's, a key's)
        rows = {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("punches", "processed_days", "ledger", "batches")
        }
    million = max(punches, 1) / 1e6

    def per_million(sizes: dict[str, int]) -> dict[str, float]:
        ordered = sorted(sizes.items(), key=lambda item: -item[1])
        return {name: round(size / 2**20 / million, 1) for name, size in ordered}

    return {
        "punches_held": punches,
        "store_mib_per_million_punches": round(sum(by_table.values()) / 2**20 / million, 1),
        "mib_per_million_punches_by_table": per_million(by_table),
        "mib_per_million_punches_by_btree": {name: size for name, size in per_million(by_tree).items() if size >= 0.05},
        "bytes_per_row_with_indexes": {
            table: round(by_table.get(table, 0) / count, 1) for table, count in rows.items() if count
        },
    }


def _use_folder(folder: Path) -> None:
    global WORK
    WORK = folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3, help="quiet nights timed, each beside a bare start-up")
    parser.add_argument("--work", type=Path, default=WORK, help="the folder of the store and its files")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the history already built in --work (it takes minutes to build)"
    )
    args = parser.parse_args()
    _use_folder(args.work.resolve())
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "inbox").mkdir(exist_ok=True)
    (WORK / "mapping.yaml").write_text(MAPPING)
    first = date(2024, 1, 1)
    setup: list[dict[str, float]] = []
    month_start = first
    for month in range(args.months):
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        days = (next_month - month_start).days
        if not (WORK / "inbox" / f"punches-{month_start.isoformat()}.csv").exists():
            _month_of_punches(args.employees, month_start, days, seed=month)
        elif args.reuse and (WORK / "store.db").exists():
            month_start = next_month
            continue
        elapsed, _ = _sync(_config(first, next_month - timedelta(days=1)))
        setup.append({"month": month_start.isoformat(), "seconds": round(elapsed, 1)})
        print(f"history: {month_start:%Y-%m} synced in {elapsed:.1f} s", flush=True)
        month_start = next_month
    last = month_start - timedelta(days=1)

    files_before = sorted((WORK / "out").glob("*.csv"))
    quiet_runs, start_up_runs = [], []
    # One quiet night first, reported apart: on a store last synced by an older version (or with other
    # input files) it runs the engine and keeps its inputs' digest, which the next nights compare with.
    first_quiet = round(_sync(_config(first, last))[0], 2)
    for _ in range(args.runs):  # alternating with the start-up alone, so both see the same load
        quiet_runs.append(round(_sync(_config(first, last))[0], 2))
        start_up_runs.append(round(_start_up(), 2))
    quiet = min(quiet_runs)
    files_after = sorted((WORK / "out").glob("*.csv"))
    assert files_after == files_before, "a sync with nothing new sent something"

    new_day = month_start
    scratch = WORK / "scratch"
    new_file = WORK / "inbox" / f"punches-{new_day.isoformat()}.csv"
    busy, delivered = None, None
    if not new_file.exists():  # a --reuse run after a full one: that day is stored already
        generate(scratch, employees=args.employees, days=1, seed=99, first_day=new_day, night_seed=0)
        (scratch / "punches.csv").rename(new_file)
        busy, _output = _sync(_config(first, new_day))
        new_files = sorted(set((WORK / "out").glob("*.csv")) - set(files_after))
        delivered = sum(len(pd.read_csv(f)) for f in new_files)

    results = {
        "employees": args.employees,
        "months_of_history": args.months,
        "history_sync_seconds": setup,
        "quiet_night_seconds": round(quiet, 2),
        "quiet_night_runs": quiet_runs,
        "first_quiet_night_seconds (not counted above)": first_quiet,
        "start_up_runs (punchbridge --help, same run)": start_up_runs,
        "one_new_day_seconds": None if busy is None else round(busy, 2),
        "one_new_day_records_delivered": delivered,
        "store_bytes": (WORK / "store.db").stat().st_size,
        **_store_size(WORK / "store.db"),
    }
    (HERE / "out").mkdir(exist_ok=True)  # a clean clone has no bench/out when --work is elsewhere
    (HERE / "out" / "sync-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

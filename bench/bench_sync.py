"""Benchmark `punchbridge sync`: a quiet night over a year of history, and one busy day.

    python bench/bench_sync.py [--employees 10000] [--months 12]

Setup (not timed as a figure, but printed): a SQLite store holding one year of history for 10,000
employees (about 14.6 million punches, 3.65 million processed days, all delivered to a local CSV
target), built month by month with the normal sync.

Then, each run of `punchbridge sync` timed end to end as a subprocess:
1. no new punches: the run must make no target request (no new file) — the figure is its wall time;
2. one new day of punches for every employee: wall time, and the records delivered.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import RULES, generate  # noqa: E402

WORK = HERE / "out" / "sync"
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


def _month_of_punches(employees: int, first: date, days: int, seed: int) -> Path:
    scratch = WORK / "scratch"
    generate(scratch, employees=employees, days=days, seed=seed, first_day=first, night_seed=0)
    target = WORK / "inbox" / f"punches-{first.isoformat()}.csv"
    (scratch / "punches.csv").rename(target)
    (scratch / "employees.csv").replace(WORK / "employees.csv")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
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
        elapsed, _ = _sync(_config(first, next_month - timedelta(days=1)))
        setup.append({"month": month_start.isoformat(), "seconds": round(elapsed, 1)})
        print(f"history: {month_start:%Y-%m} synced in {elapsed:.1f} s", flush=True)
        month_start = next_month
    last = month_start - timedelta(days=1)

    files_before = sorted((WORK / "out").glob("*.csv"))
    quiet, _output = _sync(_config(first, last))
    files_after = sorted((WORK / "out").glob("*.csv"))
    assert files_after == files_before, "a sync with nothing new sent something"

    new_day = month_start
    scratch = WORK / "scratch"
    generate(scratch, employees=args.employees, days=1, seed=99, first_day=new_day, night_seed=0)
    (scratch / "punches.csv").rename(WORK / "inbox" / f"punches-{new_day.isoformat()}.csv")
    busy, _output = _sync(_config(first, new_day))
    new_files = sorted(set((WORK / "out").glob("*.csv")) - set(files_after))
    delivered = sum(len(pd.read_csv(f)) for f in new_files)

    results = {
        "employees": args.employees,
        "months_of_history": args.months,
        "history_sync_seconds": setup,
        "quiet_night_seconds": round(quiet, 2),
        "one_new_day_seconds": round(busy, 2),
        "one_new_day_records_delivered": delivered,
        "store_bytes": (WORK / "store.db").stat().st_size,
    }
    (HERE / "out" / "sync-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

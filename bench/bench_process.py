"""Benchmark `punchbridge process` end to end against the pyarrow floor, and the engine against the oracle.

    python bench/bench_process.py                         # 10,000 employees x 25 days: ~1,025,000 punches
    python bench/bench_process.py --employees 50000       # ~5.1 million punches
    python bench/bench_process.py --employees 20 --days 3 --out /tmp/b --oracle-employees 5   # tiny

1. `/usr/bin/time -v punchbridge process ...` on the generated month (10% night shift, 3% double
   taps, 2% missing outs): CPU time (user + system), wall clock and peak resident memory of the
   whole command, CSV in to CSV out. Paired in the same run, alternating with it (`--runs` times
   each), the floor: a Python process that only reads the punches with pyarrow's CSV reader and
   writes as many rows of the same width as the command wrote (pyarrow's CSV writer). The ratio
   of their CPU times is the figure.
2. On a subset (the first `--oracle-employees` employees), the vectorised engine and the plain
   per-employee-day oracle of the tests (`tests/support/oracle.py`), timed in this process on the
   same inputs (best of 3 runs each), and their results compared.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from generate import generate  # noqa: E402

OUT = HERE / "out"  # --out replaces it
T = TypeVar("T")


FLOOR = """
import sys
import numpy as np
import pyarrow as pa
from pyarrow import csv
punches, days, rows, out = sys.argv[1:5]
read = csv.read_csv(punches)
with csv.open_csv(days) as reader:
    head = pa.Table.from_batches([reader.read_next_batch()])
csv.write_csv(head.take(np.arange(int(rows)) % len(head)), out)
print(read.num_rows)
"""


def _measured(command: list[str]) -> dict[str, float]:
    """Wall clock, CPU time (user + system) and peak resident memory of `command`, from `/usr/bin/time -v`.

    CPU time is the figure on a shared machine: the wall clock also counts the time spent waiting.
    """
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", done.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert wall and user and system and peak, done.stderr
    hours, minutes, seconds = wall.groups()
    return {
        "wall_seconds": int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds),
        "cpu_seconds": float(user.group(1)) + float(system.group(1)),
        "peak_rss_mib": int(peak.group(1)) / 1024,
    }


def end_to_end(data: Path, first: date, last: date) -> dict[str, float]:
    """`punchbridge process` on the month in `data`, writing days and quarantine CSV files."""
    days_out = OUT / "days.csv"
    command = [
        "punchbridge", "process",
        "--punches", str(data / "punches.csv"), "--employees", str(data / "employees.csv"),
        "--rules", str(data / "rules.yaml"), "--from", first.isoformat(), "--to", last.isoformat(),
        "--out", str(days_out), "--quarantine", str(OUT / "quarantine.csv"),
    ]  # fmt: skip
    measured = _measured(command)
    with days_out.open() as lines:
        measured["output_rows"] = sum(1 for _ in lines) - 1
    return measured


def floor(data: Path, rows: int) -> dict[str, float]:
    """The I/O floor: read the punches with pyarrow, write `rows` rows as wide as the days written."""
    return _measured([sys.executable, "-c", FLOOR, str(data / "punches.csv"), str(OUT / "days.csv"), str(rows),
                      str(OUT / "floor.csv")])  # fmt: skip


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """The shortest of `runs` timings of `work` (the usual way to time code), and its result."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def engine_against_oracle(data: Path, first: date, last: date, employees: int) -> dict[str, float]:
    import pandas as pd
    from oracle import oracle_compute_days

    from punchbridge.config.datafiles import load_rules, read_employees
    from punchbridge.config.punchfile import read_punches
    from punchbridge.rules import AttendanceInputs, compute_days

    rules = load_rules(data / "rules.yaml")
    staff = read_employees(data / "employees.csv", rules)
    punches = read_punches(data / "punches.csv", staff, rules, first, last).punches
    chosen = set(sorted(staff["employee_id"])[:employees])
    inputs = AttendanceInputs(
        punches=punches[punches["employee_id"].isin(chosen)].reset_index(drop=True),
        employees=staff[staff["employee_id"].isin(chosen)].reset_index(drop=True),
    )
    plain_inputs = AttendanceInputs(
        punches=inputs.punches.astype({"employee_id": object, "device_id": object, "direction": object}),
        employees=inputs.employees,
    )
    engine_seconds, fast = best_of(3, lambda: compute_days(inputs, rules, first, last))
    oracle_seconds, slow = best_of(3, lambda: oracle_compute_days(plain_inputs, rules, first, last))
    same = fast.days.astype(str).reset_index(drop=True).equals(slow.days.astype(str).reset_index(drop=True))
    return {
        "subset_punches": len(inputs.punches),
        "engine_seconds": engine_seconds,
        "oracle_seconds": oracle_seconds,
        "speedup": oracle_seconds / engine_seconds,
        "identical_output": bool(same),
        "rows": len(pd.DataFrame(fast.days)),
    }


def main() -> None:
    global OUT  # the folder the option chooses, used by the helpers above
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000, help="employees (default 10,000: ~1M punches)")
    parser.add_argument("--days", type=int, default=25, help="days in the month (default 25)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the command and of the floor, alternating")
    parser.add_argument("--oracle-employees", type=int, default=500, help="employees compared with the oracle")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the data and outputs (default bench/out)")
    args = parser.parse_args()
    OUT = args.out
    data = OUT / f"month-{args.employees}x{args.days}"
    first = date(2025, 3, 1)
    last = first + timedelta(days=args.days - 1)
    if not (data / "punches.csv").exists():
        count = generate(data, employees=args.employees, days=args.days)
        print(f"generated {count:,} punches in {data}")
    with (data / "punches.csv").open() as lines:
        punch_count = sum(1 for _ in lines) - 1
    ours, floors = [], []
    for _ in range(args.runs):  # alternating, so both see the same load on a shared machine
        ours.append(end_to_end(data, first, last))
        floors.append(floor(data, int(ours[-1]["output_rows"])))
    versus = engine_against_oracle(data, first, last, args.oracle_employees)
    results = {"punches": punch_count, "process": ours, "floor": floors, "engine_vs_oracle": versus}
    (OUT / "process-results.json").write_text(json.dumps(results, indent=2))
    print(
        "| run | punches | process CPU (s) | wall (s) | peak (MiB) | MiB per million punches "
        "| floor CPU (s) | wall (s) | peak (MiB) | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for number, (mine, base) in enumerate(zip(ours, floors, strict=True), start=1):
        print(
            f"| {number} | {punch_count:,} | {mine['cpu_seconds']:.2f} | {mine['wall_seconds']:.2f} "
            f"| {mine['peak_rss_mib']:.0f} | {mine['peak_rss_mib'] / max(punch_count, 1) * 1e6:.0f} "
            f"| {base['cpu_seconds']:.2f} | {base['wall_seconds']:.2f} | {base['peak_rss_mib']:.0f} "
            f"| {mine['cpu_seconds'] / max(base['cpu_seconds'], 0.01):.2f}x |"
        )
    print(
        f"\nengine vs oracle on {versus['subset_punches']:,} punches: {versus['engine_seconds']:.3f} s vs "
        f"{versus['oracle_seconds']:.2f} s ({versus['speedup']:.0f}x), identical output: {versus['identical_output']}"
    )
    if not versus["identical_output"]:
        sys.exit("the engine and the oracle disagree")


if __name__ == "__main__":
    main()

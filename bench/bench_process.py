"""Benchmark `punchbridge process`: 1,000,000 punches end to end, and the engine against the oracle.

    python bench/bench_process.py            # generates bench/out/month once, then measures

1. `/usr/bin/time -v punchbridge process ...` on 10,000 employees x 25 days (~1,025,000 punches,
   10% night shift, 3% double taps, 2% missing outs): wall clock and peak resident memory of the
   whole command, CSV in to CSV out.
2. On a subset of ~50,000 punches (the first 500 employees), the vectorised engine and the plain
   per-employee-day oracle of the tests (`tests/oracle.py`), timed in this process on the same
   inputs (best of 3 runs each), and their results compared.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from generate import generate  # noqa: E402

DATA = HERE / "out" / "month"
T = TypeVar("T")
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 25)


def end_to_end() -> dict[str, float]:
    days_out = HERE / "out" / "days.csv"
    command = [
        "/usr/bin/time", "-v", "punchbridge", "process",
        "--punches", str(DATA / "punches.csv"), "--employees", str(DATA / "employees.csv"),
        "--rules", str(DATA / "rules.yaml"), "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
        "--out", str(days_out), "--quarantine", str(HERE / "out" / "quarantine.csv"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    assert wall, done.stderr
    hours, minutes, seconds = wall.groups()
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return {
        "wall_seconds": int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds),
        "peak_rss_mib": peak_kb / 1024,
        "output_rows": sum(1 for _ in days_out.open()) - 1,
    }


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """The shortest of `runs` timings of `work` (the usual way to time code), and its result."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def engine_against_oracle(employees: int = 500) -> dict[str, float]:
    import pandas as pd
    from oracle import oracle_compute_days

    from punchbridge.config.datafiles import load_rules, read_employees
    from punchbridge.config.punchfile import read_punches
    from punchbridge.rules import AttendanceInputs, compute_days

    rules = load_rules(DATA / "rules.yaml")
    staff = read_employees(DATA / "employees.csv", rules)
    punches = read_punches(DATA / "punches.csv", staff, rules, FIRST, LAST).punches
    chosen = set(sorted(staff["employee_id"])[:employees])
    inputs = AttendanceInputs(
        punches=punches[punches["employee_id"].isin(chosen)].reset_index(drop=True),
        employees=staff[staff["employee_id"].isin(chosen)].reset_index(drop=True),
    )
    plain_inputs = AttendanceInputs(
        punches=inputs.punches.astype({"employee_id": object, "device_id": object, "direction": object}),
        employees=inputs.employees,
    )
    engine_seconds, fast = best_of(3, lambda: compute_days(inputs, rules, FIRST, LAST))
    oracle_seconds, slow = best_of(3, lambda: oracle_compute_days(plain_inputs, rules, FIRST, LAST))
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
    if not (DATA / "punches.csv").exists():
        count = generate(DATA, employees=10_000, days=25)
        print(f"generated {count} punches in {DATA}")
    punch_count = sum(1 for _ in (DATA / "punches.csv").open()) - 1
    results = {"punches": punch_count, "end_to_end": end_to_end(), "engine_vs_oracle": engine_against_oracle()}
    (HERE / "out" / "results.json").write_text(json.dumps(results, indent=2))
    e2e, versus = results["end_to_end"], results["engine_vs_oracle"]
    print("| punches | wall (s) | peak RSS (MiB) | subset | engine (s) | oracle (s) | speed-up | identical |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {punch_count:,} | {e2e['wall_seconds']:.2f} | {e2e['peak_rss_mib']:.0f} | {versus['subset_punches']:,} "
        f"| {versus['engine_seconds']:.3f} | {versus['oracle_seconds']:.2f} | {versus['speedup']:.0f}x "
        f"| {versus['identical_output']} |"
    )


if __name__ == "__main__":
    main()

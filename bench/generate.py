"""Generate a synthetic month of punches for benchmarks (deterministic for a given seed).

Default: 10,000 employees over 25 days, about 4 punches a day (in, lunch out, lunch in,
out), 10% on a night shift, 3% of punches doubled by a second tap, 2% of days missing the last out.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

RULES = """\
sites:
  blr: {timezone: Asia/Kolkata, weekly_off: [sun], holidays: [2025-03-14]}
shifts:
  general:
    start: "09:00"
    end: "18:00"
    grace_in: 10
    breaks: [{start: "13:00", end: "13:30"}]
  night:
    start: "22:00"
    end: "06:00"
    auto_break: {after: 360, minutes: 30}
    rounding: {unit: 15, in: up, out: down}
pairing: {debounce_seconds: 120, direction: auto}
"""


def generate(
    folder: Path,
    employees: int,
    days: int,
    seed: int = 7,
    first_day: date = date(2025, 3, 1),
    night_seed: int | None = None,
) -> int:
    """Write rules.yaml, employees.csv and punches.csv into `folder`; return the number of punches.

    `night_seed` fixes who works nights independently of `seed`, so several months generated with
    different seeds describe the same workforce.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(RULES)
    ids = np.array([f"E{i:06d}" for i in range(employees)], dtype=object)
    night = (rng if night_seed is None else np.random.default_rng(night_seed)).random(employees) < 0.10
    pd.DataFrame({"employee_id": ids, "site": "blr", "shift": np.where(night, "night", "general")}).to_csv(
        folder / "employees.csv", index=False
    )

    dates = [first_day + timedelta(days=d) for d in range(days)]
    emp = np.repeat(np.arange(employees), days)
    day = np.tile(np.arange(days), employees)
    midnight = np.array([np.datetime64(d.isoformat()) for d in dates], dtype="datetime64[s]")[day]
    is_night = night[emp]
    n = len(emp)

    def jitter(scale: int) -> np.ndarray:
        return rng.normal(0, scale, n).astype("timedelta64[s]")

    start = np.where(is_night, 22 * 3600, 9 * 3600).astype("timedelta64[s]")
    times = [
        midnight + start + jitter(600),
        midnight + start + np.timedelta64(4 * 3600, "s") + jitter(300),
        midnight + start + np.timedelta64(4 * 3600 + 1800, "s") + jitter(300),
        midnight + start + np.timedelta64(9 * 3600, "s") + jitter(900),
    ]
    keep_last = rng.random(n) > 0.02
    stamps = np.concatenate([*times[:3], times[3][keep_last]])
    owners = np.concatenate([emp, emp, emp, emp[keep_last]])
    doubled = rng.random(len(stamps)) < 0.03
    stamps = np.concatenate([stamps, stamps[doubled] + rng.integers(5, 90, doubled.sum()).astype("timedelta64[s]")])
    owners = np.concatenate([owners, owners[doubled]])
    local = np.datetime_as_string(stamps, unit="s").astype(object) + "+05:30"
    order = rng.permutation(len(stamps))
    pd.DataFrame(
        {
            "employee_id": ids[owners[order]],
            "timestamp": local[order],
            "device_id": np.where(owners[order] % 2 == 0, "GATE-1", "GATE-2"),
        }
    ).to_csv(folder / "punches.csv", index=False)
    return len(stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    count = generate(args.folder, args.employees, args.days, args.seed)
    print(f"{count} punches for {args.employees} employees over {args.days} days in {args.folder}")


if __name__ == "__main__":
    main()

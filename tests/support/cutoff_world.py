"""A small configuration for cut-off and retention tests: three employees, October and November 2025.

E1 and E2 work in Bengaluru (site `blr`), E3 in Berlin (site `ber`); each works 09:00 to 18:00 local
time on 6 to 10 October 2025. Targets: `payroll` (CSV files `attendance_*` in `out/`) and, unless
left out, `adjustments` (CSV files `adjustments_*` in `out/`, with the adjustment mapping of
docs/cutoff.md). Everything lives in one temporary folder; the store is a SQLite file there.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from punchbridge.cli import main
from punchbridge.store import Store

PAYROLL_MAPPING = """\
fields:
  - {name: EmployeeCode, from: employee_id}
  - {name: Date, from: work_date, format: "%d/%m/%Y"}
  - {name: Status, from: status}
  - {name: WorkedHours, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}
  - {name: LOP, from: lop_days}
  - {name: Recomputed, from: recomputed, transform: yes_no}
"""

ADJUSTMENT_MAPPING = """\
fields:
  - {name: EmployeeCode, from: employee_id}
  - {name: WorkDate, from: work_date, format: "%d/%m/%Y"}
  - {name: Status, from: status}
  - {name: WorkedHoursDelta, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}
  - {name: LeaveDaysDelta, from: leave_days}
  - {name: LOPDelta, from: lop_days}
"""

EMPLOYEES = "employee_id,site,shift\nE1,blr,general\nE2,blr,general\nE3,ber,general\n"
WORK_DAYS = (6, 7, 8, 9, 10)


def _config(store: str, targets: str, extra: str) -> str:
    return f"""\
store: {store}
sources:
  terminals: {{plugin: csv_folder, folder: inbox}}
employees: employees.csv
sync: {{from: 2025-10-01, to: 2025-11-30}}
targets:
{targets}
{extra}
sites:
  blr: {{timezone: Asia/Kolkata, weekly_off: [sun]}}
  ber: {{timezone: Europe/Berlin, weekly_off: [sat, sun]}}
shifts:
  general: {{start: "09:00", end: "18:00"}}
"""


PAYROLL_TARGET = """\
  payroll: {plugin: local_csv, mapping: payroll.yaml, folder: out, create_folder: true, prefix: attendance}
"""
ADJUSTMENTS_TARGET = """\
  adjustments: {plugin: local_csv, mapping: adjustments.yaml, folder: out, create_folder: true, prefix: adjustments}
"""


class World:
    """The folder, its configuration and helpers to act on it as an operator would."""

    def __init__(self, root: Path, *, adjustments: bool = True, targets: str = PAYROLL_TARGET, extra: str = "") -> None:
        self.root = root
        self.config = root / "config.yaml"
        self.url = f"sqlite:///{root / 'store.db'}"
        (root / "inbox").mkdir(parents=True, exist_ok=True)
        (root / "employees.csv").write_text(EMPLOYEES)
        (root / "payroll.yaml").write_text(PAYROLL_MAPPING)
        (root / "adjustments.yaml").write_text(ADJUSTMENT_MAPPING)
        self.write_config(adjustments=adjustments, targets=targets, extra=extra)
        rows = []
        for employee, offset in (("E1", "+05:30"), ("E2", "+05:30"), ("E3", "+02:00")):
            for day in WORK_DAYS:
                rows.append((employee, f"2025-10-{day:02d}T09:00:00{offset}"))
                rows.append((employee, f"2025-10-{day:02d}T18:00:00{offset}"))
        self.punch_file("month.csv", rows)

    def write_config(self, *, adjustments: bool = True, targets: str = PAYROLL_TARGET, extra: str = "") -> None:
        """Rewrite the configuration (the same store and folders)."""
        all_targets = targets + (ADJUSTMENTS_TARGET if adjustments else "")
        section = "adjustments: {target: adjustments}\n" if adjustments else ""
        self.config.write_text(_config(self.url, all_targets.rstrip("\n"), section + extra))

    def punch_file(self, name: str, rows: Sequence[tuple[str, str]]) -> None:
        """Drop a punch file (employee, RFC 3339 timestamp) into the inbox; device D1."""
        lines = ["employee_id,timestamp,device_id,direction"] + [f"{e},{t},D1," for e, t in rows]
        (self.root / "inbox" / name).write_text("\n".join(lines) + "\n")

    def cli(self, command: str, *options: str, input: str | None = None) -> Result:
        """Run `punchbridge COMMAND -c CONFIG OPTIONS` (`command` may be two words: "period lock")."""
        full = [*command.split(), "-c", str(self.config), *options]
        return CliRunner().invoke(main, full, input=input, catch_exceptions=False)

    def sync(self, *args: str, expect: int = 0) -> Result:
        """`punchbridge sync` (exit code `expect`)."""
        result = CliRunner().invoke(main, ["sync", "-c", str(self.config), *args], catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    @contextmanager
    def store(self) -> Iterator[Store]:
        with Store.open(self.url) as store:
            yield store

    def files(self, prefix: str) -> list[Path]:
        """The CSV files of `prefix` in `out/`, by name."""
        return sorted((self.root / "out").glob(f"{prefix}_*.csv"))

    def rows(self, prefix: str) -> list[dict[str, str]]:
        """Every row of every CSV file of `prefix`, in file order."""
        found: list[dict[str, str]] = []
        for path in self.files(prefix):
            with path.open(newline="") as handle:
                found += list(csv.DictReader(handle))
        return found

    def day(self, employee: str, day: str) -> dict[str, Any]:
        """The stored processed day."""
        with self.store() as store:
            days = store.load_days(date.fromisoformat(day), date.fromisoformat(day), [employee])
        assert len(days) == 1, f"no stored day for {employee} on {day}"
        return days.iloc[0].to_dict()

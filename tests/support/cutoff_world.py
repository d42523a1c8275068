"""A small configuration for cut-off and retention tests: three employees, October and November 2025.

E1 and E2 work in Bengaluru (site `blr`), E3 in Berlin (site `ber`); each works 09:00 to 18:00 local
time on 6 to 10 October 2025. Targets: `payroll` (CSV files `attendance_*` in `out/`) and, unless
left out, `adjustments` (CSV files `adjustments_*` in `out/`, with the adjustment mapping of
docs/cutoff.md). Everything lives in one temporary folder; the store is a SQLite file there.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from support.world import World as BaseWorld

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

EMPLOYEES = (("E1", "blr", "general"), ("E2", "blr", "general"), ("E3", "ber", "general"))
WORK_DAYS = (6, 7, 8, 9, 10)
SITES = {
    "blr": "{timezone: Asia/Kolkata, weekly_off: [sun]}",
    "ber": "{timezone: Europe/Berlin, weekly_off: [sat, sun]}",
}
SHIFTS = {"general": '{start: "09:00", end: "18:00"}'}

PAYROLL_TARGET = """\
  payroll: {plugin: local_csv, mapping: payroll.yaml, folder: out, create_folder: true, prefix: attendance}
"""
ADJUSTMENTS_TARGET = """\
  adjustments: {plugin: local_csv, mapping: adjustments.yaml, folder: out, create_folder: true, prefix: adjustments}
"""


class World(BaseWorld):
    """The folder, its configuration and helpers to act on it as an operator would.

    `config` is the configuration's path and `url` the store's; `sync` is `punchbridge sync`.
    """

    def __init__(self, root: Path, *, adjustments: bool = True, targets: str = PAYROLL_TARGET, extra: str = "") -> None:
        super().__init__(root)
        self.config = self.config_path
        self.url = f"sqlite:///{root / 'store.db'}"
        self.write_employees(EMPLOYEES)
        self.write_file("payroll.yaml", PAYROLL_MAPPING)
        self.write_file("adjustments.yaml", ADJUSTMENT_MAPPING)
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
        self.configure(
            period=("2025-10-01", "2025-11-30"), targets=all_targets, sites=SITES, shifts=SHIFTS,
            extra=section + extra, store=self.url,
        )  # fmt: skip

    # These tests sync as the operator does, through the command (its exit code is part of the check).
    def sync(self, *args: str, expect: int = 0) -> Result:  # type: ignore[override]
        """`punchbridge sync` (exit code `expect`)."""
        return self.sync_cli(*args, expect=expect)

"""One World for the tests: a temporary customer folder, its configuration written from parts, and
what an operator does with it (run the CLI, sync, reconcile, look into the store and the payroll files).

A scenario is this class configured: `cutoff_world.World`, `reconcile_world.World`,
`open_days_world.OpenDaysWorld` and `keeping_target.KeeperWorld` each choose their employees, punches,
sites, shifts and targets, and keep the few helpers (and older signatures) only their tests use.

    world = World(tmp_path)
    world.write_employees([("E1", "blr", "general")])
    world.punch_file("day.csv", [("E1", "2026-03-02T09:00:00+05:30"), ("E1", "2026-03-02T18:00:00+05:30")])
    world.configure(
        period=("2026-03-01", "2026-03-31"),
        targets={"out": "{plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true}"},
        sites={"blr": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00"}'},
    )
    world.sync(today=date(2026, 4, 1))
    world.rows()  # what the payroll file holds
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from punchbridge.cli import main
from punchbridge.config import Config, read_config
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.plugin_api import registry as registry_module
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.reconcile import ReconcileReport, run_reconcile
from punchbridge.store import Store
from punchbridge.store.receiver import EventWrite, PeriodLockWrite
from punchbridge.sync import SyncEngine, SyncReport

#: The one source every world reads: CSV punch files dropped into `inbox/`.
TERMINALS = "terminals: {plugin: csv_folder, folder: inbox}"
PUNCH_HEADER = "employee_id,timestamp,device_id,direction"
BENGALURU = "{timezone: Asia/Kolkata, weekly_off: [sun]}"

#: A day at the office for A1 and B2 on Monday 2025-10-06 (Bengaluru), nine hours each.
MONDAY_OF_TWO = [
    ("A1", "2025-10-06T09:00:00+05:30"),
    ("A1", "2025-10-06T18:00:00+05:30"),
    ("B2", "2025-10-06T09:02:00+05:30"),
    ("B2", "2025-10-06T18:01:00+05:30"),
]


class World:
    """A customer folder (`root`) with its configuration file (`config_path`) and the operator's actions.

    Nothing is written until a test (or a scenario) calls `write_file`, `write_employees`,
    `punch_file` and `configure`; the store is the SQLite file `store.db` in the folder unless the
    configuration names another.
    """

    def __init__(self, root: Path, *, config_name: str = "config.yaml") -> None:
        self.root = root
        self.config_path = root / config_name

    # The folder -----------------------------------------------------------------------------------

    def write_file(self, name: str, text: str) -> Path:
        """Write `text` to `name` (relative to the folder; folders made as needed); returns the path."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_employees(
        self, rows: Iterable[Sequence[str]], columns: Sequence[str] = ("employee_id", "site", "shift")
    ) -> Path:
        """The employee file `employees.csv`: one row per person, in `columns`."""
        lines = [",".join(columns), *(",".join(row) for row in rows)]
        return self.write_file("employees.csv", "\n".join(lines) + "\n")

    def punch_file(self, name: str, rows: Iterable[Sequence[str]], *, device: str = "D1") -> Path:
        """Drop a punch file into `inbox/`: rows of (employee, RFC 3339 time[, direction]) from `device`."""
        lines = [PUNCH_HEADER]
        for employee, timestamp, *direction in rows:
            lines.append(f"{employee},{timestamp},{device},{''.join(direction)}")
        return self.write_file(f"inbox/{name}", "\n".join(lines) + "\n")

    def configure(
        self,
        *,
        period: tuple[date | str, date | str] | None,
        targets: Mapping[str, str] | str,
        sites: Mapping[str, str],
        shifts: Mapping[str, str],
        extra: str = "",
        last: str = "",
        store: str | None = None,
        employees: str = "employees.csv",
    ) -> Path:
        """(Re)write the configuration from its parts; returns its path.

        `period` is the sync's from and to (None: from the first punch to yesterday); `sites` and
        `shifts` map names to YAML flow mappings; each target is a flow mapping on one line or a block
        of `key: value` lines (or `targets` is the whole indented block, verbatim); `extra` is more
        top-level sections, verbatim, after the targets, and `last` more at the very end (tests count
        its lines). `store` defaults to `store.db` in the folder.
        """
        store = store or f"sqlite:///{self.root / 'store.db'}"
        lines = [
            f"store: {store}",
            "sources:",
            f"  {TERMINALS}",
            f"employees: {employees}",
            *([f"sync: {{from: {period[0]}, to: {period[1]}}}"] if period else []),
            "targets:",
            targets.rstrip("\n") if isinstance(targets, str) else _targets_block(targets),
        ]
        if extra.strip():
            lines.append(extra.rstrip("\n"))
        lines += ["sites:", *(f"  {name}: {site}" for name, site in sites.items())]
        lines += ["shifts:", *(f"  {name}: {shift}" for name, shift in shifts.items())]
        if last.strip():
            lines.append(last.rstrip("\n"))
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config_path

    # Acting on it ---------------------------------------------------------------------------------

    def load(self) -> tuple[Config, YamlDocument, PluginRegistry]:
        """The configuration (which must be valid), its document and the plugins."""
        config, document, _data, problems = read_config(self.config_path)
        assert config is not None and not problems, problems
        # Through the module, so that a plugin a test registers with monkeypatch (the keeper) is found.
        return config, document, registry_module.load_plugins()

    @property
    def store_url(self) -> str:
        """The store the configuration names (read from the file: a test may point it elsewhere)."""
        return str(yaml.safe_load(self.config_path.read_text(encoding="utf-8"))["store"])

    def store(self) -> Store:
        """The configured store, open (use it in a `with`); readable even when the rest is invalid."""
        return Store.open(self.store_url)

    def invoke(self, *args: str, input: str | None = None) -> Result:
        """`punchbridge ARGS`, exactly as given (errors propagate: the test sees the traceback)."""
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    def cli(self, command: str, *options: str, input: str | None = None) -> Result:
        """`punchbridge COMMAND -c CONFIG OPTIONS` (`command` may be several words: "period lock")."""
        return self.invoke(*command.split(), "-c", str(self.config_path), *options, input=input)

    def sync_cli(self, *options: str, expect: int = 0) -> Result:
        """`punchbridge sync -c CONFIG OPTIONS`, which must exit with `expect`."""
        result = self.cli("sync", *options)
        assert result.exit_code == expect, result.output
        return result

    def sync(
        self, *, now: datetime | None = None, today: date | None = None, targets: Sequence[str] | None = None
    ) -> SyncReport:
        """One sync by the engine as the nightly job runs it, at `now` / on `today`; no target failed."""
        config, document, registry = self.load()
        with self.store() as store:
            report = SyncEngine(config, document, registry, store, now=now, today=today).run(targets)
        assert not report.failed, report
        return report

    def reconcile(self, target: str, *, period: str, repair: bool = False, **options: Any) -> ReconcileReport:
        """`run_reconcile` of `target` for `period` with this configuration and store (reports under `reports/`)."""
        config, document, registry = self.load()
        with self.store() as store:
            return run_reconcile(
                config, document, registry, store, target=target, period=period, repair=repair, **options
            )

    def lock(self, site: str, period: str, *, locked_at: str) -> None:
        """Lock a payroll period as the `payroll.cutoff.locked` webhook does."""
        with self.store() as store:
            effect = PeriodLockWrite(site, period, locked_at)
            event = EventWrite(f"lock-{site}-{period}", "payroll.cutoff.locked", "test", "test", effects=(effect,))
            store.receive([event])

    # Looking at the outcome -----------------------------------------------------------------------

    def files(self, prefix: str = "attendance", folder: str = "out") -> list[Path]:
        """The CSV files `PREFIX_*.csv` a local CSV target wrote into `folder`, by name."""
        return sorted((self.root / folder).glob(f"{prefix}_*.csv"))

    def rows(self, prefix: str = "attendance", folder: str = "out") -> list[dict[str, str]]:
        """Every row of every CSV file of `prefix` in `folder`, file by file."""
        found: list[dict[str, str]] = []
        for path in self.files(prefix, folder):
            with path.open(newline="") as handle:
                found += list(csv.DictReader(handle))
        return found

    def day(self, employee: str, day: str) -> dict[str, Any]:
        """The processed day the store holds for `employee` on `day` (ISO date); there must be one."""
        with self.store() as store:
            days = store.load_days(date.fromisoformat(day), date.fromisoformat(day), [employee])
        assert len(days) == 1, f"no stored day for {employee} on {day}"
        return days.iloc[0].to_dict()

    def quarantine(self, reason: str) -> list[tuple[str, str]]:
        """(employee, timestamp) of the quarantined punches with `reason`, sorted."""
        with self.store() as store:
            rows = store.quarantine_rows(reason)
        return sorted(zip(rows["employee_id"].astype(str), rows["timestamp"].astype(str), strict=True))


def _targets_block(targets: Mapping[str, str]) -> str:
    """The indented body of `targets:`: a one-line setting stays a flow mapping, more lines a block."""
    lines: list[str] = []
    for name, settings in targets.items():
        body = settings.strip("\n")
        if "\n" in body:
            lines.append(f"  {name}:")
            lines += [f"    {line}" for line in body.splitlines()]
        else:
            lines.append(f"  {name}: {body}")
    return "\n".join(lines)

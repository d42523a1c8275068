"""The conformance kit: the checks every target plugin must pass, ours and third parties'.

Subclass `TargetConformance` in your plugin's tests and provide three fixtures::

    from punchbridge.testing.conformance import TargetConformance

    class TestMyTarget(TargetConformance):
        plugin = "my_target"                       # the name your plugin registers

        @pytest.fixture
        def target_settings(self, tmp_path):       # the target's settings (besides plugin/mapping)
            return {"base_url": emulator.url, "token": "..."}

        @pytest.fixture
        def read_back(self, tmp_path):             # what the target holds now: record key -> fields
            return lambda: emulator.records()

`read_back()` returns one entry per record the target holds (keyed by punchbridge's record key,
`EMPLOYEE|YYYY-MM-DD|day`, or by anything that identifies the record once), and `deliveries()`
(optional, default: the number of entries of `read_back`) how many times records were written, so
a duplicate shows. Each check builds a small workspace (20 employees, 5 days, a SQLite store) and
runs `punchbridge sync` through the engine, as an operator would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from punchbridge import registry as registry_module
from punchbridge.cli import main
from punchbridge.store import Store
from punchbridge.targets import Batch, Outcome, RateLimited

__all__ = ["TargetConformance"]

EMPLOYEES = [f"C{n:03d}" for n in range(1, 21)]
FIRST_DAY = date(2025, 10, 6)  # a Monday
DAYS = 5
RULES = {
    "sites": {"blr": {"timezone": "Asia/Kolkata"}},
    "shifts": {"general": {"start": "09:00", "end": "18:00"}},
}
MAPPING = {
    "ids": {"table": {e: f"T-{e}" for e in EMPLOYEES[:-1]}, "missing": "quarantine"},
    "fields": [
        {"name": "employee", "from": "target_id"},
        {"name": "date", "from": "work_date"},
        {"name": "status", "from": "status"},
        {"name": "worked", "from": "worked_minutes"},
        {"name": "recomputed", "from": "recomputed"},
    ],
}
#: Records a complete sync delivers: every day of every employee but the last (no id mapping).
EXPECTED = (len(EMPLOYEES) - 1) * DAYS


def _punch_lines(extra: list[str] | None = None) -> str:
    lines = ["employee_id,timestamp,device_id,direction"]
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for employee in EMPLOYEES:
            lines.append(f"{employee},{day}T09:0{offset}:00+05:30,GATE,in")
            lines.append(f"{employee},{day}T18:1{offset}:00+05:30,GATE,out")
    return "\n".join(lines + (extra or [])) + "\n"


class TargetConformance:
    """Checks a target plugin against punchbridge's delivery contract (see the module docstring)."""

    plugin: str = ""

    @pytest.fixture
    def target_settings(self) -> dict[str, Any]:
        """The target's own settings; override in your test class."""
        pytest.fail(f"{type(self).__name__}: define a `target_settings` fixture returning the target's settings")

    @pytest.fixture
    def read_back(self) -> Callable[[], dict[str, Any]]:
        """What the target holds now, by record; override in your test class."""
        pytest.fail(f"{type(self).__name__}: define a `read_back` fixture returning a callable")

    @pytest.fixture
    def deliveries(self, read_back: Callable[[], dict[str, Any]]) -> Callable[[], int]:
        """How many record writes the target received (override when it can tell duplicates apart)."""
        return lambda: len(read_back())

    @pytest.fixture
    def workspace(self, tmp_path: Path, target_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
        """A configuration with one source, 20 employees, 5 days and the plugin under test as `target`."""
        work = tmp_path / "conformance"
        (work / "inbox").mkdir(parents=True)
        (work / "inbox" / "punches.csv").write_text(_punch_lines())
        (work / "employees.csv").write_text(
            "employee_id,site,shift\n" + "".join(f"{e},blr,general\n" for e in EMPLOYEES)
        )
        (work / "mapping.yaml").write_text(yaml.safe_dump(MAPPING, sort_keys=False))
        config = {
            "store": f"sqlite:///{work / 'store.db'}",
            "sources": {"terminals": {"plugin": "csv_folder", "folder": "inbox"}},
            "employees": "employees.csv",
            "sync": {"from": FIRST_DAY.isoformat(), "to": (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat()},
            "targets": {"target": {"plugin": self.plugin, "mapping": "mapping.yaml", **_plain(target_settings)}},
            **RULES,
        }
        (work / "punchbridge.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        monkeypatch.chdir(work)
        return work / "punchbridge.yaml"

    @staticmethod
    def sync(config: Path) -> Result:
        """Run `punchbridge sync -c config` in-process."""
        return CliRunner().invoke(main, ["sync", "-c", str(config)], catch_exceptions=False)

    # -- the checks --------------------------------------------------------------------------------

    def test_first_sync_delivers_every_record_once(
        self, workspace: Path, read_back: Callable, deliveries: Callable
    ) -> None:
        result = self.sync(workspace)
        assert result.exit_code == 0, result.output
        assert len(read_back()) == EXPECTED
        assert deliveries() == EXPECTED

    def test_rerun_sends_nothing(self, workspace: Path, deliveries: Callable) -> None:
        assert self.sync(workspace).exit_code == 0
        again = self.sync(workspace)
        assert again.exit_code == 0, again.output
        assert "nothing new to send" in again.output
        assert deliveries() == EXPECTED

    def test_changed_day_is_updated_not_duplicated(
        self, workspace: Path, read_back: Callable, deliveries: Callable
    ) -> None:
        assert self.sync(workspace).exit_code == 0
        late = f"{EMPLOYEES[0]},{FIRST_DAY + timedelta(days=2)}T07:30:00+05:30,GATE,in"  # earlier start: more worked
        (workspace.parent / "inbox" / "late.csv").write_text(
            "employee_id,timestamp,device_id,direction\n" + late + "\n"
        )
        result = self.sync(workspace)
        assert result.exit_code == 0, result.output
        held = read_back()
        assert len(held) == EXPECTED, "the changed day must replace its record, not add one"
        assert deliveries() == EXPECTED + 1, "exactly the changed record is sent again"

    def test_crash_between_send_and_ledger_update_does_not_duplicate(
        self, workspace: Path, read_back: Callable, deliveries: Callable, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = Store.complete_batch

        def crash(self: Store, batch_id: int, outcomes: Any) -> None:
            raise _Crash("killed after the target answered, before the ledger was saved")

        monkeypatch.setattr(Store, "complete_batch", crash)
        with pytest.raises(_Crash):
            self.sync(workspace)
        monkeypatch.setattr(Store, "complete_batch", real)
        result = self.sync(workspace)
        assert result.exit_code == 0, result.output
        assert len(read_back()) == EXPECTED
        assert deliveries() == EXPECTED, "the resent batch must not create duplicates"

    def test_transient_error_then_success(
        self, workspace: Path, read_back: Callable, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls = _flaky_target(monkeypatch, self.plugin, failures=2)
        result = self.sync(workspace)
        assert result.exit_code == 0, result.output
        assert calls["failed"] == 2
        assert len(read_back()) == EXPECTED

    def test_unmapped_ids_go_to_quarantine_and_are_never_sent(self, workspace: Path, read_back: Callable) -> None:
        assert self.sync(workspace).exit_code == 0
        held = read_back()
        assert not [key for key in held if EMPLOYEES[-1] in str(key) or EMPLOYEES[-1] in str(held[key])]
        with Store.open(yaml.safe_load(workspace.read_text())["store"]) as store:
            quarantined = store.quarantine_rows("unmapped_id")
        assert set(quarantined["employee_id"]) == {EMPLOYEES[-1]}
        assert len(quarantined) == DAYS


class _Crash(BaseException):
    """Stands for the process dying (not an Exception, so nothing on the way catches it)."""


def _flaky_target(monkeypatch: pytest.MonkeyPatch, plugin: str, failures: int) -> dict[str, int]:
    """Make the plugin's target raise RateLimited (Retry-After 0.01 s) on its first `failures` pushes."""
    calls = {"failed": 0}
    real_load = registry_module.load_plugins

    def load(only: set[str] | None = None) -> registry_module.PluginRegistry:
        loaded = real_load(only)
        real = loaded.targets[plugin]

        class Flaky(real):  # type: ignore[valid-type,misc]
            def push(self, batch: Batch) -> list[Outcome]:
                if calls["failed"] < failures:
                    calls["failed"] += 1
                    raise RateLimited("429 Too Many Requests (conformance kit)", retry_after=0.01)
                return super().push(batch)

        loaded.targets[plugin] = Flaky
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", load)
    return calls


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as YAML can hold them (paths as text)."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}

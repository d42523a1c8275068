"""The conformance kit: the checks every target plugin must pass, ours and third parties'.

Subclass `TargetConformance` in your plugin's tests, name your plugin, and provide the fixtures::

    from punchbridge.testing.conformance import TargetConformance

    class TestMyTarget(TargetConformance):
        plugin = "my_target"                       # the name your plugin registers
        mapping_fields = [                         # the mapping's columns, if the default does not fit
            {"name": "employee", "from": "target_id"},
            {"name": "check_in", "from": "first_in"},
            {"name": "check_out", "from": "last_out"},
        ]

        @pytest.fixture
        def target_settings(self, emulator):       # the target's settings (besides plugin/mapping)
            return {"base_url": emulator.url, "token": "..."}

        @pytest.fixture
        def read_back(self, emulator):             # what the target holds now: one entry per day
            return lambda: emulator.records()

Required: `target_settings` and `read_back` (one entry per employee-day the target holds, keyed by
anything that identifies the day once). Optional, each unlocking checks:

- `deliveries()`: how many record writes the target accepted (default: the entries of
  `read_back`), so a duplicate shows even where the target would overwrite it;
- `refuse_employee(target_id) -> str`: make the target refuse every record of one employee and
  return a fragment of the target's message (for targets with per-record outcomes);
- `seed_employees(employees)`: put `punchbridge.plugin_api.Employee` objects into the target (for
  targets with `Capability.PULL_EMPLOYEES`; the kit seeds 2.5 pages of `employee_page_size`);
- `bad_credentials`: target settings the target refuses as credentials (for targets that log in).

A check whose fixture gives None is skipped with the reason, except where the plugin's own
`capabilities` say it should apply (a target with `pull_employees` must provide `seed_employees`).

The kit maps the terminal ids C001..C019 to the target ids T-C001..T-C019; C020 has no id on
purpose. Each check builds a small workspace (20 employees, 5 days, a SQLite store) and runs
`punchbridge sync` through the engine, as an operator would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from punchbridge.cli import main
from punchbridge.config import load_config
from punchbridge.plugin_api import Batch, Capability, CredentialsError, Employee, Outcome, RateLimitedError, Target
from punchbridge.plugin_api import registry as registry_module
from punchbridge.plugin_api.registry import validate_plugin_settings
from punchbridge.store import Store

__all__ = ["TargetConformance"]

EMPLOYEES = [f"C{n:03d}" for n in range(1, 21)]
FIRST_DAY = date(2025, 10, 6)  # a Monday
DAYS = 5
RULES = {
    "sites": {"blr": {"timezone": "Asia/Kolkata"}},
    "shifts": {"general": {"start": "09:00", "end": "18:00"}},
}
IDS = {"table": {e: f"T-{e}" for e in EMPLOYEES[:-1]}, "missing": "quarantine"}
DEFAULT_FIELDS = [
    {"name": "employee", "from": "target_id"},
    {"name": "date", "from": "work_date"},
    {"name": "status", "from": "status"},
    {"name": "worked", "from": "worked_minutes"},
    {"name": "recomputed", "from": "recomputed"},
]
#: When the seeded employees were last changed, and the later change the delta pull must find.
SEEDED_AT = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
CHANGED_AT = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
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
    #: The mapping's output columns (the mapping's `fields:` list); the id table is the kit's.
    mapping_fields: list[dict[str, Any]] = DEFAULT_FIELDS
    #: Employees per page of the target's employee pull; the kit seeds two and a half pages.
    employee_page_size: int = 200

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
    def refuse_employee(self) -> Callable[[str], str] | None:
        """`refuse(target_id)` makes the target refuse that employee's records; returns its message."""
        return None

    @pytest.fixture
    def seed_employees(self) -> Callable[[list[Employee]], None] | None:
        """`seed(employees)` puts these employees into the target, for the employee pull."""
        return None

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any] | None:
        """Target settings whose credentials the target refuses."""
        return None

    @pytest.fixture
    def workspace(self, tmp_path: Path, target_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
        """A configuration with one source, 20 employees, 5 days and the plugin under test as `target`."""
        work = tmp_path / "conformance"
        (work / "inbox").mkdir(parents=True)
        (work / "inbox" / "punches.csv").write_text(_punch_lines())
        (work / "employees.csv").write_text(
            "employee_id,site,shift\n" + "".join(f"{e},blr,general\n" for e in EMPLOYEES)
        )
        mapping = {"ids": IDS, "fields": self.mapping_fields}
        (work / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
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

    def test_partial_batch_failure_lands_the_good_and_dead_letters_the_bad(
        self, workspace: Path, read_back: Callable, refuse_employee: Callable[[str], str] | None
    ) -> None:
        if refuse_employee is None:
            pytest.skip(f"{self.plugin}: no `refuse_employee` fixture (the target has no per-record refusal)")
        message = refuse_employee(f"T-{EMPLOYEES[1]}")
        result = self.sync(workspace)
        assert result.exit_code == 3, f"dead letters must give exit code 3\n{result.output}"
        assert len(read_back()) == EXPECTED - DAYS, "every other employee's days must land"
        with Store.open(yaml.safe_load(workspace.read_text())["store"]) as store:
            letters = store.dead_letters("target")
        refused = {str(key).split("|")[0] for key in letters["record_key"]}
        assert refused == {EMPLOYEES[1]}
        assert len(letters) == DAYS
        for text in letters["message"]:
            assert message in str(text), f"the dead letter must carry the target's message {message!r}: {text!r}"

    def test_employee_pull_pages_to_the_end_and_keeps_leavers(
        self, workspace: Path, seed_employees: Callable[[list[Employee]], None] | None
    ) -> None:
        target = self.make_target(workspace)
        if seed_employees is None:
            assert Capability.PULL_EMPLOYEES not in target.capabilities, (
                f"{self.plugin} has the pull_employees capability: provide a `seed_employees` fixture"
            )
            pytest.skip(f"{self.plugin} cannot pull employees")
        seeded = _employees_to_seed(self.employee_page_size)
        seed_employees(seeded)
        target.open()
        try:
            pulled = list(target.pull_employees())
            changed = list(target.pull_employees(since=CHANGED_AT - timedelta(days=1)))
        finally:
            target.close()
        ids = [e.target_id for e in pulled]
        assert len(ids) == len(set(ids)), "an employee came back twice: the paging overlaps"
        expected = {e.target_id: e for e in seeded}
        assert set(ids) == set(expected), (
            f"missing {sorted(set(expected) - set(ids))[:5]}, unexpected {sorted(set(ids) - set(expected))[:5]}"
        )
        for employee in pulled:
            seed = expected[employee.target_id]
            assert employee.active == seed.active, f"{employee.target_id}: active should be {seed.active}"
            assert employee.name == seed.name
            assert employee.email == seed.email
        later = sorted(e.target_id for e in seeded if e.modified_at == CHANGED_AT)
        assert sorted(e.target_id for e in changed) == later, "a pull `since` must bring exactly the later changes"

    def test_credentials_errors_are_reported_not_retried(
        self,
        workspace: Path,
        bad_credentials: dict[str, Any] | None,
        read_back: Callable,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        if bad_credentials is None:
            pytest.skip(f"{self.plugin}: no `bad_credentials` fixture (the target has no credentials)")
        config = yaml.safe_load(workspace.read_text())
        config["targets"]["target"].update(_plain(bad_credentials))
        workspace.write_text(yaml.safe_dump(config, sort_keys=False))
        refusals = _count_credentials_errors(monkeypatch, self.plugin)
        result = self.sync(workspace)
        assert result.exit_code == 1, f"a target that refuses the login must give exit code 1\n{result.output}"
        assert "CredentialsError" in result.output, result.output
        assert refusals["count"] == 1, f"the refused login was tried {refusals['count']} times; it must not be retried"
        assert len(read_back()) == 0
        for name, value in bad_credentials.items():
            if any(word in name for word in ("password", "secret", "token", "api_key")) and isinstance(value, str):
                assert value not in result.output, f"the {name} appeared in the output"

    # -- helpers -----------------------------------------------------------------------------------

    def make_target(self, config_path: Path) -> Target:
        """The workspace's target, its settings validated as `punchbridge validate` would."""
        config, document = load_config(config_path)
        target_class = registry_module.load_plugins().target_class(self.plugin)
        validated = validate_plugin_settings(
            target_class.settings_model,
            config.targets["target"].plugin_settings(),
            document,
            ("targets", "target"),
            document.path.parent,
        )
        return target_class("target", validated)


def _employees_to_seed(page_size: int) -> list[Employee]:
    """Two and a half pages of employees; every seventh a leaver, every tenth changed later."""
    employees = []
    for n in range(1, page_size * 5 // 2 + 1):
        employees.append(
            Employee(
                target_id=f"T-P{n:04d}",
                name=f"Person{n:04d} Kit",
                active=n % 7 != 0,
                email=f"person{n:04d}@example.com",
                badge=f"P{n:04d}",
                department="Operations" if n % 2 else "Support",
                modified_at=CHANGED_AT if n % 10 == 0 else SEEDED_AT,
            )
        )
    return employees


def _count_credentials_errors(monkeypatch: pytest.MonkeyPatch, plugin: str) -> dict[str, int]:
    """Count the CredentialsErrors the plugin's target raises from `open` or `push`."""
    refusals = {"count": 0}
    real_load = registry_module.load_plugins

    def load(only: set[str] | None = None) -> registry_module.PluginRegistry:
        loaded = real_load(only)
        real = loaded.targets[plugin]

        class Counted(real):  # type: ignore[valid-type,misc]
            def open(self) -> None:
                try:
                    super().open()
                except CredentialsError:
                    refusals["count"] += 1
                    raise

            def push(self, batch: Batch) -> list[Outcome]:
                try:
                    return super().push(batch)
                except CredentialsError:
                    refusals["count"] += 1
                    raise

        loaded.targets[plugin] = Counted
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", load)
    return refusals


class _Crash(BaseException):
    """Stands for the process dying (not an Exception, so nothing on the way catches it)."""


def _flaky_target(monkeypatch: pytest.MonkeyPatch, plugin: str, failures: int) -> dict[str, int]:
    """Make the plugin's target raise RateLimitedError (Retry-After 0.01 s) on its first `failures` pushes."""
    calls = {"failed": 0}
    real_load = registry_module.load_plugins

    def load(only: set[str] | None = None) -> registry_module.PluginRegistry:
        loaded = real_load(only)
        real = loaded.targets[plugin]

        class Flaky(real):  # type: ignore[valid-type,misc]
            def push(self, batch: Batch) -> list[Outcome]:
                if calls["failed"] < failures:
                    calls["failed"] += 1
                    raise RateLimitedError("429 Too Many Requests (conformance kit)", retry_after=0.01)
                return super().push(batch)

        loaded.targets[plugin] = Flaky
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", load)
    return calls


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as YAML can hold them (paths as text)."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}

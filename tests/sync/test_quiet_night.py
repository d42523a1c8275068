"""A quiet night (nothing new in the inbox, nothing changed): the store keeps every cursor as it was.

Each write is a commit, and a commit an fsync: a night with nothing to do writes its run record and
takes and gives back the delivery lock, and nothing else (issue 18).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result
from support.jobs_helpers import write_setup

from punchbridge.cli import main


def _sync(config: Path) -> Result:
    return CliRunner().invoke(main, ["sync", "-c", str(config)], catch_exceptions=False)


def _cursors(store: Path) -> list[tuple[str, str, int]]:
    """Every cursor of the store: name, value and when it was last written."""
    with sqlite3.connect(store) as connection:
        return connection.execute("SELECT name, value, updated_at_ns FROM cursors ORDER BY name").fetchall()


def test_a_quiet_night_leaves_every_cursor_as_it_was(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    assert _sync(config).exit_code == 0
    before = _cursors(tmp_path / "store.db")
    assert {"source:terminals", "deliver:payroll"} <= {name for name, _value, _written in before}
    quiet = _sync(config)
    assert quiet.exit_code == 0, quiet.output
    assert "nothing new to send" in quiet.output
    assert _cursors(tmp_path / "store.db") == before


# -- a night that looks quiet but is not: the full sync runs and does its work -------------------------


def _counts(result: Result) -> tuple[int, int, int]:
    """(new punches, days computed, days new or changed) from the report's first line."""
    found = re.search(r"(\d+) new punch\(es\).*; (\d+) day\(s\) computed, (\d+) new, (\d+) changed", result.output)
    assert found, result.output
    punches, computed, new, changed = (int(group) for group in found.groups())
    return punches, computed, new + changed


def _quiet_setup(tmp_path: Path) -> Path:
    """The small setup after its first sync and one quiet night (nothing computed on it)."""
    config = write_setup(tmp_path, whole_range=True)
    assert _sync(config).exit_code == 0
    quiet = _sync(config)
    assert quiet.exit_code == 0 and _counts(quiet) == (0, 0, 0), quiet.output
    return config


def _delivered_rows(tmp_path: Path) -> int:
    """Records the local_csv target has written so far (header lines left out)."""
    return sum(len(path.read_text().splitlines()) - 1 for path in (tmp_path / "out").glob("*.csv"))


def test_a_quiet_night_records_its_run_like_any_sync(tmp_path: Path) -> None:
    _quiet_setup(tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        runs = connection.execute("SELECT kind, status, summary FROM runs ORDER BY id").fetchall()
    assert [(kind, status) for kind, status, _ in runs] == [("sync", "ok"), ("sync", "ok")]
    summary = json.loads(runs[-1][2])
    assert summary["delivered"] == 0 and summary["targets"]["payroll"]["error"] is None
    assert set(summary) == set(json.loads(runs[0][2]))  # the same summary as a full sync's


def test_a_new_punch_file_makes_the_night_not_quiet(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    before = _delivered_rows(tmp_path)
    (tmp_path / "inbox" / "late.csv").write_text(
        "employee_id,timestamp,device_id,direction\nE1,2026-03-04T20:00:00+05:30,GATE,in\n"
        "E1,2026-03-04T21:00:00+05:30,GATE,out\n"
    )
    night = _sync(config)
    assert night.exit_code == 0, night.output
    punches, computed, moved = _counts(night)
    assert punches == 2 and computed >= 1 and moved == 1
    assert _delivered_rows(tmp_path) == before + 1  # the changed day was sent


def test_a_punch_stored_by_another_path_is_computed_on_the_next_night(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    import pandas as pd

    from punchbridge.store import Store

    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:  # as the receiver stores a pushed punch
        pushed = pd.DataFrame(
            {"employee_id": ["E1"], "instant": [pd.Timestamp("2026-03-04T14:00:00Z")], "device_id": ["PUSH"]}
        )
        assert store.add_punches(pushed, source="push").inserted == 1
    night = _sync(config)
    assert night.exit_code == 0, night.output
    assert _counts(night)[1] >= 1  # its employee's days were computed again


def test_changed_rules_make_the_night_not_quiet(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    config.write_text(config.read_text().replace('end: "18:00"', 'end: "17:00"'))
    night = _sync(config)
    assert night.exit_code == 0, night.output
    assert _counts(night)[1] == 30  # the whole range computed again with the new rules


def test_a_changed_employees_file_makes_the_night_not_quiet(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    employees = tmp_path / "employees.csv"
    employees.write_text(employees.read_text() + "E7,blr,general\n")
    night = _sync(config)
    assert night.exit_code == 0, night.output
    assert _counts(night)[2] == 5  # E7's five days (absent) are new


def test_a_broken_mapping_is_reported_on_a_night_with_nothing_new(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping.read_text() + "  - {name: worked, from: no_such_column}\n")
    night = _sync(config)
    assert night.exit_code == 2, night.output  # the full sync checks the mapping, as it always has
    assert "mapping.yaml" in night.output


def test_a_leave_received_from_the_cloud_makes_the_night_not_quiet(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        connection.execute(
            "INSERT INTO leaves (employee_id, date, kind, paid, event_id, source, received_at_ns) "
            "VALUES ('E2', '2026-03-03', 'full', 1, 'ev-1', 'minop', 0)"
        )
    night = _sync(config)
    assert night.exit_code == 0, night.output
    assert _counts(night)[1] == 30 and _counts(night)[2] >= 1  # recomputed with the leave: E2's day changed


def test_an_unfinished_delivery_makes_the_night_not_quiet(tmp_path: Path) -> None:
    config = _quiet_setup(tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:  # as a delivery that failed leaves it
        connection.execute("UPDATE cursors SET value = 'dirty' WHERE name = 'deliver:payroll'")
    night = _sync(config)
    assert night.exit_code == 0, night.output
    assert re.search(r"│ payroll\s+│\s+0 │\s+0 │\s+30 │", night.output), night.output  # every day looked at
    with sqlite3.connect(tmp_path / "store.db") as connection:
        (cursor,) = connection.execute("SELECT value FROM cursors WHERE name = 'deliver:payroll'").fetchone()
    assert cursor == "clean"


def test_a_quiet_night_skips_a_target_another_process_is_delivering_to(tmp_path: Path) -> None:
    from punchbridge.errors import ExitCode
    from punchbridge.store import Store
    from punchbridge.store.locks import LockBusyError, StoreLock, delivery_advisory_key

    config = _quiet_setup(tmp_path)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        other = StoreLock(
            store, "delivery", "payroll", advisory_key=delivery_advisory_key("payroll"),
            busy=lambda lock, holder: LockBusyError(f"busy: {lock.describe(holder)}", holder),
            what="the delivery lock of target 'payroll'", host="node-b", pid=4242,
        )  # fmt: skip
        assert other.acquire()
        try:
            night = _sync(config)
        finally:
            other.release()
        (last_run,) = store.list_runs(limit=1)
    assert night.exit_code == ExitCode.BUSY, night.output
    assert "target 'payroll': another process is delivering to it: host node-b, pid 4242" in night.output
    assert last_run["status"] == "busy" and last_run["summary"]["targets"]["payroll"]["busy"]

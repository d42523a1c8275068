"""`punchbridge erase EMPLOYEE`: one person's data goes, a tombstone keeps re-sent punches out."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text
from support.cutoff_world import World

from punchbridge.plugin_api.targets import Outcome, Record
from punchbridge.retention.erasure import erase_employee
from punchbridge.store import Store
from punchbridge.store.delivery import finished_records
from punchbridge.store.receiver import EventWrite, LeaveWrite, PunchWrite, QuarantineWrite

OCT_8 = 1759915800 * 10**9  # 2025-10-08T09:30:00Z


def _punches(employee: str, *instants_ns: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": employee,
            "instant": pd.to_datetime(list(instants_ns), unit="ns", utc=True),
            "device_id": "D1",
            "direction": "in",
        }
    )


def _fill(store: Store, employee: str) -> None:
    """Something of `employee` in every table erasure cleans."""
    store.add_punches(_punches(employee, OCT_8, OCT_8 + 3600 * 10**9), source="test")
    store.add_quarantine(pd.DataFrame({"source": ["push"], "employee_id": [employee], "reason": ["unknown_device"]}))
    payload = json.dumps({"data": {"employee_id": employee, "status": "present"}})
    store.receive(
        [
            EventWrite(
                f"leave-{employee}",
                "leave.approved",
                "minop",
                "webhook",
                effects=(LeaveWrite(employee, date(2025, 10, 9), "full", True),),
            ),
            EventWrite(f"processed-{employee}", "attendance.processed", "minop", "webhook", payload=payload),
        ]
    )
    records = [
        Record(f"{employee}|2025-10-08|day", {"who": employee}, "h1"),
        Record(f"{employee}|2025-10-09|day", {"who": employee}, "h2"),
    ]
    batch = store.open_batch("payroll", date(2025, 10, 1), date(2025, 10, 31), ["who"], records)
    store.complete_batch(
        batch.batch_id, [Outcome(records[0].key, True, "file.csv"), Outcome(records[1].key, False, message="refused")]
    )


def test_erasure_removes_the_person_from_every_table_and_leaves_others_alone(store: Store) -> None:
    for employee in ("E1", "E10", "E%"):
        _fill(store, employee)
    before_e10 = store.dead_letters()["record_key"].str.startswith("E10|").sum()

    report = erase_employee(store, "E1")

    assert report.removed == {
        "punches": 2,
        "processed_days": 0,
        "ledger": 2,
        "dead_letters": 1,
        "quarantine": 1,
        "leaves": 1,
        "adjustments": 0,
        "batch_records": 2,
        "cloud_events": 1,
    }
    assert set(store.punches_between(0, 2**62)["employee_id"]) == {"E10", "E%"}
    assert store.dead_letters()["record_key"].str.startswith("E10|").sum() == before_e10 == 1
    assert set(store.ledger("payroll")["record_key"].str.split("|").str[0]) == {"E10", "E%"}
    assert set(store.leaves()["employee_id"]) == {"E10", "E%"}
    assert len(store.cloud_events("attendance.processed")) == 2
    assert set(store.quarantine_rows()["employee_id"]) == {"E10", "E%"}


def test_erasure_takes_the_persons_keys_out_of_finished_batches(store: Store) -> None:
    for employee in ("E1", "E10"):
        _fill(store, employee)

    erase_employee(store, "E1")

    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT finished_records FROM batches WHERE status = 'done'")).scalars()
        keys = sorted(r["key"] for kept in stored for r in finished_records(kept))
    assert keys == ["E10|2025-10-08|day", "E10|2025-10-09|day"]


def test_a_re_sent_punch_of_an_erased_person_is_not_stored_but_a_later_one_is(store: Store) -> None:
    _fill(store, "E1")
    erase_employee(store, "E1", now_ns=OCT_8 + 86_400 * 10**9)
    again = store.add_punches(_punches("E1", OCT_8, OCT_8 + 2 * 86_400 * 10**9), source="resend")
    assert (again.inserted, again.duplicates, again.erased) == (1, 0, 1), "the re-hire's later punch is taken"

    pushed = store.receive(
        [
            PunchWrite("E1", OCT_8 + 60 * 10**9, "D1", "in", "push"),
            PunchWrite("E1", OCT_8 + 3 * 86_400 * 10**9, "D1", "in", "push"),
        ]
    )
    assert pushed == ["duplicate", "stored"]
    held = store.receive([QuarantineWrite("push", "E1", "bad time", "D9", None, "bad_timestamp", None)])
    assert held == ["already_quarantined"]
    store.receive(
        [
            EventWrite(
                "leave-again",
                "leave.approved",
                "minop",
                "webhook",
                effects=(LeaveWrite("E1", date(2025, 10, 8), "full", True),),
            )
        ]
    )
    assert len(store.leaves()) == 0
    far = (LeaveWrite("E1", date(1, 1, 1), "full", True), LeaveWrite("E1", date(9999, 12, 31), "full", True))
    store.receive([EventWrite("leave-far", "leave.approved", "minop", "webhook", effects=far)])
    assert store.leaves()["date"].tolist() == [date(9999, 12, 31)], "dates at the ends of the calendar are handled"
    assert sorted(store.punches_between(0, 2**62)["instant"].astype("int64")) == [
        OCT_8 + 2 * 86_400 * 10**9,
        OCT_8 + 3 * 86_400 * 10**9,
    ]


def test_the_tombstone_and_the_audit_do_not_hold_the_id(store: Store) -> None:
    _fill(store, "Asha.Rao-4711")
    erase_employee(store, "Asha.Rao-4711")
    with store.engine.connect() as connection:
        stored = [
            str(value)
            for table in ("tombstones", "audit", "erasure_keys")
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}").all()
            for value in row
        ]
        (detail,) = connection.exec_driver_sql("SELECT detail FROM audit WHERE event = 'employee.erased'").one()
    assert stored and not any("Asha" in value or "4711" in value for value in stored)
    assert json.loads(detail)["removed"]["punches"] == 2


def test_a_dry_run_counts_and_removes_nothing(store: Store) -> None:
    _fill(store, "E1")
    dry = erase_employee(store, "E1", dry_run=True)
    assert dry.total == 10 and store.punch_count() == 2
    assert store.add_punches(_punches("E1", OCT_8 + 5), source="x").erased == 0, "no tombstone from a dry run"


@pytest.mark.parametrize("employee", ["", "   ", "E1\x00", "\udc80"])
def test_a_malformed_employee_id_is_refused_before_anything_is_removed(store: Store, employee: str) -> None:
    _fill(store, "E1")
    with pytest.raises(ValueError, match="employee id"):
        erase_employee(store, employee)
    assert store.punch_count() == 2


def test_a_sync_after_an_erasure_sends_nothing_of_the_person_still_in_the_employees_file(world: World) -> None:
    world.sync()
    result = world.cli("erase", "E1", "--yes")
    assert result.exit_code == 0, result.output
    assert "erased E1:" in result.output and "E1 is still in" in result.output
    (world.root / "inbox" / "month.csv").touch()  # the terminal file is read again
    world.write_config(extra="leaves: leaves.csv\n")  # and every day recomputed
    (world.root / "leaves.csv").write_text("employee_id,date,kind,paid\n")
    output = world.sync().output
    assert "0 new punch(es), 20 already stored" in output, "E1's ten punches are neither new nor stored"
    with world.store() as store:
        assert set(store.punches_between(0, 2**62)["employee_id"]) == {"E2", "E3"}
        assert "E1" not in set(store.load_days(date(2025, 10, 1), date(2025, 11, 30))["employee_id"])
    new_rows = world.rows("attendance")[183:]
    assert all(r["EmployeeCode"] != "E1" for r in new_rows), "no absences are sent for the erased person"


def test_the_erase_command_asks_first_and_a_no_removes_nothing(world: World) -> None:
    world.sync()
    refused = world.cli("erase", "E2", input="n\n")
    assert refused.exit_code == 1 and "punches: 10" in refused.output
    with world.store() as store:
        assert store.punch_count() == 30
    dry = world.cli("erase", "E2", "--dry-run")
    assert dry.exit_code == 0 and "would remove" in dry.output
    blank = world.cli("erase", " ")
    assert blank.exit_code == 2 and "EMPLOYEE" in blank.output


def test_erasing_an_id_never_seen_is_refused_without_a_terminal_even_with_yes(world: World) -> None:
    world.sync()
    refused = world.cli("erase", "E9999", "--yes")
    assert refused.exit_code == 6, refused.output  # REFUSED: rerun with the option named
    assert "punchbridge has never seen E9999" in refused.output and "--force-unknown" in refused.output
    with world.store() as store:
        assert store.erased_employees(["E9999"]) == {}, "no tombstone for a typo"
    forced = world.cli("erase", "E9999", "--yes", "--force-unknown")
    assert forced.exit_code == 0, forced.output
    with world.store() as store:
        assert "E9999" in store.erased_employees(["E9999"])


def test_erasing_an_id_never_seen_on_a_terminal_asks_for_the_id_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("punchbridge.cli.confirm.on_terminal", lambda: True)
    world.sync()
    mistyped = world.cli("erase", "E9999", "--yes", input="E999\n")
    assert mistyped.exit_code == 1, mistyped.output
    assert "punchbridge has never seen E9999; erasing it tombstones the id for good: type the id again" in (
        mistyped.output
    )
    with world.store() as store:
        assert store.erased_employees(["E9999"]) == {}
    typed = world.cli("erase", "E9999", "--yes", input="E9999\n")
    assert typed.exit_code == 0, typed.output
    with world.store() as store:
        assert "E9999" in store.erased_employees(["E9999"])


def test_erasing_a_known_id_with_yes_asks_nothing_more(world: World) -> None:
    world.sync()
    result = world.cli("erase", "E2", "--yes")
    assert result.exit_code == 0 and "never seen" not in result.output


def test_a_dry_run_of_an_id_never_seen_says_so(world: World) -> None:
    result = world.cli("erase", "E9999", "--dry-run")
    assert result.exit_code == 0 and "punchbridge has never seen E9999" in result.output

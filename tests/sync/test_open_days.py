"""Open days (a check-in without a check-out): each `open_days:` setting, decided alone and end to end.

The pure decision (`punchbridge.sync.open_days`) first, then a sync to a local CSV folder and to the
Odoo emulator in each mode (support.open_days_world: E1 checks in on Monday and never out).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.odoo_servers import running_odoo
from support.open_days_world import LATER, MONDAY, TUESDAY, TUESDAY_AFTERNOON, OpenDaysWorld

from punchbridge.rules.clock import wall_time_ns
from punchbridge.rules.settings import RuleSet, Shift, Site
from punchbridge.sync.open_days import (
    CLOSED_AT_SHIFT_END,
    MISSING_CHECK_OUT,
    is_open,
    mark_closed,
    plan_open_days,
    window_closes,
)

RULES = RuleSet(
    sites={"blr": Site(timezone="Asia/Kolkata"), "ber": Site(timezone="Europe/Berlin")},
    shifts={"general": Shift(start="09:00", end="18:00"), "night": Shift(start="22:00", end="06:00")},
)


def _day(employee: str, work_date: str, intervals: str, *, site: str = "blr", shift: str = "general") -> dict:
    first = intervals.split("/")[0]
    return {
        "employee_id": employee, "work_date": work_date, "site": site, "shift": shift, "intervals": intervals,
        "first_in": first, "last_out": "", "anomalies": "missing_out" if intervals.endswith("/") else "",
        "rules_version": "v1",
    }  # fmt: skip


#: Monday and Tuesday open intervals of the tests (an arrival, no departure).
MONDAY_IN, TUESDAY_IN = f"{MONDAY}T09:02:00+05:30/", f"{TUESDAY}T09:05:00+05:30/"


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


# -- the decision (pure) -------------------------------------------------------------------------------


def test_a_day_is_open_when_an_interval_has_no_end_and_closed_rules_make_it_complete() -> None:
    days = pd.DataFrame(
        [
            _day("E1", MONDAY, "2026-03-02T09:00:00+05:30/"),
            _day("E2", MONDAY, "2026-03-02T09:00:00+05:30/2026-03-02T13:00:00+05:30;2026-03-02T14:00:00+05:30/"),
            _day("E3", MONDAY, "2026-03-02T09:00:00+05:30/2026-03-02T18:00:00+05:30"),
            _day("E4", MONDAY, ""),
        ]
    )
    assert is_open(days).tolist() == [True, True, False, False]


def test_a_night_shift_window_closes_the_next_morning_in_its_sites_zone_across_the_dst_change() -> None:
    # Berlin moves its clocks forward in the night of 28 to 29 March 2026: the night shift of the 28th
    # ends at 06:00 summer time (04:00 UTC), and its window 240 minutes later.
    days = pd.DataFrame([_day("B1", "2026-03-28", "2026-03-28T22:00:00+01:00/", site="ber", shift="night")])
    (closes,) = window_closes(days, RULES).tolist()
    assert closes == _ns(datetime(2026, 3, 29, 8, 0, tzinfo=UTC))
    assert closes == wall_time_ns("Europe/Berlin", date(2026, 3, 29), 6 * 60) + 240 * 60 * 10**9


def test_hold_keeps_a_past_open_day_for_the_quarantine_and_a_live_one_for_the_next_run() -> None:
    days = pd.DataFrame([_day("E1", MONDAY, MONDAY_IN), _day("E1", TUESDAY, TUESDAY_IN)])
    plan = plan_open_days(days, RULES, "hold", _ns(TUESDAY_AFTERNOON))
    assert len(plan.send) == 0 and len(plan.close) == 0
    assert plan.held[["employee_id", "work_date", "reason"]].values.tolist() == [["E1", MONDAY, MISSING_CHECK_OUT]]
    assert plan.watch == {f"E1|{TUESDAY}|day"} and plan.waiting == 1 and not plan.sent_open


def test_shift_end_closes_a_past_open_day_and_waits_for_a_live_one() -> None:
    days = pd.DataFrame([_day("E1", MONDAY, MONDAY_IN), _day("E1", TUESDAY, TUESDAY_IN)])
    plan = plan_open_days(days, RULES, "shift_end", _ns(TUESDAY_AFTERNOON))
    assert plan.close["work_date"].tolist() == [MONDAY] and len(plan.send) == 0 and len(plan.held) == 0
    assert plan.watch == {f"E1|{TUESDAY}|day"}


def test_send_sends_todays_open_day_holds_a_past_one_and_closes_one_it_sent_open() -> None:
    days = pd.DataFrame([_day("E1", MONDAY, MONDAY_IN), _day("E2", MONDAY, MONDAY_IN), _day("E1", TUESDAY, TUESDAY_IN)])
    plan = plan_open_days(days, RULES, "send", _ns(TUESDAY_AFTERNOON), sent_open={f"E2|{MONDAY}|day"})
    assert plan.send["work_date"].tolist() == [TUESDAY], "today's open day is sent as it is"
    assert plan.held["employee_id"].tolist() == ["E1"], "a past open day never sent is held"
    assert plan.close["employee_id"].tolist() == ["E2"], "a day the target holds open is closed"
    assert plan.sent_open == {f"E1|{TUESDAY}|day"}


def test_one_employees_open_day_never_holds_back_their_other_days() -> None:
    days = pd.DataFrame([_day("E1", MONDAY, MONDAY_IN),
                         _day("E1", TUESDAY, "2026-03-03T09:05:00+05:30/2026-03-03T18:10:00+05:30")])  # fmt: skip
    for mode in ("hold", "shift_end", "send"):
        plan = plan_open_days(days, RULES, mode, _ns(LATER))
        assert plan.send["work_date"].tolist() == [TUESDAY], mode


def test_a_day_the_rules_close_is_marked_and_one_they_cannot_close_is_held() -> None:
    open_days = pd.DataFrame([_day("E1", MONDAY, MONDAY_IN), _day("E2", MONDAY, "2026-03-02T19:00:00+05:30/")])
    late = f"{MONDAY}T19:00:00+05:30/"
    closed_by_rules = _day("E1", MONDAY, f"{MONDAY_IN}{MONDAY}T18:00:00+05:30")
    recomputed = pd.DataFrame([closed_by_rules, _day("E2", MONDAY, late)]).assign(rules_version="closing")
    recomputed.loc[0, "anomalies"] = "missing_out"
    closed, held = mark_closed(open_days, recomputed)
    assert closed["employee_id"].tolist() == ["E1"]
    assert closed["anomalies"].tolist() == [f"missing_out;{CLOSED_AT_SHIFT_END}"]
    assert closed["rules_version"].tolist() == ["v1"], "the day keeps its own rules version"
    assert held["employee_id"].tolist() == ["E2"] and "after the end" in held["detail"].iloc[0]


# -- a sync to a local CSV folder --------------------------------------------------------------------


def test_hold_leaves_the_open_day_out_quarantines_it_once_and_sends_it_once_complete(tmp_path: Path) -> None:
    world = OpenDaysWorld(tmp_path, "hold")
    report = world.sync()
    (target,) = report.targets
    assert target.held_open == 1 and target.delivered == 3
    assert {(r["employee"], r["date"]) for r in world.rows()} == {("E2", MONDAY), ("E1", TUESDAY), ("E2", TUESDAY)}
    assert world.quarantine(MISSING_CHECK_OUT) == [("E1", MONDAY)]

    assert world.sync().targets[0].delivered == 0
    assert world.quarantine(MISSING_CHECK_OUT) == [("E1", MONDAY)], "quarantined once"

    world.punches("late.csv", [("E1", f"{MONDAY}T18:04:00+05:30")])
    (late,) = world.sync().targets
    assert late.delivered == 1
    assert (world.rows()[-1]["employee"], world.rows()[-1]["date"], world.rows()[-1]["check_out"]) == (
        "E1", MONDAY, f"{MONDAY}T18:04:00+05:30",
    )  # fmt: skip


def test_hold_does_not_send_a_day_whose_window_is_still_open_and_decides_on_it_once_closed(tmp_path: Path) -> None:
    world = OpenDaysWorld(tmp_path, "hold")
    world.punches("today.csv", [("E2", f"{TUESDAY}T09:01:00+05:30")])  # E2 is at work: no check-out yet
    first = world.sync(now=TUESDAY_AFTERNOON).targets[0]
    assert ("E2", TUESDAY) not in {(r["employee"], r["date"]) for r in world.rows()}
    assert world.quarantine(MISSING_CHECK_OUT) == [("E1", MONDAY)], "today's open day is not quarantined yet"
    assert first.held_open == 1

    later = world.sync(now=LATER).targets[0]  # nothing new came in: the day is looked at again anyway
    assert later.held_open == 1
    assert world.quarantine(MISSING_CHECK_OUT) == [("E1", MONDAY), ("E2", TUESDAY)]


def test_shift_end_sends_the_open_day_closed_at_its_shift_end_and_marked(tmp_path: Path) -> None:
    world = OpenDaysWorld(tmp_path, "shift_end")
    assert world.sync().targets[0].held_open == 0
    (row,) = [r for r in world.rows() if (r["employee"], r["date"]) == ("E1", MONDAY)]
    assert row["check_out"] == f"{MONDAY}T18:00:00+05:30"
    assert row["worked"] == str(18 * 60 - (9 * 60 + 2))
    assert CLOSED_AT_SHIFT_END in row["anomalies"].split(";") and "missing_out" in row["anomalies"].split(";")
    assert world.sync().targets[0].delivered == 0, "a rerun sends nothing"


def test_send_sends_todays_open_day_then_closes_it_once_its_window_closed(tmp_path: Path) -> None:
    world = OpenDaysWorld(tmp_path, "send")
    world.punches("today.csv", [("E2", f"{TUESDAY}T09:01:00+05:30")])
    world.sync(now=TUESDAY_AFTERNOON)
    live = [r for r in world.rows() if (r["employee"], r["date"]) == ("E2", TUESDAY)]
    assert [(r["check_in"], r["check_out"]) for r in live] == [(f"{TUESDAY}T09:01:00+05:30", "")]
    assert ("E1", MONDAY) not in {(r["employee"], r["date"]) for r in world.rows()}, "a past open day is held"

    world.sync(now=LATER)
    latest = [r for r in world.rows() if (r["employee"], r["date"]) == ("E2", TUESDAY)][-1]
    assert latest["check_out"] == f"{TUESDAY}T18:00:00+05:30", "the target never keeps it open"
    assert CLOSED_AT_SHIFT_END in latest["anomalies"]
    assert ("E1", MONDAY) not in {(r["employee"], r["date"]) for r in world.rows()}


# -- a sync to the Odoo emulator ---------------------------------------------------------------------


@pytest.fixture
def odoo_settings() -> Iterator[tuple[Any, dict[str, str]]]:
    """Odoo 17 over JSON-RPC with employees E1 and E2 (barcodes)."""
    from punchbridge.plugin_api import Employee

    with running_odoo("17.0", "jsonrpc") as run:
        run.emulator.seed_employees([Employee(target_id=e, name=f"Person {e}") for e in ("E1", "E2")])
        settings = run.settings(timezone=None, timeout=None)
        yield run.emulator, {k: str(v) for k, v in settings.items()}


def _intervals(emulator: Any, barcode: str) -> list[tuple[str, str | bool]]:
    held = emulator.attendances(emulator.employee_id(barcode))
    return [(a["check_in"], a["check_out"]) for a in held]


@pytest.mark.parametrize("mode", ["hold", "shift_end"])
def test_odoo_never_gets_a_past_open_attendance_and_the_next_day_lands(
    tmp_path: Path, odoo_settings, mode: str
) -> None:  # type: ignore[no-untyped-def]
    emulator, settings = odoo_settings
    world = OpenDaysWorld(tmp_path, mode, target="odoo", odoo=settings)
    report = world.sync()
    assert report.targets[0].rejected == 0, "no day is refused for an earlier one left open"
    held = _intervals(emulator, "E1")
    assert all(check_out for _, check_out in held), held
    tuesday = ("2026-03-03 03:35:00", "2026-03-03 12:40:00")
    if mode == "hold":
        assert held == [tuesday]
    else:
        assert held == [("2026-03-02 03:32:00", "2026-03-02 12:30:00"), tuesday]


def test_odoo_gets_todays_open_attendance_then_has_it_closed_by_the_next_run(
    tmp_path: Path, odoo_settings: tuple[Any, dict[str, str]]
) -> None:
    emulator, settings = odoo_settings
    world = OpenDaysWorld(tmp_path, "send", target="odoo", odoo=settings)
    world.punches("today.csv", [("E2", f"{TUESDAY}T09:01:00+05:30")])
    world.sync(now=TUESDAY_AFTERNOON)
    assert _intervals(emulator, "E2")[-1] == ("2026-03-03 03:31:00", False), "live presence: open in Odoo"
    world.sync(now=LATER)
    assert _intervals(emulator, "E2")[-1] == ("2026-03-03 03:31:00", "2026-03-03 12:30:00")
    assert all(check_out for _, check_out in _intervals(emulator, "E2"))

"""Issue 14's acceptance: a customer on two sites in two zones, delivered to every HTTP target at once.

Bangalore (Asia/Kolkata) and Berlin (Europe/Berlin, across the change to summer time on 29 March
2026), 40 people for two weeks with night shifts, missing punches and leave (support.two_sites), one
sync to the emulators of Odoo 17 (JSON-RPC), Odoo 19 (JSON-2), Zoho People, ERPNext, Salesforce and
SAP SuccessFactors at once, then a reconciliation per target (support.two_sites_run). For each target:

- `validate` takes the settings a consultant writes for two zones and refuses one in the wrong zone;
- every day reconciliation reports as different is a dead letter with the target's message: none
  is silent;
- no open day (a check-in without a check-out) blocks another day;
- the same sync again sends nothing;
- late punches resend only the days they change.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from support.two_sites import EMPLOYEES, open_days, working_days
from support.two_sites_run import Played, letters_of, play, shown
from support.two_sites_targets import TARGETS

from punchbridge.sync import TargetReport

#: Words of a target refusing a day because an earlier day is still open (Odoo's "hasn't checked out since").
BLOCKED = re.compile(r"checked out since|has not checked out|hasn't checked out|still checked in", re.IGNORECASE)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """The whole scenario, once for every target's tests."""
    return play(tmp_path_factory.mktemp("two-sites"))


def _served(played: Played, target: str, step: str, reports: dict[str, TargetReport]) -> None:
    assert not played.broken.get(target) and not played.broken.get("*"), "\n".join(
        played.broken.get(target, []) + played.broken.get("*", [])
    )
    report = reports.get(target)
    assert report is not None, f"{step}: {target} was not served"
    assert report.error is None, f"{step}: {target}: {report.error}"


@pytest.mark.parametrize("target", TARGETS)
def test_validate_takes_the_zone_settings_for_two_sites_and_refuses_a_wrong_one(played: Played, target: str) -> None:
    assert played.accepted[target] == [], [str(p) for p in played.accepted[target]]
    assert played.misset[target], f"{target}: a timezone setting in the wrong zone for Berlin is not refused"


@pytest.mark.parametrize("target", TARGETS)
def test_every_day_reconcile_finds_different_is_a_dead_letter_with_the_targets_message(
    played: Played, target: str
) -> None:
    _served(played, target, "first sync", played.first)
    report = played.reconciled[target]
    letters = letters_of(played, target)
    silent = [
        f for f in report.findings
        if f.status != "matched" and len(letters.get((f.employee_id or "", f.work_date), "")) < 10
    ]  # fmt: skip
    assert not silent, (
        f"{target}: {len(silent)} day(s) differ in the target with no dead letter to say why "
        f"({report.counts()}):\n{shown(silent)}"
    )


@pytest.mark.parametrize("target", TARGETS)
def test_no_open_day_blocks_another(played: Played, target: str) -> None:
    _served(played, target, "first sync", played.first)
    blocked = {day: message for day, message in letters_of(played, target).items() if BLOCKED.search(message)}
    assert not blocked, f"{target}: days refused because an earlier one is open: {sorted(blocked.items())[:5]}"
    ledger = played.ledger[target]
    delivered = set(ledger.loc[ledger["status"] == "delivered", "record_key"])
    follow_ups = []
    for employee, day in open_days():
        later = [d for d in working_days(employee) if d > day and (employee, d) not in set(open_days())]
        if later and later[0] <= day + timedelta(days=3):
            follow_ups.append(f"{employee}|{later[0]}|day")
    assert follow_ups, "the scenario has open days followed by working days"
    missing = [key for key in follow_ups if key not in delivered]
    assert not missing, f"{target}: the day after an open day was not delivered: {missing}"


@pytest.mark.parametrize("target", TARGETS)
def test_the_same_sync_again_sends_nothing(played: Played, target: str) -> None:
    _served(played, target, "rerun", played.rerun)
    report = played.rerun[target]
    assert (report.delivered, report.rejected, report.batches) == (0, 0, 0), report


@pytest.mark.parametrize("target", TARGETS)
def test_late_punches_resend_only_their_days(played: Played, target: str) -> None:
    _served(played, target, "late punches", played.late)
    sent = played.late_keys.get(target, [])
    assert sorted(sent) == sorted(played.late_expected), f"{target} was sent {sorted(sent)}"


def test_the_scenario_has_what_the_issue_asks_for(played: Played) -> None:
    sites = set(EMPLOYEES.values())
    assert len(EMPLOYEES) == 40 and sites == {"blr", "ber"}
    assert len(open_days()) >= 4 and all((played.folder / f"{name}.yaml").exists() for name in TARGETS)
    assert Path(played.folder / "reports").is_dir()

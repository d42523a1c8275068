"""SAP HCM never replaces a day: a changed day sends only its new events, and lists the ones it lost as corrections.

`BAPI_CC1_UPLOAD_TIMEEVENT` only posts events into CC1TEV, which SAPCDT45 moves into TEVEN; no BAPI of
the CC1 family deletes one (BUS7014's and SAPCDT45's documentation). So the upload file of a changed day must not carry
its old events again, and an event the day no longer has needs a person in SAP.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.target_fixtures import sftp_settings

from punchbridge.plugin_api import Batch, FatalTargetError, Record
from punchbridge.plugins.sap.hcm import CORRECTION_ACTION, SapHcmSettings, SapHcmTarget
from punchbridge.testing.sftp import SftpServer

PERIOD = (date(2025, 10, 1), date(2025, 10, 31))
STEM = "timeevents_2025-10-01_2025-10-31"


def _day(
    pernr: str, intervals: str, day: str = "2025-10-06", offset: str = "+05:30", zone: str | None = None
) -> Record:
    pieces = []
    for pair in intervals.split(";") if intervals else []:
        start, _, end = pair.partition("/")
        pieces.append((f"{day}T{start}{offset}" if start else "") + "/" + (f"{day}T{end}{offset}" if end else ""))
    return Record(f"C-{pernr}|{day}|day", {"employee": pernr, "intervals": ";".join(pieces)}, intervals, timezone=zone)


def _batch(records: list[Record], seq: int) -> Batch:
    return Batch("hcm", seq, *PERIOD, seq, tuple(records), ("employee", "intervals"))


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "remote" / "drop"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def make_target(drop: Path, tmp_path: Path) -> Any:
    with SftpServer(tmp_path / "remote") as server:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(server.host_key_line + "\n", encoding="ascii")
        made: list[SapHcmTarget] = []

        def make(**overrides: Any) -> SapHcmTarget:
            target = SapHcmTarget("hcm", sftp_settings(server, known_hosts, **overrides))
            made.append(target)
            return target

        yield make
        for target in made:
            target.close()


def test_a_changed_day_sends_only_its_new_events_and_lists_the_lost_ones(make_target: Any, drop: Path) -> None:
    target = make_target()
    target.push(_batch([_day("1001", "09:00:00/18:00:00"), _day("1002", "08:00:00/17:00:00")], seq=1))
    (changed,) = target.push(_batch([_day("1001", "07:30:00/18:00:00")], seq=2))
    assert [(r["LTIME"], r["SATZA"]) for r in _rows(drop / f"{STEM}_0002.csv")] == [("073000", "P10")]
    corrections = drop / "timeevents-corrections_2025-10-01_2025-10-31_0002.csv"
    assert _rows(corrections) == [
        {"PERNR": "00001001", "LDATE": "20251006", "LTIME": "090000", "SATZA": "P10", "TERID": "PB01",
         "WORKDATE": "20251006", "ACTION": CORRECTION_ACTION, "RECORD": "C-1001|2025-10-06|day"}
    ]  # fmt: skip
    assert changed.ok and changed.remote_id == corrections.name, "the sync report points at what needs a person"
    assert "Time Events infotype 2011" in CORRECTION_ACTION


def test_a_resend_after_a_crash_writes_the_same_files(make_target: Any, drop: Path) -> None:
    target = make_target()
    target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=1))
    second = _batch([_day("1001", "07:30:00/18:00:00")], seq=2)
    target.push(second)
    before = {p.name: p.read_bytes() for p in drop.rglob("*") if p.is_file()}
    assert make_target().push(second)[0].ok, "the record of file 2 is there already: the same diff, the same bytes"
    assert {p.name: p.read_bytes() for p in drop.rglob("*") if p.is_file()} == before


def test_an_unchanged_day_sent_again_writes_nothing(make_target: Any, drop: Path) -> None:
    target = make_target()
    target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=1))
    (again,) = target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=2))
    assert again.ok and again.remote_id is None
    assert not list(drop.glob("*0002*")) and not list((drop / "punchbridge-sent").glob("*0002*"))


def test_a_day_that_lost_every_event_is_only_corrections(make_target: Any, drop: Path) -> None:
    target = make_target()
    target.push(_batch([_day("1001", "09:00:00/13:00:00;13:30:00/18:00:00")], seq=1))
    (absent,) = target.push(_batch([_day("1001", "")], seq=2))
    assert absent.ok and not (drop / f"{STEM}_0002.csv").exists()
    rows = _rows(drop / "timeevents-corrections_2025-10-01_2025-10-31_0002.csv")
    assert [r["SATZA"] for r in rows] == ["P10", "P15", "P25", "P20"]
    (back,) = target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=3))
    assert back.ok and back.remote_id == f"{STEM}_0003.csv"
    assert [r["SATZA"] for r in _rows(drop / f"{STEM}_0003.csv")] == ["P10", "P20"], "sent again once it is back"


def test_a_day_of_another_period_or_an_older_file_does_not_count(make_target: Any, drop: Path) -> None:
    target = make_target()
    target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=2))
    earlier = target.push(_batch([_day("1001", "09:00:00/18:00:00")], seq=1))  # a file cut before it
    assert earlier[0].remote_id == f"{STEM}_0001.csv", "file 1 knows only what came before it"


def test_times_compare_at_the_files_precision(make_target: Any, drop: Path) -> None:
    target = make_target(time_format="%H%M", widths={"time": 4})
    target.push(_batch([_day("1001", "09:00:10/18:00:00")], seq=1))
    (same,) = target.push(_batch([_day("1001", "09:00:50/18:00:00")], seq=2))
    assert same.remote_id is None, "the file shows 0900 either way: nothing new, nothing to correct"


def test_each_event_is_in_its_sites_wall_clock(make_target: Any, drop: Path) -> None:
    berlin = _day("2002", "20:00:00/04:00:00", day="2025-03-29", offset="+00:00", zone="Europe/Berlin")
    berlin = Record(berlin.key, {**berlin.fields, "intervals": "2025-03-29T21:00:00+00:00/2025-03-30T04:00:00+00:00"},
                    "h", timezone="Europe/Berlin")  # fmt: skip
    kolkata = _day("1001", "03:30:00/12:30:00", day="2025-03-29", offset="+00:00", zone="Asia/Kolkata")
    make_target().push(
        Batch("hcm", 1, date(2025, 3, 1), date(2025, 3, 31), 1, (berlin, kolkata), ("employee", "intervals"))
    )
    rows = _rows(drop / "timeevents_2025-03-01_2025-03-31_0001.csv")
    assert [(r["PERNR"], r["LDATE"], r["LTIME"]) for r in rows] == [
        ("00002002", "20250329", "220000"), ("00002002", "20250330", "060000"),  # +01:00, then +02:00 after DST
        ("00001001", "20250329", "090000"), ("00001001", "20250329", "180000"),
    ]  # fmt: skip


def test_the_timezone_setting_overrides_the_sites(make_target: Any, drop: Path) -> None:
    make_target(timezone="UTC").push(_batch([_day("1001", "09:00:00/18:00:00", zone="Asia/Kolkata")], seq=1))
    assert [r["LTIME"] for r in _rows(drop / f"{STEM}_0001.csv")] == ["033000", "123000"]


def test_a_sent_record_punchbridge_cannot_read_stops_the_target(make_target: Any, drop: Path) -> None:
    (drop / "punchbridge-sent").mkdir()
    (drop / "punchbridge-sent" / f"{STEM}_0001.sent.json").write_text("not json")
    with pytest.raises(FatalTargetError, match="is not a punchbridge sent-events record"):
        make_target().push(_batch([_day("1001", "09:00:00/18:00:00")], seq=2))


def test_check_online_logs_in_and_finds_the_folder(make_target: Any) -> None:
    assert [(c.what, c.ok) for c in make_target().check_online()] == [("login", True), ("folder drop", True)]
    (login, folder) = make_target(folder="missing").check_online()
    assert login.ok and not folder.ok


def test_the_stored_form_has_the_files_time_precision() -> None:
    base = {"host": "h", "username": "u", "password": "p", "known_hosts": "kh", "folder": "f"}
    fields = {"employee": "1001", "intervals": "2025-10-06T09:00:40+05:30/2025-10-06T18:00:59.5+05:30"}
    seconds = SapHcmTarget.stored_form(fields, SapHcmSettings.model_validate(base))
    minutes = SapHcmTarget.stored_form(
        fields, SapHcmSettings.model_validate({**base, "time_format": "%H%M", "widths": {"time": 4}})
    )
    assert seconds["intervals"] == "2025-10-06T09:00:40+05:30/2025-10-06T18:00:59+05:30"
    assert minutes["intervals"] == "2025-10-06T09:00:00+05:30/2025-10-06T18:00:00+05:30"

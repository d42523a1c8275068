"""The `sap_hcm` target's file: P10/P15/P25/P20 events in the configured layout, delivered by the SFTP rules."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support.target_fixtures import sftp_settings

from punchbridge.plugin_api import Batch, CredentialsError, FatalTargetError, Record
from punchbridge.plugins.sap.hcm import SapHcmSettings, SapHcmTarget, render_events
from punchbridge.testing.sftp import SftpServer

PERIOD = ("2025-10-01", "2025-10-31")


def _day(pernr: str, intervals: str, day: str = "2025-10-06", key: str | None = None) -> Record:
    pieces = []
    for pair in intervals.split(";"):
        start, _, end = pair.partition("/")
        pieces.append((f"{day}T{start}:00+05:30" if start else "") + "/" + (f"{day}T{end}:00+05:30" if end else ""))
    return Record(key or f"C-{pernr}|{day}|day", {"employee": pernr, "intervals": ";".join(pieces)}, f"h{pernr}")


def _batch(records: list[Record], columns: tuple[str, ...] = ("employee", "intervals"), seq: int = 1) -> Batch:
    return Batch("hcm", 3, date.fromisoformat(PERIOD[0]), date.fromisoformat(PERIOD[1]), seq, tuple(records), columns)


@pytest.fixture
def sftp(tmp_path: Path) -> Any:
    (tmp_path / "remote" / "drop").mkdir(parents=True)
    with SftpServer(tmp_path / "remote") as server:
        yield server


@pytest.fixture
def make_target(sftp: SftpServer, tmp_path: Path) -> Any:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sftp.host_key_line + "\n", encoding="ascii")
    made: list[SapHcmTarget] = []

    def make(**overrides: Any) -> SapHcmTarget:
        target = SapHcmTarget("hcm", sftp_settings(sftp, known_hosts, **overrides))
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def test_a_day_with_a_break_becomes_four_time_events_in_the_default_csv(make_target: Any, tmp_path: Path) -> None:
    outcomes = make_target().push(_batch([_day("1001", "09:02/13:00;13:45/18:10"), _day("T-7", "22:00/")]))
    name = "timeevents_2025-10-01_2025-10-31_0001.csv"
    assert [(o.ok, o.remote_id) for o in outcomes] == [(True, name), (True, name)]
    drop = tmp_path / "remote" / "drop"
    assert (drop / name).read_text() == (
        "PERNR,LDATE,LTIME,SATZA,TERID\n"
        "00001001,20251006,090200,P10,PB01\n"
        "00001001,20251006,130000,P15,PB01\n"
        "00001001,20251006,134500,P25,PB01\n"
        "00001001,20251006,181000,P20,PB01\n"
        "T-7,20251006,220000,P10,PB01\n"
    )
    manifest = (drop / (name + ".sha256")).read_text()
    assert manifest.endswith(f"  {name}\nrows: 5\n")
    assert sorted(p.name for p in drop.iterdir() if p.is_file()) == [name, name + ".sha256"], "no .part left behind"
    assert [p.name for p in (drop / "punchbridge-sent").iterdir()] == [
        "timeevents_2025-10-01_2025-10-31_0001.sent.json"
    ]


def test_the_fixed_layout_writes_tevens_widths_without_separators(make_target: Any, tmp_path: Path) -> None:
    make_target(layout="fixed", terminal_id="G1").push(_batch([_day("42", "08:00/17:00")]))
    text = (tmp_path / "remote" / "drop" / "timeevents_2025-10-01_2025-10-31_0001.txt").read_text()
    assert text == "0000004220251006080000P10G1  \n0000004220251006170000P20G1  \n"
    assert {len(line) for line in text.splitlines()} == {8 + 8 + 6 + 3 + 4}


def test_columns_formats_codes_and_line_endings_are_configurable() -> None:
    config = SapHcmSettings.model_validate(
        {
            "host": "h", "username": "u", "password": "p", "known_hosts": "kh", "folder": "f",
            "columns": ["event_type", "pernr", "work_date", "date", "time"], "delimiter": ";",
            "date_format": "%d.%m.%Y", "time_format": "%H:%M", "line_ending": "crlf",
            "event_types": {"clock_in": "01", "clock_out": "02"}, "widths": {"date": 10, "work_date": 10, "time": 5},
            "header_names": {"pernr": "Personalnummer"},
        }
    )  # fmt: skip
    lines = [{"pernr": "7", "date": "06.10.2025", "time": "09:00", "event_type": "01", "terminal": "PB01",
              "work_date": "06.10.2025"}]  # fmt: skip
    assert render_events(lines, config) == (
        b"SATZA;Personalnummer;WORKDATE;LDATE;LTIME\r\n01;7;06.10.2025;06.10.2025;09:00\r\n"
    )


def test_first_in_last_out_gives_p10_and_p20(make_target: Any, tmp_path: Path) -> None:
    record = Record("C-9|2025-10-06|day", {"employee": "9", "check_in": "2025-10-06T09:00:00+05:30",
                                           "check_out": "2025-10-06T18:00:00+05:30"}, "h")  # fmt: skip
    make_target().push(_batch([record], ("employee", "check_in", "check_out")))
    lines = (tmp_path / "remote" / "drop" / "timeevents_2025-10-01_2025-10-31_0001.csv").read_text().splitlines()
    assert [line.split(",")[3] for line in lines[1:]] == ["P10", "P20"]


def test_a_record_that_does_not_fit_the_layout_is_a_dead_letter_and_the_rest_is_delivered(
    make_target: Any, tmp_path: Path
) -> None:
    outcomes = make_target().push(
        _batch(
            [
                _day("123456789", "09:00/18:00"),
                _day("A,B", "09:00/18:00"),
                _day("77", "09:00/18:00"),
                _day("78", "18:00/09:00"),
            ]
        )
    )
    assert [o.ok for o in outcomes] == [False, False, True, False]
    assert "pernr '123456789' is 9 characters; the layout gives it 8" in (outcomes[0].message or "")
    assert "never the delimiter" in (outcomes[1].message or "")
    assert "ends before it starts" in (outcomes[3].message or "")
    text = (tmp_path / "remote" / "drop" / "timeevents_2025-10-01_2025-10-31_0001.csv").read_text()
    assert text.count("\n") == 3 and "00000077" in text


def test_a_resent_batch_finds_its_file_in_place_and_another_file_of_that_name_is_refused(
    make_target: Any, tmp_path: Path
) -> None:
    batch = _batch([_day("1001", "09:00/18:00")])
    make_target().push(batch)
    drop = tmp_path / "remote" / "drop"
    before = {p.name: p.read_bytes() for p in drop.rglob("*") if p.is_file()}
    assert make_target().push(batch)[0].ok
    assert {p.name: p.read_bytes() for p in drop.rglob("*") if p.is_file()} == before
    changed = _batch([_day("1001", "07:00/18:00")])
    with pytest.raises(FatalTargetError, match="already exists with different content"):
        make_target().push(changed)


def test_a_batch_with_no_events_writes_no_file(make_target: Any, tmp_path: Path) -> None:
    record = Record("C-1|2025-10-06|day", {"employee": "1", "intervals": ""}, "h")
    (outcome,) = make_target().push(_batch([record]))
    assert outcome.ok and outcome.remote_id is None
    assert list((tmp_path / "remote" / "drop").iterdir()) == []


def test_a_mapping_without_events_is_refused_before_connecting(make_target: Any) -> None:
    assert SapHcmTarget.check_columns(["employee", "worked"], {}) and SapHcmTarget.check_columns(["intervals"], {})
    assert SapHcmTarget.check_columns(["employee", "intervals"], {}) == []
    with pytest.raises(FatalTargetError, match="no column `intervals`"):
        unfit = Record("C|2025-10-06|day", {"employee": "1", "worked": 5}, "h")
        make_target().push(_batch([unfit], ("employee", "worked")))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"delimiter": "a"}, "delimiter must be one printable"),
        ({"columns": ["pernr", "pernr"]}, "each field once"),
        ({"widths": {"shoe": 3}}, "unknown fields"),
        ({"widths": {"pernr": 0}}, "widths.pernr must be 1 to 64"),
        ({"terminal_id": "A,B"}, "without the delimiter"),
        ({"terminal_id": "GATE-1"}, "longer than widths.terminal"),
        ({"event_types": {"clock_in": "P100"}}, "at most 3 characters"),
        ({"columns": ["pernr", "colour"]}, "columns"),
    ],
)
def test_a_layout_that_cannot_work_is_refused_at_validation(override: dict, message: str) -> None:
    base = {"host": "h", "username": "u", "password": "p", "known_hosts": "kh", "folder": "f"}
    with pytest.raises(ValidationError, match=message):
        SapHcmSettings.model_validate({**base, **override})


def test_describe_names_the_server_and_layout_without_secrets(make_target: Any) -> None:
    target = make_target(password="hunter2-secret", layout="fixed")
    assert target.describe().startswith("sap_hcm hcm -> punchbridge@127.0.0.1:")
    assert target.describe().endswith("/drop (fixed)") and "hunter2" not in target.describe() + repr(target.settings)


def test_a_refused_password_is_a_credentials_error_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "pw" / "drop").mkdir(parents=True)
    with SftpServer(tmp_path / "pw", password="the-right-one") as server:
        known_hosts = tmp_path / "known_hosts_pw"
        known_hosts.write_text(server.host_key_line + "\n", encoding="ascii")
        settings = sftp_settings(server, known_hosts, private_key=None, password="wrong-pass-4711")
        target = SapHcmTarget("hcm", settings)
        with pytest.raises(CredentialsError, match="refused the login") as refused:
            target.push(_batch([_day("1", "09:00/18:00")]))
        target.close()
    assert "wrong-pass-4711" not in caplog.text + str(refused.value) + target.describe() + repr(target.settings)

"""`punchbridge process` end to end: the demo, output formats, quarantine, time zones, the CLI itself.

Runs through `click.testing.CliRunner` on `punchbridge.cli.main`, and through the installed
`punchbridge` console script in a subprocess to prove the entry point and exit codes. All data is
written to `tmp_path`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import stat
import subprocess
import traceback
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from support.demo_copy import copy_config

from punchbridge import __version__
from punchbridge.cli import main

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config"

#: The spec's output columns, in the spec's order.
SPEC_COLUMNS = [
    "employee_id",
    "work_date",
    "site",
    "shift",
    "day_type",
    "status",
    "first_in",
    "last_out",
    "worked_minutes",
    "regular_minutes",
    "ot_minutes",
    "break_minutes",
    "late_minutes",
    "early_exit_minutes",
    "leave_days",
    "lop_days",
    "punch_count",
    "anomalies",
    "recomputed",
    "rules_version",
    "intervals",  # beyond the spec's columns: every worked interval, for targets that take them
]
QUARANTINE_COLUMNS = ["file", "line", "employee_id", "timestamp", "device_id", "direction", "reason", "detail"]

RULES = """\
sites:
  blr:
    timezone: Asia/Kolkata
    weekly_off: [sun]
  ber:
    timezone: Europe/Berlin
    weekly_off: [sat, sun]
shifts:
  general:
    start: "09:00"
    end: "18:00"
    grace_in: 10
pairing:
  debounce_seconds: 120
  direction: auto
"""

EMPLOYEES = """\
employee_id,site,shift,weekly_off
E1,blr,general,
E2,ber,general,
"""

MONDAY = "2025-01-06"

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def describe(result: Result) -> str:
    text = f"exit code {result.exit_code}\n--- stderr ---\n{result.stderr[:3000]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += "\n--- uncaught exception ---\n" + "".join(traceback.format_exception(result.exception))
    return text


def ok(result: Result) -> Result:
    assert result.exit_code == 0, describe(result)
    return result


def punches_csv(*rows: str) -> str:
    return "employee_id,timestamp,device_id,direction\n" + "".join(f"{r}\n" for r in rows)


def write_inputs(tmp_path: Path, punches: str, employees: str = EMPLOYEES, rules: str = RULES) -> dict[str, Path]:
    paths = {"punches": tmp_path / "punches.csv", "employees": tmp_path / "employees.csv", "rules": tmp_path / "r.yaml"}
    paths["punches"].write_text(punches, encoding="utf-8")
    paths["employees"].write_text(employees, encoding="utf-8")
    paths["rules"].write_text(rules, encoding="utf-8")
    return paths


def process(
    paths: dict[str, Path],
    out: Path,
    *,
    date_from: str = MONDAY,
    date_to: str = MONDAY,
    quarantine: Path | None = None,
    **extra: Path,
) -> Result:
    args = ["process", "--punches", paths["punches"], "--employees", paths["employees"], "--rules", paths["rules"]]
    args += ["--from", date_from, "--to", date_to, "--out", out]
    if quarantine is not None:
        args += ["--quarantine", quarantine]
    for key, value in extra.items():
        args += [f"--{key}", value]
    return invoke(args)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def header_of(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def as_text(value: object) -> str:
    """A JSON / Parquet value as the CSV output writes it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalised(records: list[dict[str, object]]) -> list[dict[str, str]]:
    return [{k: as_text(v) for k, v in r.items()} for r in records]


def by_day(rows: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["employee_id"], r["work_date"]): r for r in rows}


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo configuration and data, copied into tmp_path (holidays path is relative to the YAML)."""
    target = tmp_path / "config"
    copy_config(target)
    return target


def demo_args(config: Path, out: Path, quarantine: Path | None = None) -> list[str]:
    args = [
        "process",
        "--punches", config / "demo" / "punches.csv",
        "--employees", config / "demo" / "employees.csv",
        "--rules", config / "demo.yaml",
        "--assignments", config / "demo" / "assignments.csv",
        "--leaves", config / "demo" / "leaves.csv",
        "--from", "2025-09-29",
        "--to", "2025-10-03",
        "--out", out,
    ]  # fmt: skip
    if quarantine is not None:
        args += ["--quarantine", quarantine]
    return [str(a) for a in args]


# --------------------------------------------------------------------------------------------------
# the demo
# --------------------------------------------------------------------------------------------------


def test_demo_run_writes_the_spec_columns_in_order(demo, tmp_path):
    out, held = tmp_path / "days.csv", tmp_path / "quarantine.csv"
    result = ok(invoke(demo_args(demo, out, held)))

    assert header_of(out) == SPEC_COLUMNS
    rows = read_csv_rows(out)
    assert len(rows) == 5 * 5  # five employees, five work dates
    assert [(r["employee_id"], r["work_date"]) for r in rows] == sorted(
        (r["employee_id"], r["work_date"]) for r in rows
    )
    days = by_day(rows)
    # every input file was read: holidays CSV, inline holidays, assignments, leaves, naive punches
    assert days[("E1002", "2025-10-02")]["day_type"] == "holiday"  # holidays-blr.csv
    assert days[("E2001", "2025-10-03")]["day_type"] == "holiday"  # inline holiday list
    assert days[("E1002", "2025-10-01")]["shift"] == "night"  # assignments.csv
    assert days[("E1001", "2025-10-03")]["leave_days"] == "0.5"  # leaves.csv, first half
    assert days[("E2001", "2025-10-01")]["status"] == "on_leave"
    assert days[("E2001", "2025-10-01")]["anomalies"] == "worked_on_leave"
    assert days[("E1001", "2025-09-30")]["anomalies"] == "duplicates:1"
    assert days[("E1002", "2025-09-29")]["first_in"] == "2025-09-29T09:00:00+05:30"  # naive, read in Kolkata
    assert days[("E2002", "2025-09-29")]["first_in"] == "2025-09-29T22:00:00+02:00"  # naive, read in Berlin
    assert {r["recomputed"] for r in rows} == {"false"}
    assert len({r["rules_version"] for r in rows}) == 1

    assert header_of(held) == QUARANTINE_COLUMNS
    quarantined = read_csv_rows(held)
    assert [(q["line"], q["employee_id"], q["reason"]) for q in quarantined] == [
        ("36", "E9999", "unknown_employee"),
        ("37", "E1001", "implausible_timestamp"),
    ]
    assert "wrote 25 processed days" in result.stderr
    assert "quarantined 2" in result.stderr


def test_demo_through_the_console_script(demo, tmp_path):
    exe = shutil.which("punchbridge")
    assert exe, "the punchbridge console script is not on PATH"
    out = tmp_path / "days.csv"
    done = subprocess.run([exe, *demo_args(demo, out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # results go to files, the summary to stderr
    assert "wrote 25 processed days" in done.stderr
    assert header_of(out) == SPEC_COLUMNS

    # bad input through the real entry point: exit code 2, a one-line message, no traceback
    (demo / "demo" / "employees.csv").write_text("employee_id,site,shift\nE1001,mars,general\n")
    out2 = tmp_path / "days2.csv"
    done = subprocess.run([exe, *demo_args(demo, out2)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "employees.csv:2: site" in done.stderr
    assert not out2.exists()


def test_console_script_version_and_help():
    exe = shutil.which("punchbridge")
    assert exe
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and __version__ in done.stdout
    done = subprocess.run([exe, "process", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--quarantine" in done.stdout
    done = subprocess.run([exe, "process"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Missing option" in done.stderr


def test_outputs_follow_the_umask_like_any_new_file(demo, tmp_path):
    """Outputs are staged in a temporary file (mode 0600); the final file must get the usual mode."""
    exe = shutil.which("punchbridge")
    out, held = tmp_path / "days.csv", tmp_path / "quarantine.csv"
    done = subprocess.run(
        [exe, *demo_args(demo, out, held)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    for path in (out, held):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o644, f"{path.name} has mode {oct(mode)}, expected 0o644 under umask 022"


# --------------------------------------------------------------------------------------------------
# output formats
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_json_and_parquet_hold_the_same_rows_as_csv(demo, tmp_path, suffix):
    ok(invoke(demo_args(demo, tmp_path / "days.csv", tmp_path / "q.csv")))
    ok(invoke(demo_args(demo, tmp_path / f"days{suffix}", tmp_path / f"q{suffix}")))
    for stem in ("days", "q"):
        expected = read_csv_rows(tmp_path / f"{stem}.csv")
        if suffix == ".json":
            records = json.loads((tmp_path / f"{stem}.json").read_text(encoding="utf-8"))
            assert isinstance(records, list)
        else:
            records = pd.read_parquet(tmp_path / f"{stem}.parquet").to_dict(orient="records")
        assert [list(r) for r in records[:1]] == [list(expected[0])]  # same columns, same order
        assert normalised(records) == expected


def test_json_keeps_numbers_and_booleans_typed(demo, tmp_path):
    ok(invoke(demo_args(demo, tmp_path / "days.json")))
    rows = json.loads((tmp_path / "days.json").read_text(encoding="utf-8"))
    first = rows[0]
    assert list(first) == SPEC_COLUMNS
    assert isinstance(first["worked_minutes"], int)
    assert isinstance(first["lop_days"], int | float)
    assert first["recomputed"] is False


def test_output_extension_is_case_insensitive(demo, tmp_path):
    ok(invoke(demo_args(demo, tmp_path / "DAYS.JSON")))
    assert isinstance(json.loads((tmp_path / "DAYS.JSON").read_text(encoding="utf-8")), list)


def test_rerun_replaces_the_previous_output(demo, tmp_path):
    out = tmp_path / "days.csv"
    out.write_text("old content\n")
    ok(invoke(demo_args(demo, out)))
    assert header_of(out) == SPEC_COLUMNS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "days.csv"]  # no temporary file left


# --------------------------------------------------------------------------------------------------
# quarantine
# --------------------------------------------------------------------------------------------------

E1_DAY = ("E1,2025-01-06T09:00:00+05:30,D1,in", "E1,2025-01-06T18:00:00+05:30,D1,out")


def run_with_quarantine(tmp_path: Path, *extra_rows: str, date_to: str = MONDAY) -> tuple[list, list, Result]:
    paths = write_inputs(tmp_path, punches_csv(*E1_DAY, *extra_rows))
    out, held = tmp_path / "days.csv", tmp_path / "quarantine.csv"
    result = ok(process(paths, out, quarantine=held, date_to=date_to))
    return read_csv_rows(out), read_csv_rows(held), result


def assert_e1_day_is_intact(days: list[dict[str, str]]) -> None:
    e1 = by_day(days)[("E1", MONDAY)]
    assert (e1["status"], e1["worked_minutes"], e1["punch_count"]) == ("present", "540", "2")
    assert e1["first_in"] == "2025-01-06T09:00:00+05:30"


def test_quarantine_unknown_employee(tmp_path):
    days, held, _ = run_with_quarantine(tmp_path, "E404,2025-01-06T09:00:00+05:30,D1,in")
    assert_e1_day_is_intact(days)
    assert [r["employee_id"] for r in days] == ["E1", "E2"]  # no row invented for E404
    (row,) = held
    assert (row["line"], row["employee_id"], row["reason"]) == ("4", "E404", "unknown_employee")
    assert row["timestamp"] == "2025-01-06T09:00:00+05:30" and row["device_id"] == "D1"
    assert row["detail"]
    assert row["file"].endswith("punches.csv")


def test_quarantine_unknown_employee_with_naive_timestamp(tmp_path):
    # No site, so no zone to read the wall time in: still quarantined, not an error.
    days, held, _ = run_with_quarantine(tmp_path, "E404,2025-01-06 09:00,D1,in")
    assert_e1_day_is_intact(days)
    assert [(r["line"], r["reason"]) for r in held] == [("4", "unknown_employee")]


def test_quarantine_timestamp_too_old(tmp_path):
    days, held, _ = run_with_quarantine(
        tmp_path, "E1,2023-06-01T09:00:00+05:30,D1,in", "E1,2000-01-01T00:00:00Z,D1,in", "E1,1970-01-01 00:00,D1,in"
    )
    assert_e1_day_is_intact(days)
    assert [(r["line"], r["reason"]) for r in held] == [
        ("4", "implausible_timestamp"),
        ("5", "implausible_timestamp"),
        ("6", "implausible_timestamp"),
    ]
    assert "400 days" in held[0]["detail"]


def test_quarantine_timestamp_too_far_in_the_future(tmp_path):
    days, held, _ = run_with_quarantine(
        tmp_path,
        "E1,2025-01-12T09:00:00+05:30,D1,in",
        "E1,2030-01-01T09:00:00+05:30,D1,in",
        "E1,2999-12-31 23:59,D1,in",
    )
    assert_e1_day_is_intact(days)
    assert [(r["line"], r["reason"]) for r in held] == [
        ("4", "implausible_timestamp"),
        ("5", "implausible_timestamp"),
        ("6", "implausible_timestamp"),
    ]
    assert "10 minutes" in held[0]["detail"]


def test_quarantine_timestamp_beyond_pandas_range(tmp_path):
    # Year 9999 parses as ISO-8601 but does not fit in nanoseconds since 1970: quarantined, not a crash.
    days, held, _ = run_with_quarantine(tmp_path, "E1,9999-12-31T23:59:00+00:00,D1,in", "E1,0001-01-01 00:00,D1,in")
    assert_e1_day_is_intact(days)
    assert [(r["line"], r["reason"]) for r in held] == [("4", "implausible_timestamp"), ("5", "implausible_timestamp")]


def test_quarantine_exact_duplicate_names_the_line_it_repeats(tmp_path):
    days, held, _ = run_with_quarantine(tmp_path, "E2,2025-01-06 12:00,D2,", "E1,2025-01-06T09:00:00+05:30,D1,in")
    assert_e1_day_is_intact(days)
    (row,) = held
    assert (row["line"], row["reason"]) == ("5", "duplicate_punch")
    assert "line 2" in row["detail"]


def test_same_instant_written_differently_is_still_a_duplicate(tmp_path):
    # 03:30Z is 09:00+05:30: an exact re-send whatever the notation.
    days, held, _ = run_with_quarantine(tmp_path, "E1,2025-01-06T03:30:00Z,D1,in")
    assert_e1_day_is_intact(days)
    assert [(r["line"], r["reason"]) for r in held] == [("4", "duplicate_punch")]
    assert "line 2" in held[0]["detail"]


def test_quarantine_off_shift_punch(tmp_path):
    # 03:00 is before the 07:00 window start of Monday and after Sunday's 22:00 window end.
    days, held, _ = run_with_quarantine(tmp_path, "E1,2025-01-06T03:00:00+05:30,D1,in")
    assert_e1_day_is_intact(days)
    (row,) = held
    assert (row["line"], row["reason"]) == ("4", "off_shift")
    assert row["detail"]


def test_punches_the_engine_holds_back_show_their_values_as_written(tmp_path):
    # Only the timestamps are kept as text after reading; ids and directions come back from codes.
    days, held, _ = run_with_quarantine(
        tmp_path,
        "E1, 2025-01-06T03:30:00Z ,D1,IN",  # 4 the instant of line 2, written otherwise: a re-send
        "E1,2025-01-06T03:00:00+05:30,D1 ,0",  # 5 off shift
    )
    assert_e1_day_is_intact(days)
    shown = [(r["line"], r["employee_id"], r["timestamp"], r["device_id"], r["direction"], r["reason"]) for r in held]
    assert shown == [
        ("4", "E1", "2025-01-06T03:30:00Z", "D1", "IN", "duplicate_punch"),
        ("5", "E1", "2025-01-06T03:00:00+05:30", "D1", "0", "off_shift"),
    ]


def test_quarantine_every_reason_in_one_file_while_valid_rows_are_processed(tmp_path):
    days, held, result = run_with_quarantine(
        tmp_path,
        "E404,2025-01-06T09:00:00+05:30,D1,in",  # 4 unknown employee
        "E1,2023-06-01T09:00:00+05:30,D1,in",  # 5 too old
        "E1,2025-01-12T09:00:00+05:30,D1,in",  # 6 too far in the future
        "E1,2025-01-06T09:00:00+05:30,D1,in",  # 7 exact re-send of line 2
        "E1,2025-01-06T03:00:00+05:30,D1,in",  # 8 off shift
        "E2,2025-01-06 09:00,D2,in",  # 9 valid
        "E2,2025-01-06 18:00,D2,out",  # 10 valid
    )
    assert_e1_day_is_intact(days)
    assert by_day(days)[("E2", MONDAY)]["worked_minutes"] == "540"
    assert [(r["line"], r["reason"]) for r in held] == [
        ("4", "unknown_employee"),
        ("5", "implausible_timestamp"),
        ("6", "implausible_timestamp"),
        ("7", "duplicate_punch"),
        ("8", "off_shift"),
    ]
    assert "line 2" in held[3]["detail"]
    assert "quarantined 5 punches" in result.stderr


def test_without_quarantine_option_the_summary_says_how_to_see_them(tmp_path):
    paths = write_inputs(
        tmp_path, punches_csv(*E1_DAY, "E404,2025-01-06T09:00:00+05:30,D1,in", "E1,2020-01-01 09:00,D1,in")
    )
    result = ok(process(paths, tmp_path / "days.csv"))
    assert "quarantined 2 punches" in result.stderr
    assert "1 unknown_employee" in result.stderr and "1 implausible_timestamp" in result.stderr
    assert "--quarantine" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["days.csv", "employees.csv", "punches.csv", "r.yaml"]


def test_with_quarantine_option_the_summary_names_the_file(tmp_path):
    _, _, result = run_with_quarantine(tmp_path, "E404,2025-01-06T09:00:00+05:30,D1,in")
    assert "quarantined 1 punches" in result.stderr or "quarantined 1 punch" in result.stderr
    assert "quarantine.csv" in result.stderr


def test_nothing_to_quarantine_writes_an_empty_quarantine_with_its_header(tmp_path):
    days, held, result = run_with_quarantine(tmp_path)
    assert_e1_day_is_intact(days)
    assert held == []
    assert header_of(tmp_path / "quarantine.csv") == QUARANTINE_COLUMNS
    assert "quarantined" not in result.stderr


# --------------------------------------------------------------------------------------------------
# time zones and directions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "offset"), [("2025-01-06", "+01:00"), ("2025-07-07", "+02:00")], ids=["winter", "summer"]
)
def test_local_wall_time_is_read_in_the_employee_site_zone(tmp_path, day, offset):
    employees = EMPLOYEES + "E3,blr,general,\n"
    naive = punches_csv(
        f"E2,{day} 09:00,D2,in", f"E2,{day}T18:00,D2,out", f"E3,{day} 09:00:00,D1,in", f"E3,{day}T18:00:00,D1,out"
    )
    aware = punches_csv(
        f"E2,{day}T09:00:00{offset},D2,in",
        f"E2,{day}T18:00:00{offset},D2,out",
        f"E3,{day}T09:00:00+05:30,D1,in",
        f"E3,{day}T18:00:00+05:30,D1,out",
    )
    results = []
    for name, punches in (("naive", naive), ("aware", aware)):
        folder = tmp_path / name
        folder.mkdir()
        paths = write_inputs(folder, punches, employees)
        ok(process(paths, folder / "days.csv", date_from=day, date_to=day, quarantine=folder / "q.csv"))
        assert read_csv_rows(folder / "q.csv") == []
        results.append(read_csv_rows(folder / "days.csv"))
    assert results[0] == results[1]
    days = by_day(results[0])
    assert days[("E2", day)]["first_in"] == f"{day}T09:00:00{offset}"
    assert days[("E2", day)]["last_out"] == f"{day}T18:00:00{offset}"
    assert days[("E2", day)]["late_minutes"] == "0" and days[("E2", day)]["worked_minutes"] == "540"
    assert days[("E3", day)]["first_in"] == f"{day}T09:00:00+05:30"


def test_offset_timestamp_for_a_berlin_employee_is_shown_in_berlin_time(tmp_path):
    # 08:00Z is 09:00 in Berlin in winter: the same instant, shown with the site's offset.
    paths = write_inputs(tmp_path, punches_csv("E2,2025-01-06T08:00:00Z,D2,in", "E2,2025-01-06T22:30:00+05:30,D2,out"))
    ok(process(paths, tmp_path / "days.csv"))
    row = by_day(read_csv_rows(tmp_path / "days.csv"))[("E2", MONDAY)]
    assert row["first_in"] == "2025-01-06T09:00:00+01:00"
    assert row["last_out"] == "2025-01-06T18:00:00+01:00"


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2025-03-30", "2025-03-30T03:30:00+02:00"), ("2025-10-26", "2025-10-26T02:30:00+02:00")],
    ids=["gap-moves-forward", "ambiguous-takes-first"],
)
def test_wall_time_at_a_dst_change_is_read_as_the_spec_says(tmp_path, day, expected):
    # Berlin 02:30 does not exist on 2025-03-30 (read as 03:30+02:00) and exists twice on
    # 2025-10-26 (the first, +02:00, is used). Both are Sundays: E4 has Monday off instead.
    rules = RULES.replace("pairing:", '  early:\n    start: "01:00"\n    end: "09:00"\npairing:')
    employees = EMPLOYEES + "E4,ber,early,mon\n"
    paths = write_inputs(tmp_path, punches_csv(f"E4,{day} 02:30,D2,in", f"E4,{day} 09:00,D2,out"), employees, rules)
    ok(process(paths, tmp_path / "days.csv", date_from=day, date_to=day, quarantine=tmp_path / "q.csv"))
    assert read_csv_rows(tmp_path / "q.csv") == []
    row = by_day(read_csv_rows(tmp_path / "days.csv"))[("E4", day)]
    assert row["day_type"] == "workday"
    assert row["first_in"] == expected


def test_direction_digits_0_to_5_and_words_are_the_same(tmp_path):
    times = ["09:00", "13:00", "13:30", "18:00", "18:30", "19:30"]
    words = ["in", "out", "break_out", "break_in", "ot_in", "ot_out"]
    rows = {}
    for name, directions in (("digits", [str(i) for i in range(6)]), ("words", words)):
        folder = tmp_path / name
        folder.mkdir()
        order = [0, 2, 3, 1, 4, 5]  # in, break_out, break_in, out, ot_in, ot_out
        punches = punches_csv(
            *(f"E1,2025-01-06T{t}:00+05:30,D1,{directions[i]}" for t, i in zip(times, order, strict=True))
        )
        paths = write_inputs(folder, punches)
        ok(process(paths, folder / "days.csv", quarantine=folder / "q.csv"))
        assert read_csv_rows(folder / "q.csv") == []
        rows[name] = read_csv_rows(folder / "days.csv")
    assert rows["digits"] == rows["words"]
    e1 = by_day(rows["words"])[("E1", MONDAY)]
    assert e1["punch_count"] == "6"
    assert e1["worked_minutes"] == "570"  # 09:00-13:00, 13:30-18:00, 18:30-19:30
    assert e1["anomalies"] == ""


def test_direction_words_in_any_case_and_blank_directions_are_accepted(tmp_path):
    paths = write_inputs(
        tmp_path, punches_csv("E1,2025-01-06T09:00:00+05:30,D1,IN", "E1,2025-01-06T18:00:00+05:30,D1,Out")
    )
    ok(process(paths, tmp_path / "days.csv"))
    assert_e1_day_is_intact(read_csv_rows(tmp_path / "days.csv"))
    # the direction column is optional
    paths = write_inputs(
        tmp_path, "employee_id,timestamp,device_id\nE1,2025-01-06T09:00:00+05:30,D1\nE1,2025-01-06T18:00:00+05:30,D1\n"
    )
    ok(process(paths, tmp_path / "days.csv"))
    assert_e1_day_is_intact(read_csv_rows(tmp_path / "days.csv"))


def test_anomalies_are_joined_with_semicolons(tmp_path):
    paths = write_inputs(tmp_path, punches_csv("E1,2025-01-06T09:00:00+05:30,D1,in"))
    ok(process(paths, tmp_path / "days.csv"))
    assert by_day(read_csv_rows(tmp_path / "days.csv"))[("E1", MONDAY)]["anomalies"] == "missing_out;short_shift"


def test_header_only_punches_file_gives_absent_days(tmp_path):
    """No punches at all is valid data: everyone is absent on a workday."""
    paths = write_inputs(tmp_path, "employee_id,timestamp,device_id,direction\n")
    result = ok(process(paths, tmp_path / "days.csv"))
    rows = read_csv_rows(tmp_path / "days.csv")
    assert [(r["employee_id"], r["status"]) for r in rows] == [("E1", "absent"), ("E2", "absent")]
    assert "2 absent" in result.stderr


def test_header_only_assignments_and_leaves_files_are_accepted(tmp_path):
    paths = write_inputs(tmp_path, punches_csv(*E1_DAY))
    (tmp_path / "a.csv").write_text("employee_id,shift,from,to\n")
    (tmp_path / "l.csv").write_text("employee_id,date,kind,paid\n")
    ok(process(paths, tmp_path / "days.csv", assignments=tmp_path / "a.csv", leaves=tmp_path / "l.csv"))
    assert_e1_day_is_intact(read_csv_rows(tmp_path / "days.csv"))


# --------------------------------------------------------------------------------------------------
# help and version
# --------------------------------------------------------------------------------------------------


def test_help_lists_the_process_command_and_its_options():
    result = ok(invoke(["--help"]))
    assert "process" in result.stdout
    result = ok(invoke(["process", "--help"]))
    for option in ("--punches", "--employees", "--rules", "--from", "--to", "--assignments", "--leaves", "--out",
                   "--quarantine"):  # fmt: skip
        assert option in result.stdout, option
    assert ".parquet" in result.stdout
    assert ok(invoke(["process", "-h"])).stdout == result.stdout


def test_version():
    result = ok(invoke(["--version"]))
    assert result.stdout.strip() == f"punchbridge, version {__version__}"


def test_missing_required_option_is_a_usage_error(tmp_path):
    result = invoke(["process", "--out", str(tmp_path / "days.csv")])
    assert result.exit_code == 2
    assert "Missing option" in result.stderr
    assert not (tmp_path / "days.csv").exists()

"""Bad and hostile input to `punchbridge process`, end to end through the CLI.

Every unusable input must give exit code 2 and a message naming the file, the line (or row) and
the field, and must leave the output folder exactly as it was: no new file, no temporary file left
behind, and a pre-existing `--out` / `--quarantine` file untouched. Rows that are bad on their own
in a sound punches file are quarantined instead, and the rest is processed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from punchbridge.cli import main

# --------------------------------------------------------------------------------------------------
# A small, valid data set (Monday 2025-01-06). Each test breaks one thing in it.
# --------------------------------------------------------------------------------------------------

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
  night:
    start: "22:00"
    end: "06:00"
pairing:
  debounce_seconds: 120
  direction: auto
"""

EMPLOYEES = """\
employee_id,site,shift,weekly_off
E1,blr,general,
E2,ber,general,sat;sun
"""

PUNCHES = """\
employee_id,timestamp,device_id,direction
E1,2025-01-06T09:00:00+05:30,D1,in
E1,2025-01-06T18:00:00+05:30,D1,out
E2,2025-01-06 09:00,D2,0
E2,2025-01-06 17:00,D2,1
"""

ASSIGNMENTS = """\
employee_id,shift,from,to
E1,night,2025-01-10,2025-01-12
"""

LEAVES = """\
employee_id,date,kind,paid
E2,2025-01-07,full,true
"""

DAY = "2025-01-06"
SENTINEL = "previous run's output: must survive a failed run\n"
MAX_MESSAGE_CHARS = 10_000


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


class Case:
    """The input files of one run, written to `tmp_path/in`; outputs go to `tmp_path/out`."""

    def __init__(self, tmp_path: Path, **contents: str | bytes | None) -> None:
        self.dir = tmp_path / "in"
        self.out_dir = tmp_path / "out"
        self.dir.mkdir(parents=True)
        self.out_dir.mkdir(parents=True)
        files = {
            "rules": ("rules.yaml", RULES),
            "employees": ("employees.csv", EMPLOYEES),
            "punches": ("punches.csv", PUNCHES),
            "assignments": ("assignments.csv", None),
            "leaves": ("leaves.csv", None),
        }
        self.paths: dict[str, Path] = {}
        for key, (name, default) in files.items():
            content = contents.pop(key, default)
            if content is not None:
                self.paths[key] = _write(self.dir / name, content)
        assert not contents, f"unknown input {sorted(contents)}"

    def args(self, out: str = "days.csv", quarantine: str | None = "quarantine.csv", **extra: str) -> list[str]:
        args = ["process"]
        for key in ("punches", "employees", "rules", "assignments", "leaves"):
            if key in self.paths:
                args += [f"--{key}", str(self.paths[key])]
        args += ["--from", extra.pop("date_from", DAY), "--to", extra.pop("date_to", DAY)]
        args += ["--out", str(self.out_dir / out)]
        if quarantine:
            args += ["--quarantine", str(self.out_dir / quarantine)]
        assert not extra, extra
        return args


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def describe(result: Result) -> str:
    text = f"exit code {result.exit_code}\n--- stderr ---\n{result.stderr[:3000]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text += "\n--- uncaught exception ---\n" + "".join(traceback.format_exception(result.exception))
    return text


def assert_rejected(
    case: Case,
    *,
    file: str | None,
    line: int | None = None,
    field: str | None = None,
    words: tuple[str, ...] = (),
    out: str = "days.csv",
    quarantine: str | None = "quarantine.csv",
    **extra: str,
) -> str:
    """Run twice: into an empty output folder, and over pre-existing outputs. Both must fail cleanly.

    Returns the error message (stderr) of the first run.
    """
    # 1. Nothing there before: nothing there after (no output, no stray temporary file).
    result = invoke(case.args(out=out, quarantine=quarantine, **extra))
    assert result.exit_code == 2, describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), describe(result)
    message = result.stderr
    assert "Traceback" not in message, describe(result)
    assert sorted(os.listdir(case.out_dir)) == [], f"files written by a failed run: {os.listdir(case.out_dir)}"
    if file is not None:
        assert file in message, f"message does not name the file {file!r}:\n{message}"
    if line is not None:
        assert f"{file}:{line}" in message, f"message does not name line {line} of {file}:\n{message}"
    if field is not None:
        assert field in message, f"message does not name the field {field!r}:\n{message}"
    for word in words:
        assert word.lower() in message.lower(), f"message does not say {word!r}:\n{message}"
    assert len(message) < MAX_MESSAGE_CHARS, f"message is {len(message)} characters long"

    # 2. Previous outputs in place: they stay byte for byte, and nothing else appears.
    existing = {out: SENTINEL}
    if quarantine:
        existing[quarantine] = SENTINEL.upper()
    for name, text in existing.items():
        (case.out_dir / name).write_text(text)
    again = invoke(case.args(out=out, quarantine=quarantine, **extra))
    assert again.exit_code == 2, describe(again)
    assert sorted(os.listdir(case.out_dir)) == sorted(existing), os.listdir(case.out_dir)
    for name, text in existing.items():
        assert (case.out_dir / name).read_text() == text, f"{name} was modified by a failed run"
    return message


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line of `text` containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def run_ok(case: Case, **kwargs: str) -> Result:
    result = invoke(case.args(**kwargs))
    assert result.exit_code == 0, describe(result)
    return result


def read_rows(path: Path) -> list[dict[str, str]]:
    import csv

    previous = csv.field_size_limit(1 << 26)  # hostile tests put 1 MB values in the outputs
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    finally:
        csv.field_size_limit(previous)  # a process-wide setting: other tests' messages depend on it


# --------------------------------------------------------------------------------------------------
# Punches
# --------------------------------------------------------------------------------------------------


def test_malformed_timestamp_names_file_line_and_field(tmp_path):
    punches = PUNCHES + "E1,yesterday 9am,D1,in\n"
    case = Case(tmp_path, punches=punches)
    message = assert_rejected(case, file="punches.csv", line=6, field="timestamp", words=("yesterday 9am",))
    assert "ISO-8601" in message or "date and time" in message


def test_impossible_calendar_timestamp_names_its_line(tmp_path):
    punches = PUNCHES.replace("2025-01-06T18:00:00+05:30", "2025-02-30T18:00:00+05:30")
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=3, field="timestamp", words=("2025-02-30",))


def test_timestamp_with_hour_25_names_its_line(tmp_path):
    punches = PUNCHES.replace("2025-01-06 17:00", "2025-01-06 25:00")
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=5, field="timestamp")


@pytest.mark.parametrize("value", ["6", "-1", "sideways"])
def test_unknown_direction_names_line_and_field(tmp_path, value):
    punches = PUNCHES.replace("D2,1\n", f"D2,{value}\n")
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=5, field="direction", words=(value,))


def test_blank_required_punch_value_names_line_and_field(tmp_path):
    punches = PUNCHES.replace("E1,2025-01-06T18:00:00+05:30,D1,out", "E1,2025-01-06T18:00:00+05:30,,out")
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=3, field="device_id", words=("missing",))


# --------------------------------------------------------------------------------------------------
# Employees, assignments, leaves: references to the rules
# --------------------------------------------------------------------------------------------------


def test_unknown_site_names_file_line_and_field(tmp_path):
    case = Case(tmp_path, employees=EMPLOYEES.replace("E2,ber,", "E2,paris,"))
    assert_rejected(case, file="employees.csv", line=3, field="site", words=("paris",))


def test_unknown_shift_in_employees_names_file_line_and_field(tmp_path):
    case = Case(tmp_path, employees=EMPLOYEES.replace("E1,blr,general", "E1,blr,generl"))
    assert_rejected(case, file="employees.csv", line=2, field="shift", words=("generl",))


def test_unknown_shift_in_assignments_names_file_line_and_field(tmp_path):
    assignments = ASSIGNMENTS + "E2,graveyard,2025-01-06,2025-01-06\n"
    case = Case(tmp_path, assignments=assignments)
    assert_rejected(case, file="assignments.csv", line=3, field="shift", words=("graveyard",))


def test_assignment_for_unknown_employee_names_line(tmp_path):
    case = Case(tmp_path, assignments=ASSIGNMENTS + "E404,night,2025-01-06,2025-01-06\n")
    assert_rejected(case, file="assignments.csv", line=3, field="employee_id", words=("E404",))


def test_bad_weekly_off_name_in_employees(tmp_path):
    case = Case(tmp_path, employees=EMPLOYEES.replace("sat;sun", "sat;funday"))
    assert_rejected(case, file="employees.csv", line=3, field="weekly_off", words=("funday",))


def test_bad_weekly_off_name_in_rules(tmp_path):
    rules = RULES.replace("weekly_off: [sat, sun]", "weekly_off: [sat, sundy]")
    case = Case(tmp_path, rules=rules)
    assert_rejected(
        case, file="rules.yaml", line=line_of(rules, "sundy"), field="sites.ber.weekly_off", words=("sundy",)
    )


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e", "\ufeff"], ids=["zero-width", "rtl-override", "bom"])
def test_an_employee_id_with_an_invisible_character_names_its_line(tmp_path, invisible):
    case = Case(tmp_path, employees=EMPLOYEES.replace("E2,ber", f"E{invisible}2,ber"))
    assert_rejected(case, file="employees.csv", line=3, field="employee_id", words=("invisible character", "U+"))


def test_a_punch_with_an_invisible_character_in_an_id_is_quarantined_and_the_rest_kept(tmp_path):
    punches = PUNCHES.replace("E1,2025-01-06T18:00:00+05:30,D1,out", "E1,2025-01-06T18:00:00+05:30,D\u200b1,out")
    case = Case(tmp_path, punches=punches)
    run_ok(case)
    held = read_rows(case.out_dir / "quarantine.csv")
    assert [(row["line"], row["reason"]) for row in held] == [("3", "bad_identifier")]
    days = {row["employee_id"]: row for row in read_rows(case.out_dir / "days.csv")}
    assert days["E1"]["punch_count"] == "1" and days["E2"]["punch_count"] == "2"


def test_duplicate_employee_id_names_both_lines(tmp_path):
    employees = EMPLOYEES + "E3,blr,general,\nE1,ber,general,\n"
    case = Case(tmp_path, employees=employees)
    message = assert_rejected(case, file="employees.csv", line=5, field="employee_id", words=("E1",))
    assert "line 2" in message, message


def test_overlapping_assignments_name_both_lines(tmp_path):
    assignments = (
        "employee_id,shift,from,to\n"
        "E1,night,2025-01-01,2025-01-10\n"
        "E2,night,2025-01-01,2025-01-10\n"
        "E1,general,2025-01-08,2025-01-20\n"
    )
    case = Case(tmp_path, assignments=assignments)
    message = assert_rejected(case, file="assignments.csv", line=4, words=("overlap",))
    assert "line 2" in message, message
    assert "from" in message or "to" in message


def test_assignment_ending_before_it_starts(tmp_path):
    case = Case(tmp_path, assignments="employee_id,shift,from,to\nE1,night,2025-01-10,2025-01-01\n")
    assert_rejected(case, file="assignments.csv", line=2, field="to")


def test_duplicate_leave_names_the_line_it_repeats(tmp_path):
    leaves = LEAVES + "E1,2025-01-06,first_half,true\nE2,2025-01-07,full,true\n"
    case = Case(tmp_path, leaves=leaves)
    message = assert_rejected(case, file="leaves.csv", line=4)
    assert "line 2" in message, message


def test_conflicting_leaves_full_day_and_half_day_on_one_date(tmp_path):
    leaves = LEAVES + "E2,2025-01-07,second_half,false\n"
    case = Case(tmp_path, leaves=leaves)
    message = assert_rejected(case, file="leaves.csv", line=3, field="kind")
    assert "lines 2, 3" in message or "line 2" in message, message


def test_bad_paid_value_names_line_and_field(tmp_path):
    case = Case(tmp_path, leaves=LEAVES + "E1,2025-01-06,full,maybe\n")
    assert_rejected(case, file="leaves.csv", line=3, field="paid", words=("maybe",))


def test_bad_leave_kind_and_date_name_line_and_field(tmp_path):
    case = Case(tmp_path, leaves=LEAVES + "E1,2025-01-06,sabbatical,true\n")
    assert_rejected(case, file="leaves.csv", line=3, field="kind", words=("sabbatical",))
    case = Case(tmp_path / "b", leaves=LEAVES + "E1,06/01/2025,full,true\n")
    assert_rejected(case, file="leaves.csv", line=3, field="date", words=("06/01/2025",))


# --------------------------------------------------------------------------------------------------
# CSV structure
# --------------------------------------------------------------------------------------------------

CSV_INPUTS = {
    "punches": ("punches.csv", PUNCHES, "timestamp"),
    "employees": ("employees.csv", EMPLOYEES, "site"),
    "assignments": ("assignments.csv", ASSIGNMENTS, "to"),
    "leaves": ("leaves.csv", LEAVES, "paid"),
}


@pytest.mark.parametrize("which", sorted(CSV_INPUTS))
def test_missing_column_names_file_header_line_and_column(tmp_path, which):
    name, content, column = CSV_INPUTS[which]
    header, *rows = content.splitlines()
    position = header.split(",").index(column)

    def drop(line: str) -> str:
        fields = line.split(",")
        del fields[position]
        return ",".join(fields)

    case = Case(tmp_path, **{which: "\n".join(drop(line) for line in [header, *rows]) + "\n"})
    assert_rejected(case, file=name, line=1, field=column, words=("missing",))


@pytest.mark.parametrize("which", sorted(CSV_INPUTS))
def test_duplicate_header_names_file_line_and_column(tmp_path, which):
    name, content, column = CSV_INPUTS[which]
    header, *rows = content.splitlines()
    case = Case(tmp_path, **{which: "\n".join([f"{header},{column}"] + [f"{r},x" for r in rows]) + "\n"})
    assert_rejected(case, file=name, line=1, field=column, words=("twice",))


@pytest.mark.parametrize("which", sorted(CSV_INPUTS))
def test_empty_file_zero_bytes(tmp_path, which):
    name = CSV_INPUTS[which][0]
    case = Case(tmp_path, **{which: b""})
    assert_rejected(case, file=name, words=("empty",))


@pytest.mark.parametrize("which", sorted(CSV_INPUTS))
def test_empty_file_whitespace_only(tmp_path, which):
    name = CSV_INPUTS[which][0]
    case = Case(tmp_path, **{which: "  \n\n\t \r\n"})
    assert_rejected(case, file=name, words=("empty",))


@pytest.mark.parametrize("content", ["", "\n", "\n\n"], ids=["no-newline", "newline", "blank-lines"])
def test_header_only_employees_file_says_there_are_no_rows(tmp_path, content):
    case = Case(tmp_path, employees="employee_id,site,shift,weekly_off" + content)
    message = assert_rejected(case, file="employees.csv")
    # The file has a header: calling it empty would send the consultant looking in the wrong place.
    assert "no rows" in message.lower() or "no employees" in message.lower(), message


def test_row_with_too_many_fields_names_its_line(tmp_path):
    employees = EMPLOYEES + "E3,blr,general,sun,extra\nE4,blr,general,\n"
    case = Case(tmp_path, employees=employees)
    message = assert_rejected(case, file="employees.csv", line=4)
    assert "5" in message and "4" in message, message


def test_row_with_too_few_fields_names_its_line(tmp_path):
    punches = PUNCHES + "E1,2025-01-06T12:00:00+05:30\n"
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=6)


def test_line_numbers_stay_physical_after_a_quoted_multiline_field(tmp_path):
    # A quoted device id spanning two physical lines: the bad timestamp below is on line 5.
    punches = (
        "employee_id,timestamp,device_id,direction\n"
        'E1,2025-01-06T09:00:00+05:30,"GATE\nNORTH",in\n'
        "E1,2025-01-06T18:00:00+05:30,D1,out\n"
        "E1,not-a-time,D1,out\n"
    )
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=5, field="timestamp")


def test_non_utf8_bytes_in_csv_name_the_line(tmp_path):
    employees = EMPLOYEES.encode() + "E3,blr,général,\n".encode("latin-1")
    case = Case(tmp_path, employees=employees)
    assert_rejected(case, file="employees.csv", line=4, words=("UTF-8",))


def test_non_utf8_bytes_in_rules_yaml_name_the_line(tmp_path):
    rules = RULES.replace("grace_in: 10", "grace_in: 10  # défaut").encode("latin-1")
    case = Case(tmp_path, rules=rules)
    assert_rejected(case, file="rules.yaml", line=line_of(RULES, "grace_in"), words=("UTF-8",))


def test_nul_byte_in_csv_names_the_line(tmp_path):
    punches = PUNCHES.replace("E2,2025-01-06 09:00,D2,0", "E2,2025-01-06 09:00,D\x002,0")
    case = Case(tmp_path, punches=punches)
    assert_rejected(case, file="punches.csv", line=4, words=("NUL",))


def test_nul_byte_in_rules_yaml_is_a_clean_error(tmp_path):
    rules = RULES.replace("weekly_off: [sun]", "weekly_off: [s\x00un]")
    case = Case(tmp_path, rules=rules)
    assert_rejected(case, file="rules.yaml", line=line_of(rules, "\x00"))


def test_bom_at_start_of_csv_and_yaml_is_accepted(tmp_path):
    bom = b"\xef\xbb\xbf"
    case = Case(
        tmp_path,
        punches=bom + PUNCHES.encode(),
        employees=bom + EMPLOYEES.replace("\n", "\r\n").encode(),
        rules=bom + RULES.encode(),
        leaves=bom + LEAVES.encode(),
        assignments=bom + ASSIGNMENTS.encode(),
    )
    run_ok(case, date_to="2025-01-07")
    rows = read_rows(case.out_dir / "days.csv")
    assert next(iter(rows[0])) == "employee_id"  # the BOM is not glued to the first column name
    by_key = {(r["employee_id"], r["work_date"]): r for r in rows}
    assert by_key[("E1", DAY)]["status"] == "present"
    assert by_key[("E2", DAY)]["first_in"] == "2025-01-06T09:00:00+01:00"
    assert by_key[("E2", "2025-01-07")]["status"] == "on_leave"


@pytest.mark.parametrize("which", ["punches", "employees", "rules"])
def test_input_file_not_found_names_the_file(tmp_path, which):
    case = Case(tmp_path)
    case.paths[which] = case.dir / f"no-such-{which}.csv"
    assert_rejected(case, file=f"no-such-{which}.csv", words=("not found",))


def test_input_path_that_is_a_directory(tmp_path):
    case = Case(tmp_path)
    (case.dir / "folder.csv").mkdir()
    case.paths["punches"] = case.dir / "folder.csv"
    assert_rejected(case, file="folder.csv")


# --------------------------------------------------------------------------------------------------
# Rules YAML
# --------------------------------------------------------------------------------------------------


def test_bad_time_zone_name_names_the_yaml_line_and_field(tmp_path):
    rules = RULES.replace("Europe/Berlin", "Europe/Berln")
    case = Case(tmp_path, rules=rules)
    assert_rejected(
        case, file="rules.yaml", line=line_of(rules, "Berln"), field="sites.ber.timezone", words=("Europe/Berln",)
    )


def test_shift_with_start_equal_to_end(tmp_path):
    rules = RULES.replace('end: "18:00"', 'end: "09:00"')
    case = Case(tmp_path, rules=rules)
    message = assert_rejected(case, file="rules.yaml", field="shifts.general")
    assert "start" in message and "end" in message, message
    # the line is that of the shift (its name or one of its settings), not somewhere else
    lines = {line_of(rules, "general:"), line_of(rules, 'start: "09:00"'), line_of(rules, 'end: "09:00"')}
    assert any(f"rules.yaml:{n}" in message for n in lines), message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("grace_in: 10", "grace_in: -5", "shifts.general.grace_in"),
        ("debounce_seconds: 120", "debounce_seconds: -1", "pairing.debounce_seconds"),
        ('end: "06:00"', 'end: "06:00"\n    window_before: -30', "shifts.night.window_before"),
    ],
)
def test_negative_setting_names_the_setting_and_yaml_line(tmp_path, old, new, field):
    rules = RULES.replace(old, new)
    case = Case(tmp_path, rules=rules)
    assert_rejected(case, file="rules.yaml", line=line_of(rules, new.split("\n")[-1].strip()), field=field)


def test_unknown_setting_key_typo_names_key_and_line(tmp_path):
    rules = RULES.replace("grace_in: 10", "grace_inn: 10")
    case = Case(tmp_path, rules=rules)
    assert_rejected(
        case, file="rules.yaml", line=line_of(rules, "grace_inn"), field="shifts.general.grace_inn", words=("unknown",)
    )


def test_yaml_syntax_error_names_the_line(tmp_path):
    rules = RULES.replace("timezone: Europe/Berlin", "timezone: Europe/Berlin: oops")
    case = Case(tmp_path, rules=rules)
    assert_rejected(case, file="rules.yaml", line=line_of(rules, "oops"), words=("YAML",))


def test_yaml_bad_indentation_names_the_line(tmp_path):
    rules = RULES.replace("    grace_in: 10", "   grace_in: 10")
    case = Case(tmp_path, rules=rules)
    message = assert_rejected(case, file="rules.yaml")
    assert any(f"rules.yaml:{n}" in message for n in (line_of(rules, "grace_in") - 1, line_of(rules, "grace_in")))


def test_duplicate_yaml_key_names_both_key_and_line(tmp_path):
    rules = RULES.replace('end: "18:00"', 'end: "18:00"\n    start: "10:00"')
    case = Case(tmp_path, rules=rules)
    assert_rejected(
        case, file="rules.yaml", line=line_of(rules, 'start: "10:00"'), field="shifts.general.start", words=("twice",)
    )


def test_duplicate_site_name_in_yaml(tmp_path):
    rules = RULES.replace("  ber:\n", "  blr:\n", 1)
    case = Case(tmp_path, rules=rules, employees="employee_id,site,shift\nE1,blr,general\n")
    assert_rejected(case, file="rules.yaml", line=5, field="sites.blr", words=("twice",))


def test_empty_rules_yaml(tmp_path):
    for i, content in enumerate(["", "\n  \n", "# only a comment\n"]):
        case = Case(tmp_path / str(i), rules=content)
        assert_rejected(case, file="rules.yaml", words=("empty",))


def test_rules_yaml_that_is_not_a_mapping(tmp_path):
    case = Case(tmp_path, rules="- sites\n- shifts\n")
    assert_rejected(case, file="rules.yaml", line=1, words=("sites",))


def test_missing_shifts_section(tmp_path):
    rules = RULES.split("shifts:")[0]
    case = Case(tmp_path, rules=rules)
    assert_rejected(case, file="rules.yaml", field="shifts", words=("missing",))


def test_unquoted_clock_times_in_yaml_are_times_not_sexagesimal_numbers(tmp_path):
    """`end: 18:00` unquoted is YAML 1.1's base-60 integer 1080; punchbridge must read 18:00."""
    quoted = RULES.replace('end: "18:00"', 'end: "18:00"\n    breaks:\n      - {start: "13:00", end: "13:30"}')
    unquoted = quoted.replace('"', "")
    assert "end: 18:00" in unquoted and "start: 13:00" in unquoted
    outputs = []
    for name, rules in (("q", quoted), ("u", unquoted)):
        case = Case(tmp_path / name, rules=rules)
        run_ok(case)
        outputs.append(read_rows(case.out_dir / "days.csv"))
    assert outputs[0] == outputs[1]
    e1 = next(r for r in outputs[1] if r["employee_id"] == "E1")
    assert e1["worked_minutes"] == "510"  # 09:00-18:00 less the 13:00-13:30 break
    assert e1["break_minutes"] == "30"
    assert e1["early_exit_minutes"] == "0"


def test_missing_holidays_csv_names_the_rules_line_that_refers_to_it(tmp_path):
    rules = RULES.replace("weekly_off: [sun]", "weekly_off: [sun]\n    holidays: holidays-blr.csv")
    case = Case(tmp_path, rules=rules)
    message = assert_rejected(case, file="holidays-blr.csv", words=("not found",))
    assert f"rules.yaml:{line_of(rules, 'holidays-blr.csv')}" in message, message
    assert "sites.blr.holidays" in message, message


def test_bad_date_in_holidays_csv_names_that_file_and_line(tmp_path):
    rules = RULES.replace("weekly_off: [sun]", "weekly_off: [sun]\n    holidays: holidays-blr.csv")
    case = Case(tmp_path, rules=rules)
    _write(case.dir / "holidays-blr.csv", "date,name\n2025-01-26,Republic Day\n26/01/2025,Typo\n")
    assert_rejected(case, file="holidays-blr.csv", line=3, field="date", words=("26/01/2025",))


@pytest.mark.parametrize(
    ("holiday", "words"),
    [("2025-02-30", ("day value is outside",)), ("2025-13-45", ("month value is outside",))],
)
def test_an_impossible_unquoted_date_in_yaml_names_its_line_and_field(tmp_path, holiday, words):
    rules = RULES.replace("weekly_off: [sun]", f"weekly_off: [sun]\n    holidays: [2025-01-26, {holiday}]")
    case = Case(tmp_path, rules=rules)
    line = line_of(rules, holiday)
    assert_rejected(case, file="rules.yaml", line=line, field="sites.blr.holidays[1]", words=words)


def test_an_impossible_date_in_the_configuration_is_a_located_problem_not_a_traceback(tmp_path):
    config = tmp_path / "punchbridge.yaml"
    _write(tmp_path / "employees.csv", EMPLOYEES)
    _write(
        config, RULES + "store: sqlite:///store.db\nemployees: employees.csv\nsync:\n  from: 2025-13-45\ntargets: {}\n"
    )
    result = invoke(["validate", "-c", str(config)])
    assert result.exit_code == 2, describe(result)
    assert "Traceback" not in result.stderr
    assert f"punchbridge.yaml:{RULES.count(chr(10)) + 4}: sync.from:" in result.stderr, result.stderr


def test_python_tags_in_yaml_are_refused_not_executed(tmp_path):
    marker = tmp_path / "PWNED"
    rules = RULES.replace("  blr:\n", f'  blr: !!python/object/apply:os.system ["touch {marker}"]\n  blr_unused:\n', 1)
    case = Case(tmp_path, rules=rules)
    result = invoke(case.args())
    assert result.exit_code == 2, describe(result)
    assert "rules.yaml" in result.stderr
    assert not marker.exists()
    assert os.listdir(case.out_dir) == []


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    """A 'billion laughs' document: PyYAML shares aliased nodes, a loader must not expand them."""
    levels = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    rules = "\n".join(levels) + "\n" + RULES
    case = Case(tmp_path, rules=rules)
    limit_bytes = 3 << 30

    def limit_memory() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    code = "import sys; from punchbridge.cli import main; sys.exit(main())"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *case.args()],
            capture_output=True,
            text=True,
            timeout=120,  # an expansion would run into the memory limit or this; a loaded machine needs room
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a 1.3 KB rules file with nested aliases kept punchbridge busy for over 120 s")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "rules.yaml" in done.stderr
    assert os.listdir(case.out_dir) == []


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def test_to_before_from_is_rejected(tmp_path):
    case = Case(tmp_path)
    message = assert_rejected(case, file=None, date_from="2025-01-07", date_to="2025-01-06")
    assert "--to" in message and "--from" in message, message


@pytest.mark.parametrize("date", ["2025-13-01", "06/01/2025", "tomorrow"])
def test_malformed_date_option_is_rejected(tmp_path, date):
    case = Case(tmp_path)
    message = assert_rejected(case, file=None, date_from=date)
    assert "--from" in message and date in message, message


@pytest.mark.parametrize(("out", "quarantine"), [("days.xlsx", None), ("days", None), ("days.csv", "q.txt")])
def test_unknown_output_extension_is_rejected_before_any_work(tmp_path, out, quarantine):
    # Every input is broken or missing: the output name is checked first, before reading anything.
    case = Case(tmp_path, punches="garbage\x00", rules="::: not yaml")
    case.paths["employees"] = case.dir / "missing.csv"
    bad = quarantine or out
    message = assert_rejected(case, file=bad, out=out, quarantine=quarantine)
    assert ".csv" in message and ".json" in message and ".parquet" in message, message
    for input_name in ("punches.csv", "rules.yaml", "missing.csv"):
        assert input_name not in message, message


def test_quarantine_same_file_as_out_is_rejected(tmp_path):
    case = Case(tmp_path)
    message = assert_rejected(case, file=None, out="days.csv", quarantine="days.csv")
    assert "--quarantine" in message, message


# --------------------------------------------------------------------------------------------------
# Several problems at once
# --------------------------------------------------------------------------------------------------


def test_several_problems_in_one_csv_are_all_reported(tmp_path):
    employees = (
        "employee_id,site,shift,weekly_off\n"
        "E1,blr,general,\n"
        "E2,paris,general,\n"  # 3: unknown site
        "E3,blr,graveyard,\n"  # 4: unknown shift
        "E4,blr,general,funday\n"  # 5: bad weekly_off
        "E1,ber,general,\n"  # 6: duplicate id
        ",blr,general,\n"  # 7: missing id
    )
    case = Case(tmp_path, employees=employees)
    message = assert_rejected(case, file="employees.csv")
    for where in ("employees.csv:3: site", "employees.csv:4: shift", "employees.csv:5: weekly_off",
                  "employees.csv:6: employee_id", "employees.csv:7: employee_id"):  # fmt: skip
        assert where in message, f"{where!r} not reported:\n{message}"


def test_several_timestamp_problems_in_punches_are_all_reported(tmp_path):
    punches = PUNCHES + (
        "E1,2025-13-06T09:00:00+05:30,D1,in\n"  # 6: month 13
        "E1,half past nine,D1,in\n"  # 7: not a timestamp at all
        "E1,2025-01-06T09:30:00+05:30,D1,sideways\n"  # 8: bad direction
    )
    case = Case(tmp_path, punches=punches)
    message = assert_rejected(case, file="punches.csv")
    for where in ("punches.csv:6: timestamp", "punches.csv:7: timestamp", "punches.csv:8: direction"):
        assert where in message, f"{where!r} not reported:\n{message}"


def test_several_problems_in_rules_yaml_are_all_reported(tmp_path):
    rules = RULES.replace("Europe/Berlin", "Europe/Berln").replace("grace_in: 10", "grace_in: -5")
    rules = rules.replace("debounce_seconds: 120", "debounce_secs: 120")
    case = Case(tmp_path, rules=rules)
    message = assert_rejected(case, file="rules.yaml")
    for where in (
        f"rules.yaml:{line_of(rules, 'Berln')}: sites.ber.timezone",
        f"rules.yaml:{line_of(rules, 'grace_in')}: shifts.general.grace_in",
        f"rules.yaml:{line_of(rules, 'debounce_secs')}: pairing.debounce_secs",
    ):
        assert where in message, f"{where!r} not reported:\n{message}"


def test_bad_holidays_csv_does_not_hide_other_rules_problems(tmp_path):
    rules = RULES.replace("weekly_off: [sun]", "weekly_off: [sun]\n    holidays: holidays-blr.csv")
    rules = rules.replace("Europe/Berlin", "Europe/Berln")
    case = Case(tmp_path, rules=rules)
    _write(case.dir / "holidays-blr.csv", "date,name\n2025-13-26,Typo\n")
    message = assert_rejected(case, file="rules.yaml")
    assert "holidays-blr.csv:2" in message, message
    assert f"rules.yaml:{line_of(rules, 'Berln')}: sites.ber.timezone" in message, message


def test_problems_in_several_input_files_are_reported_in_one_run(tmp_path):
    """Employees and punches are each unusable: the consultant should see both in one pass."""
    case = Case(
        tmp_path,
        employees=EMPLOYEES.replace("E2,ber,", "E2,paris,"),
        punches=PUNCHES + "E1,half past nine,D1,in\n",
        leaves=LEAVES.replace(",true", ",maybe"),
    )
    message = assert_rejected(case, file="employees.csv")
    assert "employees.csv:3: site" in message, message
    assert "punches.csv:6: timestamp" in message, message
    assert "leaves.csv:2: paid" in message, message


# --------------------------------------------------------------------------------------------------
# Hostile values
# --------------------------------------------------------------------------------------------------

HUGE = "E" * (1 << 20)


def test_huge_employee_id_in_punches_is_quarantined_and_the_rest_processed(tmp_path):
    case = Case(tmp_path, punches=PUNCHES + f"{HUGE},2025-01-06T12:00:00+05:30,D1,in\n")
    result = run_ok(case)
    assert len(result.stderr) < MAX_MESSAGE_CHARS
    days = read_rows(case.out_dir / "days.csv")
    assert [(r["employee_id"], r["status"]) for r in days] == [("E1", "present"), ("E2", "present")]
    (held,) = read_rows(case.out_dir / "quarantine.csv")
    assert held["line"] == "6" and held["reason"] == "unknown_employee"


def test_huge_value_in_employees_is_reported_briefly(tmp_path):
    case = Case(tmp_path, employees=EMPLOYEES.replace("E2,ber,", f"E2,{HUGE},"))
    # A 1 MB value must not be echoed whole: the message stays readable and names the place.
    assert_rejected(case, file="employees.csv", line=3, field="site")


def test_huge_timestamp_value_is_reported_briefly(tmp_path):
    case = Case(tmp_path, punches=PUNCHES + f"E1,2025-01-06T{'9' * (1 << 20)},D1,in\n")
    assert_rejected(case, file="punches.csv", line=6, field="timestamp")


def test_row_with_200000_fields_is_reported_not_crashed(tmp_path):
    # 200 000 columns in one row: reported as a wrong field count, not a crash.
    case = Case(tmp_path, punches=PUNCHES + ",".join(["x"] * 200_000) + "\n")
    assert_rejected(case, file="punches.csv", line=6)


@pytest.mark.parametrize("value", ["=cmd()", '=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_csv_injection_looking_employee_id_is_quarantined_verbatim_never_evaluated(tmp_path, value):
    case = Case(
        tmp_path, punches=PUNCHES + f'"{value.replace(chr(34), chr(34) * 2)}",2025-01-06T12:00:00+05:30,D1,in\n'
    )
    run_ok(case)
    days = read_rows(case.out_dir / "days.csv")
    assert [(r["employee_id"], r["status"]) for r in days] == [("E1", "present"), ("E2", "present")]
    (held,) = read_rows(case.out_dir / "quarantine.csv")
    assert held["reason"] == "unknown_employee"
    assert held["employee_id"] in (value, "'" + value)  # kept as text (optionally defused), never a result


def test_csv_injection_looking_employee_in_employees_file_is_processed_as_text(tmp_path):
    employees = EMPLOYEES + '"=cmd()",blr,general,\n'
    punches = PUNCHES + '"=cmd()",2025-01-06T09:05:00+05:30,D1,in\n"=cmd()",2025-01-06T18:00:00+05:30,D1,out\n'
    case = Case(tmp_path, employees=employees, punches=punches)
    run_ok(case, out="days.json")
    import json

    days = json.loads((case.out_dir / "days.json").read_text())
    row = next(r for r in days if r["employee_id"] == "=cmd()")
    assert row["status"] == "present" and row["worked_minutes"] == 535


def test_quoted_values_with_commas_and_quotes_round_trip(tmp_path):
    punches = PUNCHES + '"E,9","2025-01-06T12:00:00+05:30","GATE ""A"", north",in\n'
    case = Case(tmp_path, punches=punches)
    run_ok(case)
    (held,) = read_rows(case.out_dir / "quarantine.csv")
    assert held["employee_id"] == "E,9"
    assert held["device_id"] == 'GATE "A", north'
    assert held["line"] == "6"

"""Every bad input is located and counted: "N problems" is how many there are in all, an unclosed quote
is named where it opens, `validate` reads the inbox files the next sync would read, and a large file of
garbage is refused without holding its rows."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from support.jobs_helpers import write_setup

from punchbridge.cli import main
from punchbridge.config import csvfile, punchfile
from punchbridge.errors import InputFileError

HEADER = "employee_id,timestamp,device_id,direction\n"
GOOD = "E1,2026-03-02T09:00:00+05:30,GATE,in\n"


def _process(folder: Path, punches: str) -> tuple[int, str]:
    """`punchbridge process` on `punches` (the rest of the setup is the small sync setup's)."""
    config = write_setup(folder)
    (folder / "punches.csv").write_text(punches, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["process", "--rules", str(config), "--punches", str(folder / "punches.csv"),
         "--employees", str(folder / "employees.csv"), "--from", "2026-03-02", "--to", "2026-03-06",
         "--out", str(folder / "days.csv")],
    )  # fmt: skip
    return result.exit_code, result.output


def test_every_malformed_line_is_counted_and_the_first_ones_are_named(tmp_path: Path) -> None:
    rows = "".join(f"E1,2026-03-02T09:00:00+05:30,GATE,in,extra{n}\n" for n in range(50))

    code, output = _process(tmp_path, HEADER + rows)

    assert code == 2
    assert "error: 50 problems (only the first of each kind are listed):" in output
    for line in range(2, 22):
        assert f"punches.csv:{line}: expected 4 fields (employee_id,timestamp,device_id,direction), found 5" in output
    assert "punches.csv:22: expected 4 fields" in output
    assert "and 29 more rows after this one with the same kind of problem" in output


def test_bad_values_of_every_kind_are_counted(tmp_path: Path) -> None:
    timestamps = "".join(f"E1,yesterday {n},GATE,in\n" for n in range(30))
    directions = "".join(f"E1,2026-03-02T09:{n:02d}:00+05:30,GATE,sideways\n" for n in range(25))
    impossible = "E1,2026-03-02T25:00:00+05:30,GATE,in\n"

    code, output = _process(tmp_path, HEADER + GOOD + timestamps + directions + impossible)

    assert code == 2
    assert "error: 56 problems" in output
    assert "punches.csv:23: timestamp: 'yesterday 20' is not an ISO-8601 date and time" in output
    assert "and 9 more rows after this one with the same kind of problem" in output
    assert "punches.csv:53: direction: 'sideways' is not a direction" in output
    assert "and 4 more rows after this one" in output
    assert "punches.csv:58: timestamp: '2026-03-02T25:00:00+05:30' is not a valid date and time" in output


def test_an_unclosed_quote_is_named_on_the_line_where_it_opens(tmp_path: Path) -> None:
    punches = HEADER + GOOD + 'E1,"2026-03-02T18:00:00+05:30,GATE,out\n' + GOOD * 3

    code, output = _process(tmp_path, punches)

    assert code == 2
    assert 'punches.csv:3: a quoted value that starts on this line is never closed (a " missing?)' in output


def test_an_unclosed_quote_in_a_file_larger_than_a_block_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "BLOCK_SIZE", 1 << 16)
    path = tmp_path / "punches.csv"
    path.write_text(HEADER + GOOD + 'E1,"2026-03-02T18:00:00+05:30,GATE,out\n' + GOOD * 20_000)

    with pytest.raises(InputFileError) as refused:
        csvfile.read_csv_table(path, punchfile.REQUIRED, ["direction"])

    assert [(p.line, p.message) for p in refused.value.problems] == [
        (3, 'a quoted value that starts on this line is never closed (a " missing?): field larger than field '
         "limit (131072)"),
    ]  # fmt: skip


def test_rows_after_a_quoted_value_over_two_lines_keep_their_own_line_numbers(tmp_path: Path) -> None:
    punches = HEADER + GOOD + 'E1,2026-03-02T18:00:00+05:30,"GATE\nEAST",out\n' + "E1,noon,GATE,in\n"

    code, output = _process(tmp_path, punches)

    assert code == 2
    assert "punches.csv:5: timestamp: 'noon' is not an ISO-8601 date and time" in output


@pytest.mark.slow  # writes and reads a file of several MB
def test_a_large_file_of_garbage_lines_is_refused_without_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "BLOCK_SIZE", 1 << 16)
    path = tmp_path / "garbage.csv"
    lines = 300_000
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(lines):
            out.write(f"{n:07d},x{n % 97},{'y' * (n % 13)}" + ",z" * (n % 3 + 2) + "\n")  # 5 to 7 fields
    size = path.stat().st_size

    tracemalloc.start()
    try:
        with pytest.raises(InputFileError) as refused:
            csvfile.read_csv_table(path, punchfile.REQUIRED, ["direction"])
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refused.value.total == lines
    assert size > 6_000_000 and peak < size / 4, f"peak {peak} bytes of Python objects for a file of {size}"


def test_a_large_file_of_garbage_values_is_refused_without_holding_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfile, "BLOCK_SIZE", 1 << 16)
    path = tmp_path / "garbage.csv"
    rows = 400_000
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(rows):
            out.write(f"E{n},not-a-time-{n:07d},GATE-{n % 17},{'sideways' if n % 2 else 'in'}\n")
    size = path.stat().st_size
    peak = [0]

    def check(block: csvfile.CsvTable, tally: csvfile.ProblemTally) -> None:
        punchfile._row_problems(block, tally)
        peak[0] = max(peak[0], pa.total_allocated_bytes())

    with pytest.raises(InputFileError) as refused:
        csvfile.read_csv_table(path, punchfile.REQUIRED, ["direction"], check=check)

    assert refused.value.total == rows + rows // 2  # every timestamp, every second direction
    # Holding the rows would take more than the file's size (text, offsets); read ahead takes a few blocks.
    assert size > 12_000_000 and peak[0] < size / 4, f"peak {peak[0]} bytes of Arrow memory for a file of {size}"


# -- validate reads the inbox ------------------------------------------------------------------------


def test_validate_reports_what_the_next_sync_would_refuse_in_the_inbox(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    inbox = tmp_path / "inbox"
    (inbox / "garbage.csv").write_text(HEADER + "".join(f"E1,{n},GATE,in\n" for n in range(25)) + "\n")
    (inbox / "empty.csv").write_text("")
    (inbox / "latin1.csv").write_bytes((HEADER + GOOD.replace("GATE", "GÄTE")).encode("latin-1"))

    result = CliRunner().invoke(main, ["validate", "-c", str(config)])

    assert result.exit_code == 2, result.output
    assert "error: 27 problems (only the first of each kind are listed):" in result.output
    assert "inbox/empty.csv: the file is empty" in result.output
    assert "inbox/garbage.csv:2: timestamp: '0' is not an ISO-8601 date and time" in result.output
    assert "inbox/garbage.csv:22: timestamp: '20' is not an ISO-8601 date and time" in result.output
    assert "and 4 more rows after this one with the same kind of problem" in result.output
    assert "inbox/latin1.csv:2: is not UTF-8 text (save it as UTF-8 CSV)" in result.output


def test_validate_reads_only_the_inbox_files_the_next_sync_would_read(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    assert "1 inbox file(s) checked" in CliRunner().invoke(main, ["validate", "-c", str(config)]).output
    assert CliRunner().invoke(main, ["sync", "-c", str(config)]).exit_code == 0

    after_sync = CliRunner().invoke(main, ["validate", "-c", str(config)])
    (tmp_path / "inbox" / "late.csv").write_text(HEADER + GOOD)
    with_new_file = CliRunner().invoke(main, ["validate", "-c", str(config)])

    assert after_sync.exit_code == 0 and "0 inbox file(s) checked" in after_sync.output
    assert with_new_file.exit_code == 0 and "1 inbox file(s) checked" in with_new_file.output

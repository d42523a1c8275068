"""The punches file is read block by block, its ids and directions kept as codes: what a user sees
(the quarantine report's lines and texts as written) is the same whatever the block size, also when
a quoted value over two lines makes the reader go through the file a second time."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.jobs_helpers import write_setup

from punchbridge.cli import main
from punchbridge.config import csvfile

HEADER = "employee_id,timestamp,device_id,direction\n"


def _quarantine(folder: Path, punches: str) -> list[dict[str, str]]:
    config = write_setup(folder)
    (folder / "punches.csv").write_text(punches, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["process", "--rules", str(config), "--punches", str(folder / "punches.csv"),
         "--employees", str(folder / "employees.csv"), "--from", "2026-03-02", "--to", "2026-03-06",
         "--out", str(folder / "days.csv"), "--quarantine", str(folder / "held.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (folder / "held.csv").open(newline="", encoding="utf-8") as held:
        return list(csv.DictReader(held))


@pytest.mark.parametrize("block_size", [1 << 10, 1 << 22])
def test_values_over_two_lines_late_in_a_file_read_in_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_size: int
) -> None:
    monkeypatch.setattr(csvfile, "BLOCK_SIZE", block_size)
    devices = [f"GATE\nB{n}" if n >= 300 and n % 10 == 0 else f"D{n}" for n in range(600)]
    rows = [
        f'NOBODY{n % 7},2026-03-0{2 + n % 5}T10:00:00+05:30,"{device}",{"in" if n % 2 else ""}\n'
        for n, device in enumerate(devices)
    ]
    lines, line = [], 2
    for device in devices:
        lines.append(line)
        line += 1 + device.count("\n")

    held = _quarantine(tmp_path, HEADER + "".join(rows))

    # Each row once, though a value over two lines cut by a block's end makes the file be read twice.
    assert [int(row["line"]) for row in held] == lines
    assert [row["device_id"] for row in held] == devices
    assert [row["employee_id"] for row in held] == [f"NOBODY{n % 7}" for n in range(600)]
    assert [row["direction"] for row in held] == ["in" if n % 2 else "" for n in range(600)]
    assert [row["timestamp"] for row in held] == [f"2026-03-0{2 + n % 5}T10:00:00+05:30" for n in range(600)]
    assert {row["reason"] for row in held} == {"unknown_employee"}

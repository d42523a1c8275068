"""The `local_csv` target: one payroll file per batch plus its manifest, never doubled, never replaced."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from support.target_fixtures import attendance_batch, attendance_record

from punchbridge.plugin_api import Batch, FatalTargetError, TransientError
from punchbridge.plugins.csv_drop import LocalCsvTarget, render_csv

NAME = "attendance_2025-03-01_2025-03-31_0001.csv"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "payroll"
    path.mkdir()
    return path


def local_target(folder: Path, **settings: object) -> LocalCsvTarget:
    return LocalCsvTarget("payroll", {"folder": folder, **settings})


def test_push_writes_the_file_then_its_manifest_and_reports_every_record_as_delivered(
    folder: Path, batch: Batch
) -> None:
    outcomes = local_target(folder).push(batch)

    data = (folder / NAME).read_bytes()
    assert data == render_csv(batch)
    assert data.decode().splitlines()[0] == "employee_id,work_date,worked_hours,present,cost_centre,note"
    digest = hashlib.sha256(data).hexdigest()
    assert (folder / f"{NAME}.sha256").read_text() == f"{digest}  {NAME}\nrows: 3\n"
    assert [(o.key, o.ok, o.remote_id) for o in outcomes] == [(r.key, True, NAME) for r in batch.records]


def test_no_part_file_is_left_behind(folder: Path, batch: Batch) -> None:
    local_target(folder).push(batch)
    assert sorted(p.name for p in folder.iterdir()) == [NAME, f"{NAME}.sha256"]


def test_resending_the_same_batch_keeps_one_file_with_the_same_bytes_and_does_not_rewrite_it(
    folder: Path, batch: Batch
) -> None:
    target = local_target(folder)
    target.push(batch)
    first = (folder / NAME).stat()

    outcomes = local_target(folder).push(batch)

    assert sorted(p.name for p in folder.iterdir()) == [NAME, f"{NAME}.sha256"]
    again = (folder / NAME).stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert all(o.ok and o.remote_id == NAME for o in outcomes)


def test_a_resend_after_a_crash_before_the_manifest_adds_the_missing_manifest(folder: Path, batch: Batch) -> None:
    target = local_target(folder)
    target.push(batch)
    (folder / f"{NAME}.sha256").unlink()

    target.push(batch)

    assert (folder / f"{NAME}.sha256").read_text().endswith(f"  {NAME}\nrows: 3\n")


def test_a_different_file_under_the_same_name_is_refused_and_left_untouched(folder: Path, batch: Batch) -> None:
    foreign = b"employee_id,hours\nX,1\n"
    (folder / NAME).write_bytes(foreign)

    with pytest.raises(FatalTargetError, match="already exists with different content"):
        local_target(folder).push(batch)

    assert (folder / NAME).read_bytes() == foreign
    assert sorted(p.name for p in folder.iterdir()) == [NAME], "no manifest, no .part for a refused file"


def test_the_same_period_and_sequence_with_changed_records_is_refused(folder: Path, batch: Batch) -> None:
    local_target(folder).push(batch)
    changed = attendance_batch([attendance_record("E1001", 3, worked_hours=4.0)])
    with pytest.raises(FatalTargetError):
        local_target(folder).push(changed)
    assert (folder / NAME).read_bytes() == render_csv(batch)


def test_a_crash_between_part_and_rename_leaves_no_final_file_and_the_rerun_completes(
    folder: Path, batch: Batch, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TransientError):
        local_target(folder).push(batch)
    assert not (folder / NAME).exists()
    assert (folder / f"{NAME}.part").exists()
    monkeypatch.undo()

    local_target(folder).push(batch)

    assert (folder / NAME).read_bytes() == render_csv(batch)
    assert sorted(p.name for p in folder.iterdir()) == [NAME, f"{NAME}.sha256"]


def test_a_stray_partial_part_file_from_a_killed_run_is_replaced_by_the_rerun(folder: Path, batch: Batch) -> None:
    (folder / f"{NAME}.part").write_bytes(render_csv(batch)[:10])
    assert not (folder / NAME).exists()

    local_target(folder).push(batch)

    assert (folder / NAME).read_bytes() == render_csv(batch)
    assert not (folder / f"{NAME}.part").exists()


def test_escape_formulas_defuses_spreadsheet_formulas_in_the_file(folder: Path) -> None:
    batch = attendance_batch([attendance_record("E1", 3, note='=HYPERLINK("http://x")')])
    local_target(folder, escape_formulas=True).push(batch)
    assert (folder / NAME).read_text().splitlines()[1].endswith(',"\'=HYPERLINK(""http://x"")"')


def test_prefix_names_the_file(folder: Path, batch: Batch) -> None:
    local_target(folder, prefix="blr-payroll").push(batch)
    assert (folder / "blr-payroll_2025-03-01_2025-03-31_0001.csv").exists()


def test_a_missing_folder_is_fatal_and_is_not_created(tmp_path: Path, batch: Batch) -> None:
    missing = tmp_path / "unmounted-share"
    with pytest.raises(FatalTargetError, match="does not exist"):
        local_target(missing).push(batch)
    assert not missing.exists()


def test_a_record_missing_a_column_is_refused_and_the_others_land(folder: Path) -> None:
    incomplete = attendance_record("E2", 3)
    object.__setattr__(incomplete, "fields", {k: v for k, v in incomplete.fields.items() if k != "note"})
    outcomes = local_target(folder).push(attendance_batch([attendance_record("E1", 3), incomplete]))
    assert [(o.key, o.ok) for o in outcomes] == [("E1|2025-03-03|day", True), ("E2|2025-03-03|day", False)]
    assert (folder / f"{NAME}.sha256").read_text().endswith("rows: 1\n")


@pytest.mark.parametrize("prefix", ["../escape", "a/b", "", ".hidden"])
def test_a_prefix_that_is_not_a_plain_name_is_a_settings_error(folder: Path, prefix: str) -> None:
    with pytest.raises(ValidationError):
        local_target(folder, prefix=prefix)


def test_local_csv_is_registered_through_the_punchbridge_entry_point() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="punchbridge") if e.name == "local_csv"]
    registered: dict[str, type] = {}
    entry.load().register_targets(register=registered.__setitem__)
    assert registered == {"local_csv": LocalCsvTarget}
    assert LocalCsvTarget.max_batch_size == 50_000


def test_missing_folder_is_created_only_when_configured(tmp_path: Path) -> None:
    from datetime import date

    from punchbridge.plugin_api import Record

    batch = Batch(
        "t", 1, date(2025, 10, 1), date(2025, 10, 31), 1, [Record("E1|2025-10-01|day", {"a": 1}, "h")], ("a",)
    )
    refusing = LocalCsvTarget("t", {"folder": tmp_path / "absent"})
    with pytest.raises(FatalTargetError, match="does not exist"):
        refusing.push(batch)
    creating = LocalCsvTarget("t", {"folder": tmp_path / "absent", "create_folder": True})
    (outcome,) = creating.push(batch)
    assert outcome.ok and (tmp_path / "absent" / outcome.remote_id).exists()


def test_validate_online_says_whether_the_payroll_folder_can_be_written(tmp_path: Path) -> None:
    missing = LocalCsvTarget("payroll", {"folder": str(tmp_path / "share")}).check_online()
    later = LocalCsvTarget("payroll", {"folder": str(tmp_path / "share"), "create_folder": True}).check_online()
    (tmp_path / "share").mkdir()
    ready = LocalCsvTarget("payroll", {"folder": str(tmp_path / "share")}).check_online()

    assert [(c.what, c.ok) for c in missing] == [("folder", False)] and "does not exist" in (missing[0].message or "")
    assert [(c.what, c.ok) for c in later] == [("folder", True)] and "creates it" in (later[0].message or "")
    assert [(c.what, c.ok) for c in ready] == [("folder", True)] and "writable" in (ready[0].message or "")

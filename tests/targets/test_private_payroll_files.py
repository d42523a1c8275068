"""Payroll CSV files and their manifests are private on disk, locally and over SFTP: created 0600, or
0640 for the group named by the target's `file_group`."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from support.target_fixtures import LoopbackServer, attendance_batch, sftp_settings

from punchbridge.plugins.csv_drop import LocalCsvTarget
from punchbridge.plugins.sftp_csv import SftpCsvTarget

NAME = "attendance_2025-03-01_2025-03-31_0001.csv"


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The umask most servers run with (022): new files would be readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def my_group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


def test_payroll_files_and_manifests_dropped_locally_are_private(tmp_path: Path) -> None:
    target = LocalCsvTarget("payroll", {"folder": tmp_path})
    target.push(attendance_batch())

    assert mode(tmp_path / NAME) == 0o600
    assert mode(tmp_path / f"{NAME}.sha256") == 0o600


def test_with_a_file_group_the_payroll_files_are_readable_by_that_group(tmp_path: Path) -> None:
    target = LocalCsvTarget("payroll", {"folder": tmp_path, "file_group": my_group()})
    target.push(attendance_batch())

    for name in (NAME, f"{NAME}.sha256"):
        assert mode(tmp_path / name) == 0o640
        assert (tmp_path / name).stat().st_gid == os.getgid()


def test_a_file_group_this_machine_does_not_have_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="there is no group named 'no-such-payroll-group'"):
        LocalCsvTarget("payroll", {"folder": tmp_path, "file_group": "no-such-payroll-group"})


def test_payroll_files_uploaded_over_sftp_are_private(server: LoopbackServer, known_hosts: Path) -> None:
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts))
    target.open()
    try:
        target.push(attendance_batch())
    finally:
        target.close()

    drop = server.root / "drop"
    assert mode(drop / NAME) == 0o600
    assert mode(drop / f"{NAME}.sha256") == 0o600


def test_over_sftp_a_file_group_makes_them_readable_by_that_group(server: LoopbackServer, known_hosts: Path) -> None:
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts, file_group=os.getgid()))
    target.open()
    try:
        target.push(attendance_batch())
    finally:
        target.close()

    drop = server.root / "drop"
    assert mode(drop / NAME) == 0o640 and (drop / NAME).stat().st_gid == os.getgid()

"""The file targets pass the conformance kit every target plugin must pass."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.target_fixtures import sftp_settings

from punchbridge.testing.conformance import TargetConformance


def _files_in_order(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.csv"))


def _current_view(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    """What payroll holds: every file in sequence order, a later row replacing an earlier one."""
    held: dict[tuple[str, str], dict[str, str]] = {}
    for path in _files_in_order(folder):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                held[(row["employee"], row["date"])] = row
    return held


def _rows_written(folder: Path) -> int:
    return sum(max(0, len(path.read_text().splitlines()) - 1) for path in _files_in_order(folder))


class TestLocalCsvConformance(TargetConformance):
    plugin = "local_csv"

    @pytest.fixture
    def target_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {"folder": tmp_path / "payroll", "create_folder": True}

    @pytest.fixture
    def read_back(self, tmp_path: Path) -> Callable[[], dict[Any, Any]]:
        return lambda: _current_view(tmp_path / "payroll")

    @pytest.fixture
    def deliveries(self, tmp_path: Path) -> Callable[[], int]:
        return lambda: _rows_written(tmp_path / "payroll")


class TestSftpCsvConformance(TargetConformance):
    plugin = "sftp_csv"

    @pytest.fixture
    def target_settings(self, asyncssh_server: Any, tmp_path: Path) -> dict[str, Any]:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(asyncssh_server.host_key_line + "\n", encoding="ascii")
        return sftp_settings(asyncssh_server, known_hosts)

    @pytest.fixture
    def read_back(self, tmp_path: Path) -> Callable[[], dict[Any, Any]]:
        return lambda: _current_view(tmp_path / "remote" / "drop")

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"username": "not-the-user"}

    @pytest.fixture
    def deliveries(self, tmp_path: Path) -> Callable[[], int]:
        return lambda: _rows_written(tmp_path / "remote" / "drop")

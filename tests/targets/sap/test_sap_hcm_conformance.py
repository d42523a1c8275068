"""The `sap_hcm` target passes the conformance kit against a real SFTP server (asyncssh, on loopback).

What SAP holds is read as SAP would hold it: the events of every file posted (nothing replaces a day),
less the events the corrections files list for the operator to cancel.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.target_fixtures import sftp_settings

from punchbridge.testing.conformance import TargetConformance


def _groups(path: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """One file's events by (PERNR, LDATE): (LTIME, SATZA) in file order."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault((row["PERNR"], row["LDATE"]), []).append((row["LTIME"], row["SATZA"]))
    return groups


def held_by_sap(folder: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """SAP's view: every file's events posted in name (= sequence) order, the corrections applied."""
    held: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for path in sorted(folder.glob("timeevents_*.csv")):
        for day, events in _groups(path).items():
            held.setdefault(day, set()).update(events)
    for path in sorted(folder.glob("timeevents-corrections_*.csv")):
        for day, events in _groups(path).items():
            held[day] -= set(events)
    return {day: sorted(events) for day, events in held.items() if events}


def day_writes(folder: Path) -> int:
    """Employee-days written, over every file (a resent day counts again)."""
    return sum(len(_groups(path)) for path in sorted(folder.glob("timeevents_*.csv")))


class TestSapHcmConformance(TargetConformance):
    plugin = "sap_hcm"
    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "intervals", "from": "intervals"},
    ]

    @pytest.fixture
    def target_settings(self, asyncssh_server: Any, tmp_path: Path) -> dict[str, Any]:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(asyncssh_server.host_key_line + "\n", encoding="ascii")
        return sftp_settings(asyncssh_server, known_hosts)

    @pytest.fixture
    def read_back(self, tmp_path: Path) -> Callable[[], dict[Any, Any]]:
        return lambda: held_by_sap(tmp_path / "remote" / "drop")

    @pytest.fixture
    def deliveries(self, tmp_path: Path) -> Callable[[], int]:
        return lambda: day_writes(tmp_path / "remote" / "drop")

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"username": "not-the-user"}


class TestSapHcmFirstLastConformance(TestSapHcmConformance):
    """The same with first in and last out only (P10 and P20 a day)."""

    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "check_in", "from": "first_in"},
        {"name": "check_out", "from": "last_out"},
    ]

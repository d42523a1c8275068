"""config/demo-minop.yaml against the emulator gives the same payroll file as config/demo.yaml."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.demo_copy import copy_config
from support.minop_kit import invoke

from punchbridge.testing.emulators.minop import MinopEmulator, RateLimits
from punchbridge.testing.http import serve

REPO = Path(__file__).resolve().parents[2]


def test_the_minop_demo_delivers_what_the_csv_demo_delivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    copy_config(tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    emulator = MinopEmulator(api_keys={"demo-minop-api-key": frozenset({"read:raw"})}, limits=RateLimits.lifted())
    with (tmp_path / "config/demo/month/inbox/punches-2025-10.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    emulator.add_raw_punches(
        {"employee_id": row["employee_id"], "device_id": row["device_id"], "timestamp": row["timestamp"],
         "updated_at": datetime.fromisoformat(row["timestamp"]) + timedelta(minutes=3)}
        for row in rows
    )  # fmt: skip
    with serve(emulator.app) as server:
        config = tmp_path / "config" / "demo-minop.yaml"
        config.write_text(config.read_text().replace("http://127.0.0.1:8765", server.url))
        pulled = invoke("sync", "-c", config)
        assert pulled.exit_code == 0, pulled.output
    assert invoke("sync", "-c", tmp_path / "config" / "demo.yaml").exit_code == 0
    (from_cloud,) = sorted((tmp_path / "demo-minop-payroll").glob("attendance_*.csv"))
    (from_folder,) = sorted((tmp_path / "demo-payroll").glob("attendance_*.csv"))
    assert from_cloud.read_bytes() == from_folder.read_bytes()
    assert emulator.served("raw") == len(emulator.raw)

"""End to end: `punchbridge emulate minop --push-to URL` drives the real `punchbridge serve`, both as processes.

The emulated terminals push in both shapes to `POST /push` with their device in the query (`?stgid=`),
and with `--trouble` one goes offline and comes back, one punch is sent twice (a lost reply), two are
stamped 2000-01-01 (a clock reset) and one carries an invisible character in its user id. Afterwards
the store holds every punch the cloud holds exactly once, the clock-reset and the malformed punches are
in the quarantine (acknowledged, so no terminal is stuck behind them), and every terminal's queue is
empty.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from punchbridge.store import Store

PUNCHBRIDGE = [sys.executable, "-c", "from punchbridge.cli import main; main()"]
PUNCHES = 40
DEVICES = ("device001", "device002")
API_KEY = {"X-API-Key": "demo-minop-api-key"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _running(command: list[str], log: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """A child process, stopped with SIGTERM at the end (killed if it does not stop)."""
    out = log.open("w") if log is not None else subprocess.PIPE
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
        if log is not None:
            out.close()  # type: ignore[union-attr]


def _lines_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """The process's output up to the first line with `marker` (fails on a timeout or an early exit)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {seconds} s; got:\n{''.join(seen)}") from None
        if line is None:
            raise AssertionError(f"the process ended before {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return "".join(seen)


def _config(folder: Path, port: int) -> Path:
    (folder / "employees.csv").write_text(
        "employee_id,site,shift\n" + "".join(f"E{n:04d},blr,general\n" for n in range(1, 21))
    )
    path = folder / "serve.yaml"
    path.write_text(
        "\n".join(
            [
                f"store: sqlite:///{folder / 'store.db'}",
                "employees: employees.csv",
                "sites: {blr: {timezone: Asia/Kolkata}}",
                'shifts: {general: {start: "09:00", end: "18:00"}}',
                "devices:",
                *(f"  {name}: {{site: blr, push_token: demo-{name}-push}}" for name in DEVICES),
                f"receiver: {{port: {port}}}",
            ]
        )
        + "\n"
    )
    return path


def _wait_until_listening(port: int, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-2000:]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError("punchbridge serve did not start")


def _cloud_punches(url: str) -> list[dict[str, str]]:
    """Every raw record the emulated cloud holds (what the terminals forwarded)."""
    records: list[dict[str, str]] = []
    params = {"limit": "1000"}
    with httpx.Client(base_url=url, headers=API_KEY, timeout=10) as client:
        while True:
            page = client.get("/v1/attendance/raw", params=params).json()
            records += page["data"]
            if not page["next_cursor"]:
                return records
            params["cursor"] = page["next_cursor"]


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_emulated_terminals_with_trouble_leave_every_punch_stored_once_and_none_stuck(tmp_path: Path) -> None:
    port = _free_port()
    config = _config(tmp_path, port)
    serve_log = tmp_path / "serve.log"
    emulate = [
        *PUNCHBRIDGE, "emulate", "minop", "--port", "0", "--devices", str(len(DEVICES)),
        "--push-to", f"http://127.0.0.1:{port}/push", "--shape", "mixed",
        "--punches", str(PUNCHES), "--interval", "0.05", "--trouble",
    ]  # fmt: skip
    with _running([*PUNCHBRIDGE, "serve", "-c", str(config)], serve_log) as receiver:
        _wait_until_listening(port, receiver, serve_log)
        with _running(emulate) as emulator:
            printed = _lines_until(emulator, "every terminal's queue is empty", seconds=180)
            found = re.search(r"running at (http://127\.0\.0\.1:\d+)", printed)
            assert found, printed
            cloud = _cloud_punches(found.group(1))
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    assert f"live scans done: {PUNCHES} punches" in printed
    assert "offline and back: device001; sent twice: 1; clock reset: 2; malformed: 1" in printed
    assert len(cloud) == PUNCHES  # the offline terminal forwarded what it kept when it was back

    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        punches = store.punches_after(0)
        held = store.quarantine_rows()

    def identity(record: dict[str, str]) -> tuple[str, str, pd.Timestamp]:
        return record["device_id"], record["employee_id"], pd.Timestamp(record["timestamp"])

    usable = [r for r in cloud if r["employee_id"].isalnum() and r["timestamp"] >= "2020"]
    assert len(usable) == PUNCHES - 3
    stored = Counter(zip(punches["device_id"], punches["employee_id"], punches["instant"], strict=True))
    assert set(stored) == {identity(r) for r in usable}  # every punch the cloud holds ...
    assert max(stored.values()) == 1  # ... stored exactly once, the one sent twice too
    assert set(punches["source"]) == {"receiver:push"}

    assert sorted(held["reason"]) == ["implausible_timestamp", "implausible_timestamp", "malformed_record"]
    malformed = held[held["reason"] == "malformed_record"].iloc[0]
    assert malformed["employee_id"] == "E0009\u200b" and "is not an identifier" in malformed["detail"]
    assert json.loads(malformed["raw"])["UserID"] == "E0009\u200b"  # the body as the terminal sent it
    reset = held[held["reason"] == "implausible_timestamp"]
    assert all(text.startswith("2000-01-01") for text in reset["timestamp"])
    assert set(reset["device_id"]) == set(DEVICES)  # both shapes: device002 pushes nested, to ?stgid=

    duplicates = re.search(r"^punchbridge_receiver_pushes_duplicate_total (\S+)$", metrics, re.MULTILINE)
    assert duplicates and float(duplicates.group(1)) >= 1  # the punch sent twice (more if a reply was slow)
    assert 'punchbridge_receiver_pushes_acknowledged_total{outcome="quarantined"} 3.0' in metrics
    assert "punchbridge_receiver_pushes_rejected_total{" not in metrics  # nothing refused: nothing stuck

"""`punchbridge emulate minop` runs in the foreground, prints how to use it, serves, and stops cleanly."""

from __future__ import annotations

import queue
import re
import shutil
import signal
import subprocess
import sys
import threading

import httpx


def lines_until(process: subprocess.Popen, marker: str, seconds: float = 60.0) -> str:
    """The process's output up to and including the first line containing `marker` (fails on a timeout or
    an exit, instead of blocking the test run)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=seconds)
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {seconds} s; got {seen}") from None
        seen.append(line)
        if marker in line:
            return "".join(seen)


def _start_emulator(tmp_path, *, ctrl_c: bool = False) -> subprocess.Popen:
    seed = tmp_path / "punches.csv"
    seed.write_text(
        "employee_id,timestamp,device_id\n"
        "E0001,2025-10-01T09:01:00+05:30,BLR-GATE-1\n"
        "E0002,2025-10-01T18:02:00+05:30,BLR-GATE-1\n"
        "E0003,not a time,BLR-GATE-1\n"
    )
    exe = shutil.which("punchbridge") or sys.executable
    command = [exe] if exe.endswith("punchbridge") else [exe, "-m", "punchbridge"]
    # A test suite started in the background (`pytest &`) ignores SIGINT, and so would the child: for
    # the Ctrl-C case, the child gets the default SIGINT back before it starts.
    restore = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if ctrl_c else None
    return subprocess.Popen(
        [*command, "emulate", "minop", "--port", "0", "--devices", "3", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore,
    )


def _stop(process: subprocess.Popen, how: signal.Signals) -> str:
    """Send `how`, wait for a clean exit; never leave the emulator running, whatever happened."""
    try:
        process.send_signal(how)
        process.wait(timeout=20)  # stdout is drained by the reader thread; stderr is small
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)
    return process.stderr.read() if process.stderr else ""


def test_emulate_minop_serves_the_seeded_punches_until_stopped(tmp_path):
    process = _start_emulator(tmp_path)
    try:
        printed = lines_until(process, "device003: {site")
        match = re.search(r"running at (http://127\.0\.0\.1:\d+)", printed)
        assert match, printed
        url = match.group(1)
        assert "demo-device003-auth" in printed
        # The demo sites: device003 stands in Berlin, as config/demo-employees.yaml has it.
        assert "device001: {site: blr," in printed and "device003: {site: ber," in printed
        assert f"base_url: {url}" in printed and "api_key: ${MINOP_API_KEY:-demo-minop-api-key}" in printed
        assert httpx.get(url + "/health", timeout=10).json()["devices"] == ["device001", "device002", "device003"]
        raw = httpx.get(url + "/v1/attendance/raw", headers={"X-API-Key": "demo-minop-api-key"}, timeout=10)
        assert sorted(r["employee_id"] for r in raw.json()["data"]) == ["E0001", "E0002"]
        assert raw.json()["data"][0]["timestamp"] == "2025-10-01T03:31:00Z"
        days = httpx.get(
            url + "/v1/attendance/processed",
            params={"from": "2025-10-01", "to": "2025-10-01"},
            headers={"X-API-Key": "demo-minop-api-key"},
            timeout=10,
        )
        # The cloud's processing of the seed: `processing: cloud` can be tried against the emulator.
        assert sorted((d["employee_id"], d["status"]) for d in days.json()["data"]) == [
            ("E0001", "half_day"), ("E0002", "half_day")
        ]  # fmt: skip
        assert days.json()["timezone"] == "Asia/Kolkata"
        assert "processed days served: 2" in printed
    finally:
        err = _stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert "skipped 1 row(s)" in err and "stopped" in err


def test_emulate_minop_stops_cleanly_on_ctrl_c(tmp_path):
    process = _start_emulator(tmp_path, ctrl_c=True)
    try:
        lines_until(process, "device003: {site")
    finally:
        err = _stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err


def test_emulate_minop_names_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "punchbridge", "emulate", "minop", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert "--port" in done.stderr and f"127.0.0.1:{port}" in done.stderr

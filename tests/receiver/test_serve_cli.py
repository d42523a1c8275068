"""`punchbridge serve`: configuration errors, listening where asked, clean stops, logs without secrets."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchbridge.cli import main
from punchbridge.store import Store

TOKEN = "cli-token-93f0"
SECRET = "cli-webhook-secret-value"
SERVE = [sys.executable, "-c", "from punchbridge.cli import main; main()", "serve"]


def write_config(folder: Path, **extra: str) -> Path:
    lines = [
        f"store: sqlite:///{folder / 'store.db'}",
        "employees: employees.csv",
        "sites: {blr: {timezone: Asia/Kolkata}}",
        'shifts: {general: {start: "09:00", end: "18:00"}}',
        f"devices: {{gate-1: {{site: {extra.get('site', 'blr')}, push_token: {TOKEN}}}}}",
        f"receiver: {{webhook_secrets: [{SECRET}], port: {extra.get('port', 8080)}}}",
    ]
    (folder / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\n")  # every command checks it
    path = folder / "punchbridge.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "punchbridge serve exited early"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise AssertionError("punchbridge serve did not start listening")


def _push(port: int, token: str) -> int:
    body = {"stgid": "gate-1", "UserID": "7", "LogTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/push?token={token}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_configuration_problem_is_reported_with_file_and_field_and_exit_code_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, site="nowhere")

    result = CliRunner().invoke(main, ["serve", "-c", str(config)])

    assert result.exit_code == 2
    assert str(config) in result.output
    assert "site 'nowhere'" in result.output
    assert not (tmp_path / "store.db").exists()  # nothing opened before the configuration is right


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_listens_where_asked_stores_pushes_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    port = _free_port()
    config = write_config(tmp_path, port=str(_free_port()))  # --port wins over receiver.port
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([*SERVE, "-c", str(config), "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=sink, stderr=sink)  # fmt: skip
    try:
        _wait_listening(process, port)
        assert _push(port, TOKEN) == 200
        assert _push(port, "wrong-token-for-the-log") == 401
    finally:
        process.send_signal(stop)
        code = process.wait(30)

    assert code == 0
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert "push refused (bad_token) from device gate-1" in text
    for secret in (TOKEN, "wrong-token-for-the-log", SECRET):
        assert secret not in text
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.punch_count() == 1


def test_a_port_already_taken_is_reported_and_the_exit_code_is_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path)
        result = subprocess.run(
            [*SERVE, "-c", str(config), "--port", str(port)], capture_output=True, text=True, timeout=60
        )

    assert result.returncode == 1
    assert "address already in use" in result.stderr.lower()
    assert "the receiver could not start" in result.stderr


def test_serve_is_documented_in_its_help() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])

    assert result.exit_code == 0
    for option in ("--config", "--host", "--port"):
        assert option in result.output

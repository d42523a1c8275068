"""Durability: a terminal's `ok` means the punch is stored, even when the receiver is killed at any moment.

`punchbridge serve` runs as a real process on a SQLite store. A sender behaves like terminals do
(store-and-forward): it keeps every punch until its `ok` arrives and sends unacknowledged ones again.
The receiver is killed with SIGKILL three times at random points and restarted. After each kill,
every punch acknowledged so far must be in the store; at the end every punch has been acknowledged
and is stored exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from punchbridge.store import Store

PUSHES = 5000
SENDERS = 24
TOKEN = "durable-token-5e1"
SERVE = [sys.executable, "-c", "from punchbridge.cli import main; main()", "serve"]

Punch = tuple[str, str, str]  # (device, employee, LogTime)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """`punchbridge serve` as a child process that the test kills and restarts."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.command = [*SERVE, "-c", str(config), "--port", str(port)]
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise AssertionError("punchbridge serve did not start listening")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


class Terminal:
    """Keeps each punch until it is acknowledged; sends the rest again and again (store-and-forward)."""

    def __init__(self, port: int, punches: list[Punch]) -> None:
        self.port = port
        self.pending: deque[Punch] = deque(punches)
        self.in_flight = 0
        self.acknowledged: list[Punch] = []

    @property
    def done(self) -> bool:
        return not self.pending and self.in_flight == 0

    async def run_sender(self) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while not self.done:
            if not self.pending:
                await asyncio.sleep(0.01)
                continue
            punch = self.pending.popleft()
            self.in_flight += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                assert reader is not None
                acknowledged = await self._send(reader, writer, punch)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                acknowledged = False
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
            finally:
                self.in_flight -= 1
            if acknowledged:
                self.acknowledged.append(punch)
            else:
                self.pending.append(punch)  # kept, sent again later
        if writer is not None:
            writer.close()

    @staticmethod
    async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, punch: Punch) -> bool:
        device, employee, log_time = punch
        body = json.dumps({"stgid": device, "UserID": employee, "LogTime": log_time, "Type": "1"}).encode()
        writer.write(
            f"POST /push?token={TOKEN} HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        reply = await asyncio.wait_for(reader.readexactly(length), 10)
        return head.startswith(b"HTTP/1.1 200") and reply == b"ok"


def _stored(store_url: str) -> set[tuple[str, str, pd.Timestamp]]:
    with Store.open(store_url) as store:
        frame = store.punches_after(0)
    assert not frame.duplicated(["device_id", "employee_id", "instant"]).any()
    return set(zip(frame["device_id"], frame["employee_id"], frame["instant"], strict=True))


def _identity(punch: Punch) -> tuple[str, str, pd.Timestamp]:
    return punch[0], punch[1], pd.Timestamp(punch[2])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals (SIGKILL)")
def test_every_acknowledged_punch_survives_sigkill_and_is_stored_exactly_once(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "punchbridge.yaml"
    (tmp_path / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\n")  # every command checks it
    config.write_text(
        "\n".join(
            [
                f"store: {store_url}",
                "employees: employees.csv",
                "sites: {blr: {timezone: Asia/Kolkata}}",
                'shifts: {general: {start: "09:00", end: "18:00"}}',
                "devices:",
                *(f"  gate-{i}: {{site: blr, push_token: {TOKEN}}}" for i in range(4)),
            ]
        )
        + "\n"
    )
    start = datetime.now(UTC) - timedelta(hours=3)
    punches = [
        (f"gate-{i % 4}", f"E{i % 700:04d}", (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for i in range(PUSHES)
    ]
    chance = random.Random(os.environ.get("PYTEST_SEED", "durability"))
    kill_at = sorted(chance.sample(range(400, PUSHES - 400), 3))
    receiver = Receiver(config, _free_port(), tmp_path / "serve.log")
    terminal = Terminal(receiver.port, punches)
    checked_after_kills: list[int] = []

    async def kill_three_times() -> None:
        for threshold in kill_at:
            while len(terminal.acknowledged) < threshold:
                await asyncio.sleep(0.002)
            await asyncio.to_thread(receiver.kill)
            await asyncio.sleep(0.1)  # replies already on the wire may still be read: they count too
            acknowledged = [_identity(p) for p in terminal.acknowledged]
            stored = await asyncio.to_thread(_stored, store_url)
            missing = [p for p in acknowledged if p not in stored]
            assert not missing, f"{len(missing)} acknowledged punch(es) lost by the kill at {threshold}"
            checked_after_kills.append(len(acknowledged))
            await asyncio.to_thread(receiver.start)

    async def scenario() -> None:
        await asyncio.gather(kill_three_times(), *(terminal.run_sender() for _ in range(SENDERS)))

    receiver.start()
    try:
        asyncio.run(asyncio.wait_for(scenario(), 240))
    finally:
        exit_code = receiver.stop()

    assert exit_code == 0, receiver.log.read_text()[-2000:]  # SIGTERM: a clean shutdown
    assert "Application shutdown complete" in receiver.log.read_text()
    assert len(checked_after_kills) == 3
    assert sorted(terminal.acknowledged) == sorted(punches)  # every punch acknowledged in the end ...
    assert _stored(store_url) == {_identity(p) for p in punches}  # ... and stored exactly once

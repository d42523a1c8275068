"""Benchmark the receiver: acknowledged pushes per second with durable commits, and their latency.

    python bench/bench_receiver.py                          # 20,000 pushes over 64 connections
    python bench/bench_receiver.py --pushes 50000 --connections 128 --shape nested

Starts `punchbridge serve` (a real subprocess, SQLite store in WAL mode with synchronous=FULL, as
shipped) on a free loopback port, and sends flat pushes from a load generator on the same machine:
asyncio, N keep-alive HTTP/1.1 connections, each sending its next push as soon as the previous one is
answered. A push counts when its reply is `ok` (200), which the receiver sends only after the
transaction holding it committed. Afterwards the store is opened and must hold every push exactly
once. Prints pushes/s, p50/p99/max latency, the receiver's commit batch sizes and the CPU time per
push of the receiver and of the load generator (which tells what the figures cost when other work
shares the machine), and writes them to bench/out/receiver-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TOKEN = "bench-token"
#: `punchbridge serve` with this interpreter (`python -m punchbridge.cli` would run the module twice).
SERVE = [sys.executable, "-c", "from punchbridge.cli import main; main()", "serve"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, devices: int) -> Path:
    """A configuration with one site, `devices` terminals and a SQLite store in `folder`."""
    lines = [
        f"store: sqlite:///{folder / 'store.db'}",
        "employees: employees.csv",
        "sites: {blr: {timezone: Asia/Kolkata}}",
        'shifts: {general: {start: "09:00", end: "18:00"}}',
        "devices:",
        *(f"  GATE-{i}: {{site: blr, push_token: {TOKEN}}}" for i in range(devices)),
    ]
    path = folder / "punchbridge.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def push_bodies(count: int, devices: int, shape: str) -> list[bytes]:
    """`count` distinct punches of the last hours (UTC offsets), as request bodies."""
    start = datetime.now(UTC) - timedelta(hours=6)
    bodies = []
    for i in range(count):
        moment = (start + timedelta(milliseconds=i * 500)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        device, employee = f"GATE-{i % devices}", f"E{i % 5000:05d}"
        if shape == "flat":
            record = {"stgid": device, "UserID": employee, "LogTime": moment, "Type": "1", "Status": i % 2}
        else:
            record = {"stgid": device, "RealTime": {"PunchLog": {"UserId": employee, "LogTime": moment, "Type": "0"}}}
        bodies.append(json.dumps(record).encode())
    return bodies


async def _connection(port: int, bodies: list[bytes], latencies: list[float], failures: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            request = (
                f"POST /push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            reply = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or reply not in (b"ok", b'{"status": "1"}'):
                failures.append(f"{head.splitlines()[0].decode()} {reply[:200]!r}")
    finally:
        writer.close()


async def load(port: int, bodies: list[bytes], connections: int) -> tuple[float, list[float], list[str]]:
    """Send every body over `connections` connections; (seconds, latencies, failures)."""
    latencies: list[float] = []
    failures: list[str] = []
    shares = [bodies[i::connections] for i in range(connections)]
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, share, latencies, failures) for share in shares))
    return time.perf_counter() - started, latencies, failures


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"punchbridge serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("punchbridge serve did not start listening")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _batch_sizes(port: int) -> tuple[float, float]:
    """(commits, writes committed) from the receiver's metrics."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := sock.recv(65536):
            text += chunk
    found = {}
    for line in text.decode().splitlines():
        for name in ("punchbridge_receiver_commit_batch_size_count", "punchbridge_receiver_commit_batch_size_sum"):
            if line.startswith(name + " "):
                found[name] = float(line.split()[1])
    return found.get("punchbridge_receiver_commit_batch_size_count", 0.0), found.get(
        "punchbridge_receiver_commit_batch_size_sum", 0.0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--shape", choices=["flat", "nested"], default="flat")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as scratch:
        folder = Path(scratch)
        config = write_config(folder, args.devices)
        port = _free_port()
        bodies = push_bodies(args.pushes, args.devices, args.shape)
        command = [*SERVE, "-c", str(config), "--port", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_for(port, process)
            asyncio.run(load(port, bodies[:500], min(args.connections, 16)))  # warm-up (not counted)
            server_before, client_before = _cpu_seconds(process.pid), time.process_time()
            seconds, latencies, failures = asyncio.run(load(port, bodies[500:], args.connections))
            server_after, client_cpu = _cpu_seconds(process.pid), time.process_time() - client_before
            commits, committed = _batch_sizes(port)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        sys.path.insert(0, str(HERE.parent))
        from punchbridge.store import Store

        with Store.open(f"sqlite:///{folder / 'store.db'}") as store:
            stored = store.punch_count()

    sent = len(bodies) - 500
    result = {
        "pushes": sent,
        "connections": args.connections,
        "shape": args.shape,
        "seconds": round(seconds, 3),
        "acknowledged_per_second": round((sent - len(failures)) / seconds, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "failures": len(failures),
        "stored": stored,
        "mean_commit_batch": round(committed / commits, 1) if commits else None,
        # CPU time per push: what the figures above cost, whatever else the machine was doing.
        "server_cpu_us_per_push": (
            round((server_after - server_before) / sent * 1e6, 1)
            if server_before is not None and server_after is not None
            else None
        ),
        "load_generator_cpu_us_per_push": round(client_cpu / sent * 1e6, 1),
        "cpus": os.cpu_count(),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    for failure in failures[:5]:
        print("failure:", failure, file=sys.stderr)
    OUT.mkdir(exist_ok=True)
    (OUT / "receiver-results.json").write_text(json.dumps(result, indent=2) + "\n")
    if stored != len(bodies) or failures:
        sys.exit(f"expected {len(bodies)} punches stored once and no failures; stored {stored}, {len(failures)} failed")


if __name__ == "__main__":
    main()

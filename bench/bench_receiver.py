"""Benchmark the receiver: durable pushes per second and their latency, beside one commit per push.

    python bench/bench_receiver.py                          # 64 connections, 10 s each run, with wrk
    python bench/bench_receiver.py --seconds 30 --connections 128 --port 8099
    python bench/bench_receiver.py --generator python --pushes 20000 --shape nested

Runs `punchbridge serve` (a real subprocess, SQLite store in WAL mode with synchronous=FULL, as
shipped) twice in the same run, each on a fresh store: first as the baseline, one SQLite commit per
push (`receiver.max_writes_per_commit: 1`), then as shipped (group commit). The load generator is
`wrk` (compiled, so the client is not the limit; `bench/wrk_push.lua` makes every request a distinct
flat push) over N keep-alive connections, each sending its next push as soon as the previous one is
answered; without wrk, or with `--generator python`, an asyncio generator sends a fixed number of
pushes. A push counts when its reply is 200, which the receiver sends only after the transaction
holding it committed; afterwards the store must hold every acknowledged push, once. Prints, for each
run, pushes/s, p50/p99/max latency, the commit batch size, the receiver's CPU time per push and the
load average around it (other work on the machine shows there), and the ratio of the two runs;
writes them to bench/out/receiver-results.json.

A third run (skip it with `--no-ceiling`) measures the ceiling of the serving stack on this machine:
the same uvicorn settings serving an ASGI app that reads each push and answers 200 without looking at
it or storing it. No receiver can be faster than that on the same stack, so it bounds the ratio any
store-side change can reach.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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


WRK_SCRIPT = HERE / "wrk_push.lua"


def write_config(folder: Path, devices: int, writes_per_commit: int | None = None) -> Path:
    """A configuration with one site, `devices` terminals and a SQLite store in `folder`;
    `writes_per_commit` caps the receiver's commits (1: the one-commit-per-push baseline)."""
    lines = [
        f"store: sqlite:///{folder / 'store.db'}",
        "employees: employees.csv",
        "sites: {blr: {timezone: Asia/Kolkata}}",
        'shifts: {general: {start: "09:00", end: "18:00"}}',
        "devices:",
        *(f"  GATE-{i}: {{site: blr, push_token: {TOKEN}}}" for i in range(devices)),
        *([f"receiver: {{max_writes_per_commit: {writes_per_commit}}}"] if writes_per_commit else []),
    ]
    (folder / "employees.csv").write_text("employee_id,site,shift\nE00000,blr,general\n")  # the config names it
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


def run_wrk(port: int, seconds: int, connections: int, threads: int, devices: int, run: int) -> dict[str, int]:
    """One wrk run against `punchbridge serve` on `port`: the counts and latencies `wrk_push.lua` reports."""
    environment = {**os.environ, "PUSH_TOKEN": TOKEN, "PUSH_DEVICES": str(devices), "PUSH_RUN": str(run)}
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}/push",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
    return dict(json.loads(line.removeprefix("WRK ")))


#: The ceiling's app: uvicorn with `punchbridge serve`'s settings, an app that reads the body and answers.
CEILING_APP = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), lifespan="off", access_log=False,
            log_level="warning", server_header=False, proxy_headers=False)
"""


def measure_ceiling(args: argparse.Namespace) -> dict[str, object]:
    """The serving stack alone (wrk only): pushes answered per second with nothing parsed or stored."""
    port = args.port or _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", CEILING_APP, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_for(port, process)
        run_wrk(port, 1, min(args.connections, 16), 1, args.devices, run=0)  # warm-up, not counted
        before = _cpu_seconds(process.pid)
        found = run_wrk(port, args.seconds, args.connections, args.threads, args.devices, run=1)
        after = _cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    answered = found["requests"] - found["status_errors"]
    seconds = found["duration_us"] / 1e6
    return {
        "answered_per_second": round(answered / seconds, 1),
        "p99_ms": round(found["p99_us"] / 1000, 2),
        "server_cpu_us_per_push": (
            round((after - before) / answered * 1e6, 1)
            if before is not None and after is not None and answered
            else None
        ),
    }


def measure(args: argparse.Namespace, writes_per_commit: int | None) -> dict[str, object]:
    """Serve on a fresh store, warm up, measure one load run; the run's figures."""
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as scratch:
        folder = Path(scratch)
        config = write_config(folder, args.devices, writes_per_commit)
        port = args.port or _free_port()
        command = [*SERVE, "-c", str(config), "--port", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        load_before = os.getloadavg()[0]
        try:
            _wait_for(port, process)
            if args.generator == "wrk":
                warm = run_wrk(port, 1, min(args.connections, 16), 1, args.devices, run=0)  # not counted
                server_before = _cpu_seconds(process.pid)
                found = run_wrk(port, args.seconds, args.connections, args.threads, args.devices, run=1)
                server_after = _cpu_seconds(process.pid)
                acknowledged = found["requests"] - found["status_errors"]
                failures = found["status_errors"] + found["read_errors"] + found["write_errors"] + found["timeouts"]
                warmed = warm["requests"] - warm["status_errors"]
                seconds = found["duration_us"] / 1e6
                latency = {key: found[f"{key}_us"] / 1000 for key in ("p50", "p99", "max")}
            else:
                bodies = push_bodies(args.pushes + 500, args.devices, args.shape)
                asyncio.run(load(port, bodies[:500], min(args.connections, 16)))  # warm-up (not counted)
                warmed = 500
                server_before = _cpu_seconds(process.pid)
                seconds, latencies, failed = asyncio.run(load(port, bodies[500:], args.connections))
                server_after = _cpu_seconds(process.pid)
                acknowledged, failures = len(latencies) - len(failed), len(failed)
                for failure in failed[:5]:
                    print("failure:", failure, file=sys.stderr)
                latency = {
                    "p50": _percentile(latencies, 0.50) * 1000,
                    "p99": _percentile(latencies, 0.99) * 1000,
                    "max": max(latencies) * 1000,
                }
            commits, committed = _batch_sizes(port)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        load_after = os.getloadavg()[0]
        sys.path.insert(0, str(HERE.parent))
        from punchbridge.store import Store

        with Store.open(f"sqlite:///{folder / 'store.db'}") as store:
            stored = store.punch_count()
    # Every acknowledged push is stored, once; a push still in flight when the load stopped may be too.
    in_flight = args.connections + min(args.connections, 16) if args.generator == "wrk" else 0  # both wrk runs
    if not warmed + acknowledged <= stored <= warmed + acknowledged + in_flight:
        sys.exit(f"{warmed + acknowledged} pushes acknowledged but {stored} stored")
    return {
        "writes_per_commit": writes_per_commit or "as configured (group commit)",
        "acknowledged": acknowledged,
        "seconds": round(seconds, 3),
        "acknowledged_per_second": round(acknowledged / seconds, 1),
        "p50_ms": round(latency["p50"], 2),
        "p99_ms": round(latency["p99"], 2),
        "max_ms": round(latency["max"], 2),
        "failures": failures,
        "stored": stored,
        "mean_commit_batch": round(committed / commits, 1) if commits else None,
        # CPU time per push: what the figures above cost, whatever else the machine was doing.
        "server_cpu_us_per_push": (
            round((server_after - server_before) / acknowledged * 1e6, 1)
            if server_before is not None and server_after is not None and acknowledged
            else None
        ),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(load_after, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="Length of each wrk run.")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--port", type=int, default=0, help="Serve on this port (default: a free one).")
    parser.add_argument("--generator", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--pushes", type=int, default=20_000, help="With --generator python: pushes per run.")
    parser.add_argument("--shape", choices=["flat", "nested"], default="flat", help="With --generator python.")
    parser.add_argument("--no-baseline", action="store_true", help="Only the run as shipped.")
    parser.add_argument("--no-ceiling", action="store_true", help="Skip the serving stack's ceiling (wrk only).")
    parser.add_argument("--out", type=Path, default=OUT / "receiver-results.json", help="Where the JSON goes.")
    args = parser.parse_args()

    baseline = None if args.no_baseline else measure(args, writes_per_commit=1)
    shipped = measure(args, writes_per_commit=None)
    ceiling = None if args.no_ceiling or args.generator != "wrk" else measure_ceiling(args)
    result = {
        "generator": args.generator,
        "connections": args.connections,
        "cpus": os.cpu_count(),
        "baseline_one_commit_per_push": baseline,
        "group_commit": shipped,
        "ratio": (
            round(float(shipped["acknowledged_per_second"]) / float(baseline["acknowledged_per_second"]), 1)  # type: ignore[arg-type]
            if baseline
            else None
        ),
        "ceiling_http_only": ceiling,
        "ceiling_ratio_to_baseline": (
            round(float(ceiling["answered_per_second"]) / float(baseline["acknowledged_per_second"]), 1)  # type: ignore[arg-type]
            if ceiling and baseline
            else None
        ),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if shipped["failures"] or (baseline and baseline["failures"]):
        sys.exit("some pushes were not acknowledged (see failures)")


if __name__ == "__main__":
    main()

"""Benchmark several receivers on one PostgreSQL store: acknowledged pushes per second with 1, 2 and 3
`punchbridge serve` processes (each its own port, as behind a load balancer) on one machine.

    python bench/bench_receivers_postgres.py                     # 10,000 pushes over 48 connections
    python bench/bench_receivers_postgres.py --pushes 30000 --receivers 1 2 3

Starts a throwaway PostgreSQL server (`punchbridge.testing.postgres`: durability off, as in tests;
the figures are the receivers' cost, not the disk's), then for each receiver count a fresh database
and that many `punchbridge serve` subprocesses; the load generator (`bench_receiver.py`'s: asyncio,
keep-alive HTTP/1.1, the next push as soon as the previous one is answered) spreads its connections
over the receivers round robin. Afterwards the store must hold every push exactly once. Prints
pushes/s, p50/p99 latency and the machine's cores, and writes bench/out/receivers-postgres-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench_receiver import SERVE, _connection, _free_port, _percentile, _wait_for, push_bodies, write_config

from punchbridge.store import Store
from punchbridge.testing.postgres import running_postgres

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


async def spread_load(ports: list[int], bodies: list[bytes], connections: int) -> tuple[float, list[float], list[str]]:
    """Send every body over `connections` connections, connection k to port k mod len(ports)."""
    latencies: list[float] = []
    failures: list[str] = []
    shares = [bodies[i::connections] for i in range(connections)]
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(ports[k % len(ports)], share, latencies, failures) for k, share in enumerate(shares))
    )
    return time.perf_counter() - started, latencies, failures


def measure(
    url: str, folder: Path, receivers: int, pushes: int, connections: int, first_port: int = 0
) -> dict[str, object]:
    """Start `receivers` serve processes on `url` (on `first_port` and the ports after it, or free ones),
    push, stop them, check the store; the figures."""
    config = write_config(folder, devices=50)
    config.write_text(config.read_text().replace(f"sqlite:///{folder / 'store.db'}", url))
    (folder / "employees.csv").write_text("employee_id,site,shift\n")
    with Store.open(url):  # migrate once, before the receivers start
        pass
    processes, ports = [], []
    try:
        for number in range(receivers):
            port = first_port + number if first_port else _free_port()
            process = subprocess.Popen(
                [*SERVE, "-c", str(config), "--port", str(port)],
                cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            processes.append(process)
            ports.append(port)
        for port, process in zip(ports, processes, strict=True):
            _wait_for(port, process, timeout=60)
        bodies = push_bodies(pushes, 50, "flat")
        seconds, latencies, failures = asyncio.run(spread_load(ports, bodies, connections))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    with Store.open(url) as store:
        stored = store.punch_count()
    if failures or stored != pushes:
        raise SystemExit(f"{receivers} receiver(s): {len(failures)} failures, {stored} stored of {pushes}")
    return {
        "receivers": receivers,
        "pushes": pushes,
        "connections": connections,
        "seconds": round(seconds, 2),
        "pushes_per_second": round(pushes / seconds),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "stored_once": stored == pushes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--receivers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--port", type=int, default=0, help="The first receiver's port, the next ones after it (default: free ones)."
    )
    options = parser.parse_args()
    results = []
    with running_postgres() as server, tempfile.TemporaryDirectory() as scratch:
        for receivers in options.receivers:
            url = server.create_database()
            folder = Path(scratch) / f"r{receivers}"
            folder.mkdir()
            result = measure(url, folder, receivers, options.pushes, options.connections, options.port)
            results.append(result)
            print(
                f"{receivers} receiver(s): {result['pushes_per_second']} pushes/s "
                f"(p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms), every push stored once"
            )
            server.drop_database(url)
    summary = {"cores": os.cpu_count(), "load_average": os.getloadavg(), "results": results}
    print(f"cores: {summary['cores']}, load average at the end: {summary['load_average']}")
    OUT.mkdir(exist_ok=True)
    (OUT / "receivers-postgres-results.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

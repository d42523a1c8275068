"""Benchmark start-up: each quick command's wall time, CPU time and peak memory beside `python -c pass`.

    python bench/bench_startup.py                  # 15 runs of each, interleaved
    python bench/bench_startup.py --runs 30 --config config/demo.yaml

Runs every command as a fresh subprocess of this interpreter, round-robin (so a burst of load from
other work on the machine falls on all of them alike, as hyperfine's repeated runs would), and reports
for each the minimum and median wall time, the median CPU time (user + system) and the peak resident
memory, with `python -c pass` measured in the same run as the floor no command can go below. Also
lists the heavy libraries each command imported (pandas, pyarrow, ...), which is what start-up time
is made of. Writes bench/out/startup-results.json.

The commands run with bytecode caching on (PYTHONDONTWRITEBYTECODE is removed from their environment),
so the warm-up run writes the .pyc files and the measured runs read them, as an installed package
does: with it set, every run compiles the package's modules from source again (a tenth of a second
and more that no user pays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
#: The command line the way the `punchbridge` console script runs it.
PUNCHBRIDGE = [sys.executable, "-c", "import sys; from punchbridge.cli import main; sys.exit(main())"]
#: The environment of the measured commands: this one, with bytecode caching on (see the docstring).
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
HEAVY = ("pandas", "pyarrow", "numpy", "sqlalchemy", "pydantic", "rich", "httpx", "uvicorn", "fastapi", "lxml")


def commands(config: Path) -> dict[str, list[str]]:
    """What is measured, by name: the floor first."""
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "punchbridge --help": [*PUNCHBRIDGE, "--help"],
        "punchbridge plugins": [*PUNCHBRIDGE, "plugins"],
        f"punchbridge validate -c {config.name}": [*PUNCHBRIDGE, "validate", "-c", str(config)],
        "punchbridge sync --help": [*PUNCHBRIDGE, "sync", "--help"],
    }


def run_once(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one run; it must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=ENVIRONMENT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(command[-3:])} exited with {code}: {stderr[-1000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def imported(command: list[str]) -> list[str]:
    """The heavy libraries (`HEAVY`) the command has imported by the time it exits."""
    probe = (
        "import atexit, sys\n"
        f"heavy = {HEAVY!r}\n"
        "atexit.register(lambda: sys.__stderr__.write('LOADED ' + ','.join(h for h in heavy if h in sys.modules)))\n"
        f"sys.argv = ['punchbridge', *{command[3:]!r}]\n"
        "from punchbridge.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=ENVIRONMENT)
    found = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")]
    return [name for name in found[-1].removeprefix("LOADED ").split(",") if name] if found else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs of each command (after one warm-up run).")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "demo.yaml", help="For `validate`.")
    parser.add_argument("--out", type=Path, default=OUT / "startup-results.json", help="Where the JSON goes.")
    args = parser.parse_args()

    measured = commands(args.config.resolve())
    for command in measured.values():  # warm-up: the file cache and .pyc files, not counted
        run_once(command)
    walls: dict[str, list[float]] = {name: [] for name in measured}
    cpus: dict[str, list[float]] = {name: [] for name in measured}
    peaks: dict[str, int] = dict.fromkeys(measured, 0)
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, command in measured.items():
            wall, cpu, peak = run_once(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
    floor = statistics.median(walls["python -c pass"])
    rows = []
    for name, command in measured.items():
        median = statistics.median(walls[name])
        rows.append(
            {
                "command": name,
                "wall_min_s": round(min(walls[name]), 3),
                "wall_median_s": round(median, 3),
                "cpu_median_s": round(statistics.median(cpus[name]), 3),
                "above_python_median_s": round(median - floor, 3),
                "peak_rss_mib": round(peaks[name] / 1024, 1),
                "imports": [] if name.startswith("python") else imported(command),
            }
        )
    result = {
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "commands": rows,
    }
    print(f"{'command':44} {'min':>7} {'median':>7} {'cpu':>7} {'MiB':>6}  imports")
    for row in rows:
        print(
            f"{row['command']:44} {row['wall_min_s']:7.3f} {row['wall_median_s']:7.3f} {row['cpu_median_s']:7.3f} "
            f"{row['peak_rss_mib']:6.1f}  {', '.join(row['imports']) or '-'}"
        )
    print(f"load average {result['load_average_before']} -> {result['load_average_after']} on {result['cpus']} cpus")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

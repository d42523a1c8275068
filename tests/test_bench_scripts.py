"""Every benchmark script runs, at tiny sizes, from a clean copy of the repository.

The figures in the README come from `bench/`; a script that crashes (as `bench_store.py` once did,
on a column the days gained later) cannot reproduce them. Each script runs here as a user would run
it, `python bench/<script>.py ...`, from a copy with no `bench/out` left over from earlier runs.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Tiny sizes for each script: seconds, not minutes, on a loaded machine. The Odoo and SAP benches
#: check requests per 1,000 records, so they need enough records for the fixed calls to fade.
TINY_RUNS: dict[str, str] = {
    "generate.py": "out/tiny --employees 5 --days 2",
    "bench_process.py": "--employees 20 --days 3 --runs 1 --oracle-employees 5",
    "bench_store.py": "--employees 50 --days 3 --months 2",
    "bench_sync.py": "--employees 20 --months 1",
    "bench_employees.py": "--employees 50 --terminals 2 --per-site 1 --concurrency 2",
    "bench_zoho.py": "--records 200 --employees 10 --concurrency 2 --backfill-employees 5 --backfill-days 2",
    "bench_odoo.py": "--employees 100 --days 30",
    "bench_erpnext.py": (
        "--employees 10 --days 2 --concurrency 2 --sample-days 1 --sample-employees 5 --sample-concurrency 1"
    ),
    "bench_salesforce.py": "--employees 10 --days 2",
    "bench_sap.py": "--employees 50 --days 20",
    "bench_receiver.py": "--pushes 700 --connections 4 --devices 2",
    "bench_parallel_targets.py": "--employees 5 --scale 600",
    "bench_receivers_postgres.py": "--pushes 300 --connections 4 --receivers 1 2",
}

#: Scripts whose tiny run is a test of its own, which checks what they measure too.
COVERED_ELSEWHERE = {"bench_startup.py": "tests/test_bench_startup_receiver.py"}

NEEDS_TIME = {"bench_process.py"}  # measures with /usr/bin/time -v
NEEDS_POSTGRES = {"bench_receivers_postgres.py"}  # starts a throwaway PostgreSQL server


def test_every_bench_script_has_a_tiny_run() -> None:
    scripts = {path.name for path in (ROOT / "bench").glob("*.py")}
    assert scripts == set(TINY_RUNS) | set(COVERED_ELSEWHERE), "a script in bench/ without a tiny run would rot"
    for test in set(COVERED_ELSEWHERE.values()):
        assert (ROOT / test).is_file(), f"{test} is gone"


def _serves(script: Path) -> bool:
    """Whether a bench script serves something on a port (an emulator, the receiver, a ceiling app)."""
    text = script.read_text()
    return "serve(" in text or "SERVE" in text or "uvicorn.run" in text


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if _serves(p)), ids=lambda name: name
)
def test_a_bench_that_serves_takes_a_port(script: str) -> None:
    # An operator measuring on a shared machine chooses the port (one that a firewall or another
    # process leaves free); "a free one" stays the default.
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--port" in done.stdout, f"{script} serves but takes no --port"


@pytest.fixture
def clean_copy(tmp_path: Path) -> Path:
    """bench/ and the test helpers it borrows (the oracle), without any `bench/out`."""
    shutil.copytree(ROOT / "bench", tmp_path / "bench", ignore=shutil.ignore_patterns("out", "__pycache__"))
    shutil.copytree(ROOT / "tests" / "support", tmp_path / "tests" / "support")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TINY_RUNS))
def test_bench_script_runs_from_a_clean_copy(clean_copy: Path, script: str) -> None:
    if script in NEEDS_TIME and not Path("/usr/bin/time").exists():
        pytest.skip("/usr/bin/time (GNU time) is not installed")
    if script in NEEDS_POSTGRES and not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("PostgreSQL is not installed (.ci/run installs it)")
    done = subprocess.run(
        [sys.executable, str(clean_copy / "bench" / script), *TINY_RUNS[script].split()],
        cwd=clean_copy / "bench",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{script} printed no figures"

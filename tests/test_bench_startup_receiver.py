"""The start-up and receiver benchmarks run, at tiny sizes, so that neither rots (issue 18).

Nothing here looks at a time: only that each bench completes, measures what it says (every command
beside `python -c pass`; the one-commit-per-push baseline beside group commit) and checks the store.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench(script: str, *arguments: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *arguments], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


@pytest.mark.slow
def test_the_startup_bench_measures_each_command_beside_the_interpreter(tmp_path: Path) -> None:
    out = tmp_path / "startup.json"
    _bench("bench_startup.py", "--runs", "1", "--out", str(out))
    result = json.loads(out.read_text())
    rows = {row["command"]: row for row in result["commands"]}
    assert "python -c pass" in rows and "punchbridge --help" in rows and "punchbridge plugins" in rows
    assert all(row["wall_min_s"] > 0 and row["peak_rss_mib"] > 0 for row in rows.values())
    assert rows["punchbridge --help"]["imports"] == []  # what the bench reports is what the command loaded
    assert "pandas" in next(row["imports"] for name, row in rows.items() if name.startswith("punchbridge validate"))


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["wrk", "python"])
def test_the_receiver_bench_runs_the_baseline_and_group_commit(tmp_path: Path, generator: str) -> None:
    if generator == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (the system package `wrk`)")
    out = tmp_path / "receiver.json"
    sizes = ["--seconds", "1"] if generator == "wrk" else ["--pushes", "200"]
    _bench("bench_receiver.py", "--generator", generator, "--connections", "4", *sizes, "--out", str(out))
    result = json.loads(out.read_text())
    baseline, shipped = result["baseline_one_commit_per_push"], result["group_commit"]
    assert baseline["mean_commit_batch"] == 1.0  # the baseline really commits each push alone
    for run in (baseline, shipped):
        assert run["acknowledged"] > 0 and run["failures"] == 0
        assert run["stored"] >= run["acknowledged"]  # the bench itself checks every acknowledged push is stored
    assert result["ratio"] > 0
    if generator == "wrk":  # the serving stack's ceiling: the same uvicorn, nothing parsed or stored
        assert result["ceiling_http_only"]["answered_per_second"] > 0 and result["ceiling_ratio_to_baseline"] > 0
    else:
        assert result["ceiling_http_only"] is None

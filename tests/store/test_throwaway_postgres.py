"""The throwaway PostgreSQL server of `punchbridge.testing` goes away with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from punchbridge.testing.postgres import PG_BIN

pytestmark = pytest.mark.skipif(
    not (PG_BIN / "pg_ctl").exists(), reason=f"PostgreSQL server binaries not in {PG_BIN} (CI installs them)"
)

STARTER = textwrap.dedent(
    """
    import sys, time
    from punchbridge.testing.postgres import running_postgres
    with running_postgres() as server:
        print(server.port, server.admin_url, flush=True)
        time.sleep(600)
    """
)


def _postmaster_of(port: int) -> list[int]:
    """Pids of postgres processes started with `-p PORT` (read from /proc: no procps needed)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if words and words[0].endswith(b"postgres") and b"-p" in words and str(port).encode() in words:
            found.append(int(cmdline.parent.name))
    return found


def test_a_killed_test_process_leaves_no_server_or_files_behind(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None and starter.stderr is not None
    line = starter.stdout.readline()
    if not line:  # the binaries are there (see pytestmark): a server that cannot start is a failure
        starter.wait()
        pytest.fail(f"the throwaway server did not start: {starter.stderr.read()[-2000:]}")
    port = int(line.split()[0])
    assert _postmaster_of(port), "the server did not run"
    folders = {p for p in Path("/tmp").glob("pbpg-*") if (p / "data" / "postmaster.pid").exists()}
    ours = [p for p in folders if f"\n{port}\n" in (p / "data" / "postmaster.pid").read_text()]
    assert len(ours) == 1
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    deadline = time.monotonic() + 60  # generous: a stop on a loaded machine; no speed is asserted
    while (_postmaster_of(port) or ours[0].exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmaster_of(port), "the server outlived the process that started it"
    assert not ours[0].exists(), "its files were left behind"

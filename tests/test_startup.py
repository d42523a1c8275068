"""What a command imports before it does anything: a command loads only what it needs (issue 18).

Each check runs the real command line in a fresh interpreter and reads `sys.modules` at exit, so a
top-level import added to any command module (or to a module every command reaches) fails here,
not only in a benchmark. No time is measured: the imports are what makes start-up slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Run a command line, then print the top-level modules loaded (the command's own exit is ignored:
#: what matters is what was imported on the way).
_PROBE = """
import atexit, json, sys
def report():
    sys.__stdout__.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
atexit.register(report)
sys.argv = ["punchbridge", *json.loads(sys.argv[1])]
from punchbridge.cli import main
main()
"""

#: Heavy libraries, each imported only by the commands that use them.
DATA = {"pandas", "pyarrow", "numpy"}
SERVING = {"sqlalchemy", "httpx", "uvicorn", "starlette", "fastapi"}


def loaded_by(*arguments: str) -> set[str]:
    """The top-level modules `punchbridge ARGUMENTS...` has imported when it exits."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(arguments)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    marker = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    assert marker, f"the probe did not report its modules: {done.stdout[-500:]} {done.stderr[-2000:]}"
    return set(json.loads(marker[-1].removeprefix("MODULES ")))


def test_help_imports_no_data_library() -> None:
    loaded = loaded_by("--help")
    assert "click" in loaded  # the probe saw the command line run
    heavy = loaded & (DATA | SERVING | {"rich", "pydantic"})
    assert not heavy, f"--help imported {sorted(heavy)}"


@pytest.mark.parametrize("command", [["sync", "--help"], ["process", "--help"], ["serve", "--help"]])
def test_a_command_help_imports_no_data_library(command: list[str]) -> None:
    loaded = loaded_by(*command)
    heavy = loaded & (DATA | SERVING)
    assert not heavy, f"`punchbridge {' '.join(command)}` imported {sorted(heavy)}"

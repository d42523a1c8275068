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
    sys.__stdout__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
atexit.register(report)
sys.argv = ["punchbridge", *json.loads(sys.argv[1])]
from punchbridge.cli import main
main()
"""

#: Heavy libraries, each imported only by the commands that use them.
DATA = {"pandas", "pyarrow", "numpy"}
SERVING = {"sqlalchemy", "httpx", "uvicorn", "starlette", "fastapi"}


def loaded_by(*arguments: str) -> set[str]:
    """The modules `punchbridge ARGUMENTS...` has imported when it exits, by full name."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(arguments)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    marker = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    assert marker, f"the probe did not report its modules: {done.stdout[-500:]} {done.stderr[-2000:]}"
    return set(json.loads(marker[-1].removeprefix("MODULES ")))


def packages(modules: set[str]) -> set[str]:
    """The top-level packages of `modules`."""
    return {module.split(".")[0] for module in modules}


def test_help_imports_no_data_library() -> None:
    loaded = packages(loaded_by("--help"))
    assert "click" in loaded  # the probe saw the command line run
    heavy = loaded & (DATA | SERVING | {"rich", "pydantic"})
    assert not heavy, f"--help imported {sorted(heavy)}"


@pytest.mark.parametrize("command", [["sync", "--help"], ["process", "--help"], ["serve", "--help"]])
def test_a_command_help_imports_no_data_library(command: list[str]) -> None:
    loaded = packages(loaded_by(*command))
    heavy = loaded & (DATA | SERVING)
    assert not heavy, f"`punchbridge {' '.join(command)}` imported {sorted(heavy)}"


def test_a_command_loads_only_the_plugins_its_configuration_names(tmp_path: Path) -> None:
    from support.jobs_helpers import write_setup  # one csv_folder source, one local_csv target

    loaded = loaded_by("validate", "-c", str(write_setup(tmp_path)))
    plugins = {module.split(".")[2] for module in loaded if module.startswith("punchbridge.plugins.")}
    assert {"csv_drop", "csv_folder"} <= plugins  # validate ran and checked the named ones
    unnamed = {"odoo", "salesforce", "sap", "zoho_people", "erpnext", "sftp_csv", "minop"}
    assert not plugins & unnamed, f"validate imported unnamed plugins {sorted(plugins & unnamed)}"


#: What only a plugin's work needs (a request, a signature, a file transfer), never its loading.
CLIENTS = {"lxml", "signxml", "jwt", "cryptography", "paramiko", "stamina"}


def test_plugins_lists_every_plugin_without_their_client_libraries() -> None:
    loaded = loaded_by("plugins")
    plugins = {module.split(".")[2] for module in loaded if module.startswith("punchbridge.plugins.")}
    every = {"csv_drop", "csv_folder", "minop", "odoo", "salesforce", "sap", "zoho_people", "erpnext", "sftp_csv"}
    assert every <= plugins  # the command loaded every built-in plugin
    heavy = packages(loaded) & (DATA | SERVING | CLIENTS | {"rich"})  # rich: its output is a pipe here
    assert not heavy, f"`punchbridge plugins` imported {sorted(heavy)}"


def test_plugins_to_a_pipe_lists_each_plugin_on_a_plain_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "punchbridge", "plugins"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[3:] if line and ":" not in line}
    assert rows["local_csv"] == [
        "local_csv",
        "punchbridge.plugins.csv_drop",
        "punchbridge",
        rows["local_csv"][3],
        "loaded",
    ]
    assert "│" not in done.stdout  # no box drawing where a script reads the output
    assert any(line.startswith("targets: ") and "local_csv" in line for line in done.stdout.splitlines())


def test_validate_on_the_demo_reads_its_inbox_without_the_store_or_http_libraries(tmp_path: Path) -> None:
    """The demo's inbox file is read with pandas and pyarrow, as the sync reads it; the store (not created
    yet) is not opened and no target's HTTP client is imported."""
    from support.demo_copy import copy_config

    config = copy_config(tmp_path / "config") / "demo.yaml"
    loaded = loaded_by("validate", "-c", str(config))
    assert "punchbridge.config.punchfile" in loaded  # validate ran and read the inbox file
    heavy = packages(loaded) & (SERVING | CLIENTS | {"alembic"})
    assert not heavy, f"validate imported {sorted(heavy)}"
    assert "punchbridge.sync.engine" not in loaded


def test_a_quiet_sync_decides_so_without_the_data_libraries_or_the_rules_engine(tmp_path: Path) -> None:
    """A night with nothing new (punchbridge.sync.quiet) runs without pandas, pyarrow, the rules engine or
    alembic (the store is at its head), and prints its report to a pipe without rich; the first sync,
    with everything new, does import the data libraries."""
    from support.jobs_helpers import write_setup

    config = write_setup(tmp_path, whole_range=True)
    first = loaded_by("sync", "-c", str(config))
    assert "pandas" in first and "punchbridge.rules.engine" in first  # the probe saw a full sync
    quiet = loaded_by("sync", "-c", str(config))
    assert "punchbridge.sync.quiet" in quiet and "punchbridge.store.store" in quiet  # it ran, on the store
    heavy = packages(quiet) & (DATA | {"alembic", "rich"})  # rich: the report goes to a pipe here
    assert not heavy, f"a quiet sync imported {sorted(heavy)}"
    assert not {"punchbridge.rules.engine", "punchbridge.sync.engine"} & quiet

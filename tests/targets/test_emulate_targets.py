"""`punchbridge emulate TARGET`: each target's flow tried offline, as the README's "Try it offline" shows.

Each emulator is started as a user would start it (the console script, `--port 0`), its printed
section is pasted into a configuration, `punchbridge sync` delivers the demo week to it and
`punchbridge reconcile` reads back what it holds; then SIGTERM stops it cleanly. The emulators are
started once per module (each takes a few seconds to import and start).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from punchbridge.cli.emulate_targets import TARGET_MAPPINGS

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("odoo", "zoho", "erpnext", "salesforce", "successfactors")
WEEK = "2025-09-29..2025-10-05"


@dataclass
class Emulator:
    """A running `punchbridge emulate TARGET`: its process, what it printed up to the end of the snippet."""

    target: str
    process: subprocess.Popen[str]
    printed: list[str] = field(default_factory=list)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def read_until_snippet(self, seconds: float = 120.0) -> str:
        """The output up to the blank line that ends the printed section (fails on a timeout or an exit)."""
        in_snippet = False
        while True:
            try:
                line = self.lines.get(timeout=seconds)
            except queue.Empty:
                raise AssertionError(f"{self.target}: no snippet within {seconds} s; got {self.printed}") from None
            self.printed.append(line)
            if line.startswith("targets:"):
                in_snippet = True
            elif in_snippet and not line.strip():
                return "".join(self.printed)

    @property
    def url(self) -> str:
        match = re.search(r"running at (http://127\.0\.0\.1:(\d+))", "".join(self.printed))
        assert match, self.printed
        return match.group(1)

    def section(self) -> dict:
        """The `targets:` entry it printed, read as the YAML a user pastes."""
        text = "".join(self.printed)
        snippet = text[text.index("targets:") :]
        return yaml.safe_load(snippet)["targets"][self.target]


def _console_script() -> str:
    exe = shutil.which("punchbridge")
    assert exe, "the punchbridge console script is not on PATH"
    return exe


def _start(target: str, keys: Path) -> Emulator:
    command = [
        _console_script(),
        "emulate",
        target,
        "--port",
        "0",
        "--employees",
        str(REPO / "config/demo/employees.csv"),
    ]
    if target in ("salesforce", "successfactors"):
        command += ["--dir", str(keys)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    emulator = Emulator(target, process)
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [emulator.lines.put(line) for line in stdout], daemon=True).start()
    return emulator


def _stop(emulator: Emulator) -> str:
    """SIGTERM, wait for the exit; never leave the emulator running, whatever happened."""
    process = emulator.process
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    return process.stderr.read() if process.stderr else ""


@pytest.fixture(scope="module", params=TARGETS)
def emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One target's emulator, started once for the module and read up to its snippet (killed at the end if a
    test left it running)."""
    running = _start(request.param, tmp_path_factory.mktemp("emulator-keys"))
    try:
        running.read_until_snippet()
        yield running
    finally:
        _stop(running)


def _workspace(folder: Path, target: str, section: dict) -> Path:
    """A configuration in `folder/config/` with the section pasted under `targets:` and the demo week in
    its inbox; the mapping the section names is where it says, relative to the configuration."""
    config_dir = folder / "config"
    for relative in ("config/demo/employees.csv", "config/demo/holidays-blr.csv", "config/demo/leaves.csv"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, folder / relative)
    mapping = (config_dir / section["mapping"]).resolve()
    mapping.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy((REPO / "config" / section["mapping"]).resolve(), mapping)
    inbox = config_dir / "inbox"
    inbox.mkdir()
    shutil.copy(REPO / "config/demo/punches.csv", inbox / "punches.csv")
    demo = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    config = {
        "store": f"sqlite:///{folder / 'store.db'}",
        "sources": {"terminals": {"plugin": "csv_folder", "folder": "inbox"}},
        "employees": "demo/employees.csv",
        "leaves": "demo/leaves.csv",
        "sync": {"from": "2025-09-29", "to": "2025-10-05"},
        "targets": {target: section},
        **{key: demo[key] for key in ("sites", "shifts", "pairing")},
    }
    path = config_dir / f"try-{target}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([_console_script(), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_the_printed_section_takes_a_sync_to_the_emulator_until_sigterm(emulator, tmp_path):
    target = emulator.target
    printed = "".join(emulator.printed)
    assert "employees: 5 from" in printed
    section = emulator.section()
    assert any(value == emulator.url for value in section.values()), section
    if "private_key" in section:  # Salesforce's JWT key, SuccessFactors' SAML key: made now, owner only
        key = Path(section["private_key"])
        assert key.is_file() and key.stat().st_mode & 0o077 == 0, key
    config = _workspace(tmp_path, target, section)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    sync = _run("sync", "-c", str(config), cwd=elsewhere)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert re.search(rf"│ {target}\s+│\s+[1-9]\d* │", sync.stdout), sync.stdout  # new records for the target

    # What arrived, read back from the emulator through the target's own read API.
    check = _run("reconcile", "-c", str(config), "--target", target, "--period", WEEK, "--out", str(tmp_path / "r"),
                 cwd=elsewhere)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "clean: the target holds what was computed" in check.stdout
    matched = re.search(r"expected (\d+), held \d+: missing 0, different 0, extra 0, matched (\d+)", check.stdout)
    assert matched and int(matched.group(1)) == int(matched.group(2)) > 20, check.stdout

    port = int(emulator.url.rsplit(":", 1)[1])
    err = _stop(emulator)
    assert emulator.process.returncode in (0, 5), err
    assert "stopped" in err and "Traceback" not in err
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # nothing listens any more: no server thread or child process was left behind


@pytest.mark.parametrize("target", TARGETS)
def test_each_demo_configuration_is_what_its_emulator_prints_for_the_demo_port(target, tmp_path):
    # config/demo-TARGET.yaml works against `punchbridge emulate TARGET --port P` as it is: the same
    # URL, credentials and settings as the section the emulator prints (the key files are named by
    # the folder given with --dir, so only their names are compared).
    from punchbridge.cli.emulate_targets import DEFAULT_EMPLOYEES
    from punchbridge.config import load_config
    from punchbridge.testing.emulators.trial import make_trial, read_employees

    path = REPO / "config" / f"demo-{target}.yaml"
    load_config(path)  # no problem in the file
    written = yaml.safe_load(path.read_text())["targets"][target]
    url = next(v for v in written.values() if isinstance(v, str) and v.startswith("http://127.0.0.1:"))
    assert f"punchbridge emulate {target} --port {url.rsplit(':', 1)[1]}" in path.read_text()
    printed = make_trial(target, read_employees(DEFAULT_EMPLOYEES), tmp_path).section(url)
    for name in ("private_key", "certificate"):
        if name in printed:
            assert Path(written.pop(name)).name == Path(printed.pop(name)).name
    written.pop("state_file", None)  # where the Zoho target keeps its ledger: the configuration's choice
    assert written.pop("mapping") == TARGET_MAPPINGS[target]
    assert written == printed


def test_a_bad_employees_file_is_named_and_nothing_is_served(tmp_path):
    broken = tmp_path / "staff.csv"
    broken.write_text("id,site\nE1,blr\n")
    done = _run("emulate", "zoho", "--employees", str(broken), cwd=tmp_path)
    assert done.returncode == 2
    assert "staff.csv:1: no employee_id column" in done.stderr and "Traceback" not in done.stderr


def test_a_port_in_use_is_named_and_nothing_is_served(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _run("emulate", "erpnext", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "running at" not in done.stdout

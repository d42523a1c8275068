"""Paths in the configuration: every one is read from the configuration's folder (an absolute one as it
is), the SQLite store's included, whatever the working folder; and no command prints a traceback for
a configuration that names a missing, empty, unreadable or wrong kind of file.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from support.cli_walk import WITH_CONFIG, arguments, describe, invoke

from punchbridge.errors import ExitCode

EMPLOYEES = "employee_id,site,shift\nE1,blr,general\nE2,blr,general\n"
MAPPING = "fields:\n  - {name: Employee, from: employee_id}\n  - {name: Date, from: work_date}\n"


def _customer(folder: Path) -> dict[str, Any]:
    """A working configuration in `folder` that names a file or folder in every section that takes one."""
    folder.mkdir(parents=True)
    (folder / "inbox").mkdir()
    (folder / "inbox" / "punches.csv").write_text("employee_id,timestamp,device_id\n")
    (folder / "employees.csv").write_text(EMPLOYEES)
    (folder / "leaves.csv").write_text("employee_id,date,kind,paid\nE1,2025-10-07,full,true\n")
    (folder / "assignments.csv").write_text("employee_id,shift,from,to\n")
    (folder / "holidays.csv").write_text("date,name\n2025-10-02,Gandhi Jayanti\n")
    (folder / "mapping.yaml").write_text(MAPPING)
    (folder / "known_hosts").write_text("sftp.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemo\n")
    (folder / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return {
        "store": "sqlite:///store.db",
        "sources": {"terminals": {"plugin": "csv_folder", "folder": "inbox"}},
        "employees": "employees.csv",
        "leaves": "leaves.csv",
        "assignments": "assignments.csv",
        "sync": {"from": "2025-10-01", "to": "2025-10-02"},
        "targets": {
            "payroll": {"plugin": "local_csv", "mapping": "mapping.yaml", "folder": "out", "create_folder": True},
            "upload": {
                "plugin": "sftp_csv",
                "mapping": "mapping.yaml",
                "host": "sftp.example.com",
                "username": "payroll",
                "private_key": "id_ed25519",
                "known_hosts": "known_hosts",
                "folder": "/incoming",
                "enabled": False,
            },
        },
        "jobs": {"nightly": {"cron": "30 1 * * *", "timezone": "Asia/Kolkata", "run": "sync"}},
        "sites": {"blr": {"timezone": "Asia/Kolkata", "weekly_off": ["sun"], "holidays": "holidays.csv"}},
        "shifts": {"general": {"start": "09:00", "end": "18:00"}},
    }


def _set(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        config = config[key]
    config[last] = value


#: What breaks the configuration: (case, how; `how` changes the settings and the folder and returns
#: the file the message must name (None: the configuration file itself).
Breakage = Callable[[dict[str, Any], Path], "Path | None"]


def _missing(dotted: str, absolute: bool = False) -> Breakage:
    def apply(config: dict[str, Any], folder: Path) -> Path:
        path = (folder.parent / "elsewhere" / "gone.csv") if absolute else folder / "gone.csv"
        _set(config, dotted, str(path) if absolute else "gone.csv")
        return path

    return apply


def _replace_file(dotted: str, write: Callable[[Path], None]) -> Breakage:
    def apply(config: dict[str, Any], folder: Path) -> Path:
        path = folder / "broken"
        write(path)
        _set(config, dotted, "broken")
        return path

    return apply


def _settings(dotted: str, value: Any) -> Breakage:
    def apply(config: dict[str, Any], _folder: Path) -> None:
        _set(config, dotted, value)

    return apply


def _unreadable(path: Path) -> None:
    path.write_text(EMPLOYEES)
    path.chmod(0)


BREAKAGES: list[tuple[str, Breakage]] = [
    ("employees: relative path to a missing file", _missing("employees")),
    ("employees: absolute path to a missing file", _missing("employees", absolute=True)),
    ("employees: a folder", _replace_file("employees", lambda p: p.mkdir())),
    ("employees: an empty file", _replace_file("employees", lambda p: p.write_text(""))),
    ("employees: not text", _replace_file("employees", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\xff"))),
    ("employees: unreadable", _replace_file("employees", _unreadable)),
    ("leaves: absolute path to a missing file", _missing("leaves", absolute=True)),
    ("assignments: relative path to a missing file", _missing("assignments")),
    ("holidays: missing file", _missing("sites.blr.holidays")),
    ("mapping: relative path to a missing file", _missing("targets.payroll.mapping")),
    ("mapping: absolute path to a missing file", _missing("targets.payroll.mapping", absolute=True)),
    ("mapping: a folder", _replace_file("targets.payroll.mapping", lambda p: p.mkdir())),
    ("mapping: an empty file", _replace_file("targets.payroll.mapping", lambda p: p.write_text(""))),
    ("csv_folder: missing folder", _missing("sources.terminals.folder")),
    ("csv_folder: a file, not a folder", _replace_file("sources.terminals.folder", lambda p: p.write_text(""))),
    ("sftp_csv: missing private key", _missing("targets.upload.private_key")),
    ("sftp_csv: missing known_hosts, absolute", _missing("targets.upload.known_hosts", absolute=True)),
    ("local_csv: folder is a file", _replace_file("targets.payroll.folder", lambda p: p.write_text(""))),
    ("unknown plugin", _settings("targets.payroll.plugin", "no_such_plugin")),
    ("wrong types: employees is a list", _settings("employees", ["a.csv", "b.csv"])),
    ("wrong types: store is a number", _settings("store", 5)),
    ("wrong types: a job's cron is a list", _settings("jobs.nightly.cron", [30, 1])),
]


#: Configuration files that cannot be read as one: (case, what to put at the configuration's path).
UNREADABLE_CONFIGS: list[tuple[str, Callable[[Path], None]]] = [
    ("configuration: missing", lambda p: None),
    ("configuration: a folder", lambda p: p.mkdir()),
    ("configuration: empty", lambda p: p.write_text("")),
    ("configuration: not YAML", lambda p: p.write_text("store: [sqlite:///x.db\nsites: {\n")),
    ("configuration: not text", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\xff\xfe")),
    ("configuration: unreadable", lambda p: (p.write_text("store: sqlite:///x.db\n"), p.chmod(0))),
]

_ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@contextmanager
def _modes_apply_to_root(acting: bool) -> Iterator[None]:
    """Root reads a file whatever its mode, through two capabilities (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH): for the unreadable cases root drops them from this thread's effective set,
    so that a file's mode applies to root as to its owner, and takes them back afterwards."""
    if not acting:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # two sets of (effective, permitted, inheritable)
    if libc.capget(header, data) != 0:
        pytest.skip(f"root cannot read its capabilities here: {os.strerror(ctypes.get_errno())}")
    effective = data[0]
    data[0] = effective & ~((1 << 1) | (1 << 2))
    if libc.capset(header, data) != 0:
        pytest.skip(f"root reads a file whatever its mode and cannot drop that here: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        data[0] = effective
        libc.capset(header, data)


def _cases() -> list[Any]:
    cases = [pytest.param(breakage, None, id=case) for case, breakage in BREAKAGES]
    cases += [pytest.param(None, write, id=case) for case, write in UNREADABLE_CONFIGS]
    return cases


def _assert_refused(result: Any, named: Path, store: Path) -> None:
    assert result.exit_code == ExitCode.BAD_INPUT, describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), describe(result)
    assert "Traceback" not in result.output, describe(result)
    assert str(named) in result.stderr, f"the message does not name {named}:\n{describe(result)}"
    assert not store.exists(), "nothing is written for a broken configuration"


@pytest.mark.parametrize(("breakage", "config_file"), _cases())
@pytest.mark.parametrize(("words", "command"), WITH_CONFIG, ids=[" ".join(words) for words, _c in WITH_CONFIG])
def test_every_command_refuses_a_broken_configuration_naming_the_file_without_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    words: tuple[str, ...],
    command: click.Command,
    breakage: Breakage | None,
    config_file: Callable[[Path], None] | None,
    request: pytest.FixtureRequest,
) -> None:
    folder = tmp_path / "customer"
    settings = _customer(folder)
    config = folder / "punchbridge.yaml"
    named: Path | None = None
    if breakage is not None:
        named = breakage(settings, folder)
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
    else:
        assert config_file is not None
        config_file(config)
    elsewhere = tmp_path / "elsewhere-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with _modes_apply_to_root(_ROOT and "unreadable" in request.node.callspec.id):
        result = invoke(*words, *arguments(command, config))
    _assert_refused(result, named or config, folder / "store.db")


# -- paths that work: absolute ones, and the same store from any working folder -------------------------


def _demo(tmp_path: Path) -> Path:
    from support.demo_copy import copy_config

    return copy_config(tmp_path / "config") / "demo.yaml"


def _payroll_rows(folder: Path) -> list[dict[str, str]]:
    import csv

    rows = []
    for path in sorted(folder.glob("attendance_*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_absolute_paths_in_the_configuration_are_read_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = _demo(tmp_path)
    month = demo.parent / "demo" / "month"
    text = demo.read_text()
    for relative in ("demo/month/inbox", "demo/month/employees.csv", "demo/month/leaves.csv",
                     "demo/month/payroll-mapping.yaml", "demo/holidays-blr.csv"):  # fmt: skip
        text = text.replace(f": {relative}\n", f": {demo.parent / relative}\n")
    store = tmp_path / "stores" / "demo.db"
    store.parent.mkdir()
    text = text.replace("store: sqlite:///../punchbridge-demo.db", f"store: sqlite:///{store}")
    text = text.replace("folder: ../demo-payroll", f"folder: {tmp_path / 'payroll'}")
    (month / "assignments.csv").write_text("employee_id,shift,from,to\nE0002,office,2025-10-01,2025-10-31\n")
    text = text.replace("leaves:", f"assignments: {month / 'assignments.csv'}\nleaves:")
    assert str(tmp_path) in text and "demo/month/leaves.csv" in text
    demo.write_text(text)
    monkeypatch.chdir(tmp_path / "stores")

    validated = invoke("validate", "-c", str(demo))
    assert validated.exit_code == 0, describe(validated)
    synced = invoke("sync", "-c", str(demo))
    assert synced.exit_code == 0, describe(synced)
    assert store.exists()
    rows = {(r["EmployeeCode"], r["Date"]): r for r in _payroll_rows(tmp_path / "payroll")}
    assert rows[("P-10003", "14/10/2025")]["Status"] == "L", "the leave in the absolutely named leaves file counts"
    assert rows[("P-10002", "06/10/2025")]["InTime"] != "", "a present day of the reassigned employee"


def test_the_store_is_the_same_from_any_working_folder_and_a_new_one_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = _demo(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = invoke("sync", "-c", "config/demo.yaml")
    assert first.exit_code == 0, describe(first)
    store = tmp_path / "punchbridge-demo.db"
    assert f"new store: created {store}" in first.stderr
    monkeypatch.chdir(demo.parent)
    again = invoke("sync", "-c", "demo.yaml")
    assert again.exit_code == 0, describe(again)
    assert "new store" not in again.output
    assert "payroll: nothing new to send" in again.output
    assert sorted(p.name for p in (tmp_path / "demo-payroll").glob("*.csv")) == [
        "attendance_2025-10-01_2025-10-31_0001.csv"
    ]
    assert not list(demo.parent.glob("*.db")), "no second store beside the configuration"


def test_a_dry_run_says_a_sync_would_create_the_store_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = _demo(tmp_path)
    monkeypatch.chdir(demo.parent / "demo")
    result = invoke("sync", "-c", str(demo), "--dry-run")
    assert result.exit_code == 0, describe(result)
    assert f"new store: would create {tmp_path / 'punchbridge-demo.db'}" in result.stderr
    assert not list(tmp_path.rglob("*.db"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///store.db", "sqlite:///{base}/store.db"),
        ("sqlite:///../shared/store.db", "sqlite:///{parent}/shared/store.db"),
        ("sqlite:////var/lib/punchbridge/store.db", "sqlite:////var/lib/punchbridge/store.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        (
            "postgresql+psycopg://payroll@db.example.com/punchbridge",
            "postgresql+psycopg://payroll@db.example.com/punchbridge",
        ),
    ],
)
def test_a_sqlite_store_url_is_read_from_the_configurations_folder(tmp_path: Path, url: str, expected: str) -> None:
    from punchbridge.config import load_config

    base = tmp_path / "customer"
    base.mkdir()
    (base / "employees.csv").write_text(EMPLOYEES)
    config = base / "punchbridge.yaml"
    config.write_text(
        f"store: '{url}'\nemployees: employees.csv\nsites:\n  blr: {{timezone: Asia/Kolkata}}\n"
        'shifts:\n  general: {start: "09:00", end: "18:00"}\n'
    )
    loaded, _doc = load_config(config)
    assert loaded.store == expected.format(base=base, parent=tmp_path)

"""One exit-code table for every command (`punchbridge.errors.ExitCode`, README "Exit codes").

Here: every command that reads a configuration exits 2 on a broken one, naming the file (and line),
without a traceback; every command's --help lists its codes with the table's words; the README
table is the enum; no module exits with a bare integer; and `jobs run` exits as the job's command
would. The scenarios that need an emulator prove their code beside their feature:
3 `tests/reconcile/test_cli.py` and `test_reconcile_job.py` (a difference, directly and as a job),
4 `tests/jobs/test_sigterm.py` and `test_lock.py` (a second scheduler, `jobs run` under one),
5 `tests/jobs/test_sigterm.py` (SIGTERM during `jobs run` and during `sync`),
6 `tests/employees/test_employees_cli.py`, `test_employees_job.py` (a mass delete, directly and as
a job) and `tests/minop/test_devices.py` (a refused `device purge-logs`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel, ConfigDict
from support.jobs_helpers import Recorder, write_setup

from punchbridge.cli import main
from punchbridge.cli.exits import LABELS
from punchbridge.employees import MassDeleteRefusedError
from punchbridge.errors import ConfigError, ExitCode, Problem
from punchbridge.jobs import runner as runner_module
from punchbridge.jobs.lock import SchedulerLock
from punchbridge.jobs.tasks import JobOutcome
from punchbridge.plugin_api import registry as registry_module
from punchbridge.plugin_api.targets import Target
from punchbridge.records import Batch, Outcome
from punchbridge.store import Store

REPO = Path(__file__).resolve().parents[1]


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _describe(result: Result) -> str:
    text = f"exit code {result.exit_code}\n--- output ---\n{result.output[-3000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text += "\n--- uncaught exception ---\n" + "".join(traceback.format_exception(result.exception))
    return text


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `group`, groups included, with the words that call it."""
    # Through click's own lookup: the top-level group imports its commands on first use.
    context = click.Context(group)
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        assert command is not None, f"{name} is listed but cannot be loaded"
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


LEAVES = [(words, command) for words, command in _commands(main) if not isinstance(command, click.Group)]
WITH_CONFIG = [
    (words, command)
    for words, command in LEAVES
    if any(isinstance(p, click.Option) and "--config" in p.opts for p in command.params)
]

#: A usable value for each required parameter, so that the configuration is what a command trips on.
#: A new command with a required parameter not listed here fails `test_every_required_parameter_has_a_value`.
VALUES = {
    "stgid": "dev1",
    "user_id": "1001",
    "first_name": "Asha",
    "last_name": "Rao",
    "start": "09:00:00",
    "end": "18:00:00",
    "days": "1,2,3",
    "date_from": "2025-10-01",
    "date_to": "2025-10-02",
    "period": "2025-10",
    "reason": "payroll rerun",
    "target": "payroll",
    "ids": "1",
    "employee": "E1",
    "name": "nightly",
}


def _arguments(command: click.Command, config: Path) -> list[str]:
    """`-c CONFIG` and the command's other required options and arguments, with usable values."""
    options: list[str] = ["-c", str(config)]
    arguments: list[str] = []
    for parameter in command.params:
        if not parameter.required or parameter.name == "config_path":
            continue
        value = VALUES[str(parameter.name)]
        if isinstance(parameter, click.Option):
            options += [parameter.opts[0], value]
        else:
            arguments.append(value)
    return options + arguments


GOOD = """\
store: sqlite:///store.db
employees: employees.csv
sites:
  blr: {timezone: Asia/Kolkata}
shifts:
  general: {start: "09:00", end: "18:00"}
"""

#: Broken configurations: (name, content or None for a missing file, the line to name or None).
BROKEN = [
    ("missing file", None, None),
    ("YAML syntax error", GOOD.replace("{timezone: Asia/Kolkata}", "{timezone: Asia/Kolkata"), 5),
    ("not a mapping", "- store: sqlite:///store.db\n", 1),
    ("unknown key", GOOD.replace("shifts:", "surprise: 1\nshifts:"), 5),
    ("impossible value", GOOD.replace('end: "18:00"}', 'end: "18:00", grace_in: -10}'), 6),
]


def test_every_command_that_reads_a_configuration_is_walked() -> None:
    names = {" ".join(words) for words, _command in WITH_CONFIG}
    assert {"sync", "reconcile", "serve", "schedule", "jobs run", "device purge-logs", "employees sync"} <= names
    assert "process" not in names, "process reads files given by options (tests/test_bad_input.py)"


def test_every_required_parameter_has_a_value() -> None:
    for words, command in WITH_CONFIG:
        for parameter in command.params:
            if parameter.required and parameter.name != "config_path":
                assert parameter.name in VALUES, f"add a value for {parameter.name!r} of `{' '.join(words)}` to VALUES"


@pytest.mark.parametrize(("case", "content", "line"), BROKEN, ids=[case for case, _c, _l in BROKEN])
@pytest.mark.parametrize(("words", "command"), WITH_CONFIG, ids=[" ".join(words) for words, _c in WITH_CONFIG])
def test_a_broken_configuration_exits_2_naming_the_file_and_line_without_a_traceback(
    tmp_path: Path, words: tuple[str, ...], command: click.Command, case: str, content: str | None, line: int | None
) -> None:
    config = tmp_path / "punchbridge.yaml"
    if content is not None:
        config.write_text(content)
    result = _invoke(*words, *_arguments(command, config))
    assert result.exit_code == ExitCode.BAD_INPUT, _describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), _describe(result)
    assert "Traceback" not in result.output, _describe(result)
    where = str(config) if line is None else f"{config}:{line}"
    assert where in result.stderr, f"the message does not name {where}:\n{result.stderr}"
    assert not (tmp_path / "store.db").exists(), "nothing is written for a broken configuration"


# -- what --help says -----------------------------------------------------------------------------------

_CODE_WORDS = re.compile(r"\b([0-9]) (" + "|".join(map(re.escape, LABELS.values())) + r")\b")
#: Each command's codes beyond 0, 1 and 2 that its help must list (the rest may list more).
EXPECTED = {
    "sync": {ExitCode.ATTENTION, ExitCode.STOPPED},
    "dlq retry": {ExitCode.ATTENTION},
    "reconcile": {ExitCode.ATTENTION, ExitCode.STOPPED},
    "employees sync": {ExitCode.STOPPED, ExitCode.REFUSED},
    "employees check": {ExitCode.ATTENTION},
    "device purge-logs": {ExitCode.REFUSED},
    "schedule": {ExitCode.BUSY},
    "jobs run": {ExitCode.ATTENTION, ExitCode.BUSY, ExitCode.STOPPED, ExitCode.REFUSED},
    "purge": {ExitCode.STOPPED},
}


def _help(words: tuple[str, ...]) -> str:
    result = _invoke(*words, "--help")
    assert result.exit_code == 0, _describe(result)
    return result.output


def _listed_codes(text: str) -> dict[ExitCode, str]:
    """The `Exit codes` list of a help text: code -> the word it goes by."""
    listing = text.split("Exit codes", 1)[1].split("Options:", 1)[0]
    found = re.findall(r"^\s+([0-9]) ([a-z ]+?)(?::|$)", listing, flags=re.MULTILINE)
    return {ExitCode(int(code)): word for code, word in found}


@pytest.mark.parametrize(("words", "command"), LEAVES, ids=[" ".join(words) for words, _c in LEAVES])
def test_every_command_lists_its_exit_codes_with_the_words_of_the_table(
    words: tuple[str, ...], command: click.Command
) -> None:
    text = _help(words)
    listed = _listed_codes(text)
    assert {ExitCode.OK, ExitCode.FAILED, ExitCode.BAD_INPUT} <= set(listed), text
    for code, word in listed.items():
        assert word == LABELS[code], (
            f"`{' '.join(words)} --help` calls {int(code)} {word!r}, the table {LABELS[code]!r}"
        )
    assert EXPECTED.get(" ".join(words), set()) <= set(listed), text
    described = text.split("Exit codes", 1)[0]
    assert not re.search(r"exit(s| code| status)? ?[0-9]", described, flags=re.IGNORECASE), (
        f"`{' '.join(words)} --help` states an exit code outside its list:\n{described}"
    )


def test_every_code_a_help_text_names_has_the_tables_word() -> None:
    for words, _command in [((), main), *_commands(main)]:
        for code, word in _CODE_WORDS.findall(_help(words)):
            assert LABELS[ExitCode(int(code))] == word, f"`punchbridge {' '.join(words)} --help`: {code} {word}"


def test_the_readme_table_is_the_exit_code_enum() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([0-9]) \| ([a-z ]+) \|", section, flags=re.MULTILINE)
    assert {ExitCode(int(code)): word for code, word in rows} == dict(LABELS)


# -- no bare integers -----------------------------------------------------------------------------------

_EXITS = {"exit", "_exit", "SystemExit", "exit_with"}


def _literal_exit_codes(tree: ast.AST) -> Iterator[int]:
    """Lines where an exit call, or an `exit_code`/`EXIT_*` assignment, uses an integer literal."""

    def is_integer(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and type(node.value) is int

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in _EXITS and node.args and is_integer(node.args[0]):
                yield node.lineno
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [
                t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else "" for t in targets
            ]
            named = any("exit_code" in n or n.startswith("EXIT_") for n in names)
            if named and any(is_integer(value) for value in ast.walk(node.value)):
                yield node.lineno


def test_the_literal_check_finds_what_it_looks_for() -> None:
    source = (
        "import sys\nsys.exit(3)\nraise SystemExit(1)\nctx.exit(4)\nclass E:\n    exit_code = 4\nEXIT_X = {'a': 3}\n"
    )
    assert sorted(_literal_exit_codes(ast.parse(source))) == [2, 3, 4, 6, 7]
    fine = "sys.exit(ExitCode.FAILED)\nctx.exit(exc.exit_code)\nexit_code = ExitCode.BUSY\nsys.exit(main())\n"
    assert list(_literal_exit_codes(ast.parse(fine))) == []


def test_no_module_exits_with_a_bare_integer() -> None:
    found = []
    for folder in ("core", "plugins", "jobs"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for line in sorted(_literal_exit_codes(ast.parse(path.read_text(), str(path)))):
                found.append(f"{path.relative_to(REPO)}:{line}")
    assert not found, f"use punchbridge.errors.ExitCode instead of a bare integer: {', '.join(found)}"


# -- `jobs run` exits as the job's command would -------------------------------------------------------


class RefusingSettings(BaseModel):
    """Whose records the fake payroll refuses."""

    model_config = ConfigDict(extra="forbid")

    refuse: list[str] = []


class RefusingTarget(Target):
    """Takes every record but those of the employees in `refuse` (refused one by one: dead letters)."""

    settings_model = RefusingSettings

    def push(self, batch: Batch) -> list[Outcome]:
        """One outcome per record."""
        settings: Any = self.settings
        return [
            Outcome(r.key, ok=False, message="not on the payroll")
            if r.key.split("|")[0] in settings.refuse
            else Outcome(r.key, ok=True, remote_id=r.key)
            for r in batch.records
        ]


@pytest.fixture
def refusing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small sync setup whose payroll refuses E1's records (plugin `refusing`)."""
    real = registry_module.load_plugins

    def with_refusing(only: set[str] | None = None) -> registry_module.PluginRegistry:
        loaded = real(only)
        loaded.targets["refusing"] = RefusingTarget
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", with_refusing)
    config = write_setup(tmp_path, whole_range=True)
    text = config.read_text().replace(
        "plugin: local_csv, mapping: mapping.yaml, folder: out", "plugin: refusing, mapping: mapping.yaml, refuse: [E1]"
    )
    config.write_text(text)
    return config


@pytest.mark.parametrize("command", [["sync"], ["jobs", "run", "nightly"]], ids=["sync", "jobs run"])
def test_dead_letters_exit_3_from_sync_and_from_its_job(refusing: Path, command: list[str]) -> None:
    result = _invoke(*command[:2], "-c", str(refusing), *command[2:])
    assert result.exit_code == ExitCode.ATTENTION, _describe(result)
    listed = _invoke("dlq", "list", "-c", str(refusing))
    assert "dead letters (5)" in listed.output and "not on the payroll" in listed.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MassDeleteRefusedError(["blr-1 would lose 3 of its 4 users (75%)"]), ExitCode.REFUSED),
        (ConfigError(Problem("employees.csv", "missing column shift", line=1)), ExitCode.BAD_INPUT),
        (KeyError("worked"), ExitCode.FAILED),
    ],
    ids=["refused", "bad input", "unexpected"],
)
def test_a_failed_job_exits_with_the_code_of_the_error_that_stopped_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, code: ExitCode
) -> None:
    def fail(_name: str, _context: object) -> JobOutcome:
        raise error

    monkeypatch.setattr(runner_module, "TASKS", Recorder(outcome=fail).table())
    result = _invoke("jobs", "run", "-c", str(write_setup(tmp_path)), "nightly")
    assert result.exit_code == code, _describe(result)
    assert "status=failed" in result.output
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.last_job_run("nightly")["status"] == "failed"


def test_a_job_stopped_at_once_by_a_second_signal_exits_5_and_is_recorded_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_name: str, _context: object) -> JobOutcome:
        raise KeyboardInterrupt  # what the second SIGTERM or Ctrl-C raises in the middle of a batch

    monkeypatch.setattr(runner_module, "TASKS", Recorder(outcome=interrupted).table())
    result = _invoke("jobs", "run", "-c", str(write_setup(tmp_path)), "nightly")
    assert result.exit_code == ExitCode.STOPPED, _describe(result)
    assert "the next run continues" in result.stderr
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.last_job_run("nightly")["status"] == "stopped"


def test_a_second_scheduler_on_the_same_store_exits_4_naming_the_first(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        first = SchedulerLock(store, host="node-a", pid=4242)
        first.acquire()
        try:
            second = _invoke("schedule", "-c", str(config))
        finally:
            first.release()
    assert second.exit_code == ExitCode.BUSY, _describe(second)
    assert "host node-a, pid 4242" in second.stderr

"""Every command of the command line, with usable values for its required parameters, so a test can run
each one (a command added later is walked too) and say what went wrong when one misbehaves."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner, Result

from punchbridge.cli import main

__all__ = ["LEAVES", "VALUES", "WITH_CONFIG", "arguments", "commands", "describe", "invoke"]


def invoke(*args: str) -> Result:
    """Run `punchbridge ARGS...` in-process."""
    return CliRunner().invoke(main, list(args))


def describe(result: Result) -> str:
    """The exit code, the output's end and any uncaught exception: what an assertion message shows."""
    text = f"exit code {result.exit_code}\n--- output ---\n{result.output[-3000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += "\n--- uncaught exception ---\n" + "".join(traceback.format_exception(result.exception))
    return text


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `group`, groups included, with the words that call it."""
    # Through click's own lookup: the top-level group imports its commands on first use.
    context = click.Context(group)
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        assert command is not None, f"{name} is listed but cannot be loaded"
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


LEAVES = [(words, command) for words, command in commands(main) if not isinstance(command, click.Group)]
#: The commands that read a configuration file (`-c/--config`).
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


def arguments(command: click.Command, config: Path) -> list[str]:
    """`-c CONFIG` and the command's other required options and arguments, with usable values."""
    options: list[str] = ["-c", str(config)]
    positional: list[str] = []
    for parameter in command.params:
        if not parameter.required or parameter.name == "config_path":
            continue
        value = VALUES[str(parameter.name)]
        if isinstance(parameter, click.Option):
            options += [parameter.opts[0], value]
        else:
            positional.append(value)
    return options + positional

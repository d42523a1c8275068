"""Exit codes in the command line: one table (`punchbridge.errors.ExitCode`), said the same way everywhere.

    @exit_codes({ExitCode.ATTENTION: "records were refused (see `punchbridge dlq list`)"})
    @click.command()
    def sync(...) -> None:
        ...
        exit_with(ExitCode.ATTENTION)

`exit_codes` appends the codes a command can give to its help, each with the table's word for it and
what it means for that command; every command can give 0, 1 and 2. `exit_with` ends the command
with a code of the table. Punchbridge errors end a command with their own `exit_code` (see
`punchbridge.cli.main`); README "Exit codes" has the table.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import NoReturn, TypeVar

import click

from punchbridge.errors import ExitCode

__all__ = ["LABELS", "describe_exit_codes", "exit_codes", "exit_with"]

#: The word each code goes by in every command's help (and in the README table).
LABELS: Mapping[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.FAILED: "failed",
    ExitCode.BAD_INPUT: "bad input",
    ExitCode.ATTENTION: "attention",
    ExitCode.BUSY: "busy",
    ExitCode.STOPPED: "stopped",
    ExitCode.REFUSED: "refused",
}

#: What a code means when a command says nothing more about it.
_MEANINGS: Mapping[ExitCode, str] = {
    ExitCode.OK: "",
    ExitCode.FAILED: "the message says what could not be done",
    ExitCode.BAD_INPUT: "a configuration, file or option is wrong, each problem named; nothing was written",
    ExitCode.ATTENTION: "finished, but a person should look at the report",
    ExitCode.BUSY: "another process holds the lock (it is named); try again later",
    ExitCode.STOPPED: "SIGTERM or Ctrl-C; the work in flight finished and the next run continues",
    ExitCode.REFUSED: "a safety check refused; rerun with the option named",
}

C = TypeVar("C", bound=click.Command)


def describe_exit_codes(notes: Mapping[ExitCode, str]) -> str:
    """The `Exit codes: ...` paragraph for a command that can also give the codes in `notes`."""
    codes = sorted({ExitCode.OK, ExitCode.FAILED, ExitCode.BAD_INPUT, *notes})
    lines = []
    for code in codes:
        meaning = notes.get(code) or _MEANINGS[code]
        lines.append(f"  {int(code)} {LABELS[code]}" + (f": {meaning}" if meaning else ""))
    # "\b" keeps click from rewrapping the list into one paragraph.
    return 'Exit codes (the table for every command: README "Exit codes"):\n\n\b\n' + "\n".join(lines)


def exit_codes(notes: Mapping[ExitCode, str] | None = None) -> Callable[[C], C]:
    """Append the command's exit codes to its help: 0, 1, 2, and those in `notes` with what they mean
    for this command. Put it above `@click.command()` (it takes the command)."""

    def decorate(command: C) -> C:
        help_text = inspect.cleandoc(command.help or "")  # as click would show it: the docstring's indent gone
        command.help = f"{help_text}\n\n{describe_exit_codes(notes or {})}"
        return command

    return decorate


def exit_with(code: ExitCode) -> NoReturn:
    """End the current command now, with `code`."""
    click.get_current_context().exit(code)

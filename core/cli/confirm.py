"""Confirmation before a command does what cannot be undone (`erase`, `device delete-user`, `device purge-logs`).

    confirm("delete user 1001 from dev1?", yes=yes, refusal="deleting a terminal's user cannot be undone")

With `--yes` the command goes on. On a terminal it asks; a "no" ends the command with "Aborted!" and
exit code 1, nothing done. Without a terminal (a script, a pipe, a scheduler) there is no one to ask:
the command refuses with exit code 6 (REFUSED) and names `--yes`, rather than wait on a prompt or
read an answer meant for something else.
"""

from __future__ import annotations

import sys

import click

from punchbridge.errors import ExitCode, PunchbridgeError

__all__ = ["NotConfirmedError", "confirm", "on_terminal"]


class NotConfirmedError(PunchbridgeError):
    """A command that cannot be undone was not confirmed and there is no terminal to ask on.

    Exit code 6 (`ExitCode.REFUSED`): rerun with the option the message names (`--yes`).
    """

    exit_code = ExitCode.REFUSED


def on_terminal() -> bool:
    """True when someone can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def confirm(question: str, *, yes: bool, refusal: str, option: str = "--yes") -> None:
    """Go on when `yes`; else ask `question` on a terminal (a no aborts, exit code 1); without a
    terminal raise NotConfirmedError: `refusal` (what would be lost), then how to confirm with `option`."""
    if yes:
        return
    if not on_terminal():
        raise NotConfirmedError(f"{refusal}: confirm with {option} (there is no terminal to ask on); nothing was done")
    click.confirm(question, abort=True)

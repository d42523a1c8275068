"""The `punchbridge` command line: one module per command group, registered here.

Every command turns a punchbridge error into one message on stderr and the error's exit code; the
codes mean the same in every command (`punchbridge.errors.ExitCode`, README "Exit codes"), and each
command's `--help` lists those it gives (`punchbridge.cli.exits`).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from punchbridge._version import __version__
from punchbridge.errors import ExitCode, PunchbridgeError

__all__ = ["main"]


#: Each command's module and attribute. A command's module is imported when that command runs (or when
#: `--help` lists it), so `punchbridge validate` never pays for what `process` or `serve` import.
COMMANDS: dict[str, str] = {
    "process": "process:process",
    "validate": "checks:validate",
    "config": "checks:config_group",
    "mappings": "checks:mappings",
    "plugins": "plugins:plugins_command",
    "plugin": "plugins:plugin_group",
    "sync": "sync:sync",
    "dlq": "dlq:dlq",
    "quarantine": "quarantine:quarantine_group",
    "device": "device:device_group",
    "emulate": "emulate:emulate_group",
    "employees": "employees:employees_group",
    "schedule": "jobs:schedule",
    "jobs": "jobs:jobs_group",
    "runs": "jobs:runs_command",
    "period": "periods:period_group",
    "purge": "retention:purge_command",
    "erase": "retention:erase_command",
    "reconcile": "reconcile:reconcile",
    "serve": "serve:serve",
}


class _Group(click.Group):
    """The top-level group: commands are imported on first use (`COMMANDS`); punchbridge errors become a
    message and the error's exit code, and an interrupt that stopped a command at once (a second SIGTERM
    or Ctrl-C) becomes exit code 5."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(f"punchbridge.cli.{module}"), attribute)
            # Registered under its table name: the name a user types is the one the table gives.
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PunchbridgeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # What was committed stays; a batch recorded before it was sent is resumed by the next run.
            click.echo("stopped: interrupted before the end; the next run continues", err=True)
            ctx.exit(ExitCode.STOPPED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="punchbridge")
def main() -> None:
    """punchbridge: biometric time-attendance terminals to payroll.

    Punches are stored durably, turned into processed attendance by the rules engine and delivered
    exactly once to payroll and HR systems.

    Exit codes, the same in every command: 0 done, 1 failed, 2 bad input, 3 attention, 4 busy,
    5 stopped, 6 refused (README "Exit codes"; each command's --help says what they mean for it).
    """

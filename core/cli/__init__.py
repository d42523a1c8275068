"""The `punchbridge` command line: one module per command group, registered here.

Every command turns a punchbridge error into one message on stderr and the error's exit code; the
codes mean the same in every command (`punchbridge.errors.ExitCode`, README "Exit codes"), and each
command's `--help` lists those it gives (`punchbridge.cli.exits`).
"""

from __future__ import annotations

from typing import Any

import click

from punchbridge._version import __version__
from punchbridge.cli import (
    checks,
    device,
    dlq,
    employees,
    emulate,
    jobs,
    periods,
    plugins,
    process,
    quarantine,
    reconcile,
    retention,
    serve,
    sync,
)
from punchbridge.errors import ExitCode, PunchbridgeError

__all__ = ["main"]


class _Group(click.Group):
    """A command group that turns punchbridge errors into a message and the error's exit code, and an
    interrupt that stopped a command at once (a second SIGTERM or Ctrl-C) into exit code 5."""

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


for _command in (
    process.process,
    checks.validate,
    checks.config_group,
    checks.mappings,
    plugins.plugins_command,
    plugins.plugin_group,
    sync.sync,
    dlq.dlq,
    quarantine.quarantine_group,
    device.device_group,
    emulate.emulate_group,
    employees.employees_group,
    jobs.schedule,
    jobs.jobs_group,
    jobs.runs_command,
    periods.period_group,
    retention.purge_command,
    retention.erase_command,
    reconcile.reconcile,
    serve.serve,
):
    main.add_command(_command)

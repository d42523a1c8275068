"""The `punchbridge` command line."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="punchbridge")
def main() -> None:
    """punchbridge: time-attendance terminals to payroll."""

"""Documentation keeps up with the code: every command and option a user can type is in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from punchbridge.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "punchbridge") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(main), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_and_option_is_in_the_readme(name: str, command: click.Command) -> None:
    assert name in README, f"`{name}` is not documented in README.md"
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            assert parameter.opts[0] in README, f"`{name} {parameter.opts[0]}` is not documented in README.md"


def test_every_command_has_help_text() -> None:
    for name, command in _commands(main):
        assert command.help, f"`{name}` has no help text"

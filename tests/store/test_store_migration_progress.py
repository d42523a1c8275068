"""Opening a store of an older version tells how far its migration has come (the receiver's start-up
draws it as a bar on a terminal); a store at the newest version tells nothing."""

from __future__ import annotations

from pathlib import Path

import alembic.command
import pytest
import uvicorn
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import create_engine
from support.cutoff_world import World
from support.terminal import fake_terminal

from punchbridge.cli import main
from punchbridge.store import Store
from punchbridge.store.database import MIGRATIONS


def _store_of_the_first_release(url: str) -> None:
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.upgrade(config, "0001")
    engine.dispose()


def test_an_older_store_reports_each_revision_applied(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_of_the_first_release(url)
    told: list[tuple[int, int]] = []
    with Store.open(url, migrating=lambda done, total: told.append((done, total))):
        pass
    total = told[0][1]
    assert total >= 7, "every revision after 0001"
    assert told == [(done, total) for done in range(total + 1)]
    again: list[tuple[int, int]] = []
    with Store.open(url, migrating=lambda done, total: again.append((done, total))):
        pass
    assert again == [], "nothing to migrate: nothing told"


def test_the_receiver_start_up_draws_the_migration_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    world = World(tmp_path)
    _store_of_the_first_release(world.url)
    screen = fake_terminal(monkeypatch)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)  # start-up only: no server
    result = CliRunner().invoke(main, ["serve", "-c", str(world.config)])
    assert "migrating the store" in screen.getvalue()
    assert "migrating the store" not in result.output, "the bar is on the terminal, not in the output"


def test_the_receiver_start_up_in_a_pipe_draws_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    world = World(tmp_path)
    _store_of_the_first_release(world.url)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)
    result = CliRunner().invoke(main, ["serve", "-c", str(world.config)])
    assert "migrating" not in result.output and "\x1b[" not in result.output

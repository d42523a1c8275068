"""`punchbridge purge` from the command line: recorded in the run history like a sync, and a progress bar
on a terminal only."""

from __future__ import annotations

import pytest
from support.cutoff_world import World
from support.terminal import fake_terminal


def test_a_purge_from_the_command_line_is_in_the_run_history(world: World) -> None:
    world.sync()
    assert world.cli("purge").exit_code == 0
    with world.store() as store:
        (run,) = store.list_runs(kind="purge")
    assert run["status"] == "ok" and run["started_by"] is None
    assert run["summary"]["dry_run"] is False and "removed" in run["summary"]
    listed = world.cli("runs", "--kind", "purge")
    assert listed.exit_code == 0 and " purge " in listed.output and " ok " in listed.output


def test_a_dry_run_purge_is_not_recorded(world: World) -> None:
    world.sync()
    assert world.cli("purge", "--dry-run").exit_code == 0
    with world.store() as store:
        assert store.list_runs(kind="purge") == []


def test_a_purge_shows_a_progress_bar_on_a_terminal(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = fake_terminal(monkeypatch)
    assert world.cli("purge").exit_code == 0
    assert "purging" in screen.getvalue()


def test_a_purge_in_a_pipe_shows_no_progress_bar(world: World) -> None:
    result = world.cli("purge")
    assert result.exit_code == 0
    assert "purging" not in result.output and "\x1b[" not in result.output

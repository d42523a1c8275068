"""A quiet night (nothing new in the inbox, nothing changed): the store keeps every cursor as it was.

Each write is a commit, and a commit an fsync: a night with nothing to do writes its run record and
takes and gives back the delivery lock, and nothing else (issue 18).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result
from support.jobs_helpers import write_setup

from punchbridge.cli import main


def _sync(config: Path) -> Result:
    return CliRunner().invoke(main, ["sync", "-c", str(config)], catch_exceptions=False)


def _cursors(store: Path) -> list[tuple[str, str, int]]:
    """Every cursor of the store: name, value and when it was last written."""
    with sqlite3.connect(store) as connection:
        return connection.execute("SELECT name, value, updated_at_ns FROM cursors ORDER BY name").fetchall()


def test_a_quiet_night_leaves_every_cursor_as_it_was(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    assert _sync(config).exit_code == 0
    before = _cursors(tmp_path / "store.db")
    assert {"source:terminals", "deliver:payroll"} <= {name for name, _value, _written in before}
    quiet = _sync(config)
    assert quiet.exit_code == 0, quiet.output
    assert "nothing new to send" in quiet.output
    assert _cursors(tmp_path / "store.db") == before

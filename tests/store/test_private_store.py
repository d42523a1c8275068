"""The SQLite store is private on disk: the file and its WAL/SHM are created 0600; an existing store
that other users may read is reported once (and left as it is)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.store_data import punches

from punchbridge.store import Store, files


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The umask most servers run with (022): new files would be readable by everyone."""
    previous = os.umask(0o022)
    files._warned.clear()
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_store_and_its_wal_and_shm_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "punchbridge.db"
    with Store.open(f"sqlite:///{database}") as store:
        store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]), source="file")
        side_files = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(path.exists() for path in side_files), "the store runs in WAL mode"
        assert {path.name: mode(path) for path in (database, *side_files)} == {
            "punchbridge.db": 0o600,
            "punchbridge.db-wal": 0o600,
            "punchbridge.db-shm": 0o600,
        }


def test_an_existing_store_readable_by_others_is_reported_once_and_left_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "shared.db"
    Store.open(f"sqlite:///{database}").close()
    database.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="punchbridge.store"):
        Store.open(f"sqlite:///{database}").close()
        Store.open(f"sqlite:///{database}").close()

    warnings = [record.getMessage() for record in caplog.records if "other users" in record.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"{database} (mode 0644)" in warnings[0] and f"chmod 600 {database}" in warnings[0]
    assert mode(database) == 0o644, "an operator's choice is reported, not changed"


def test_a_private_store_is_not_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "private.db"
    Store.open(f"sqlite:///{database}").close()
    with caplog.at_level(logging.WARNING, logger="punchbridge.store"):
        Store.open(f"sqlite:///{database}").close()
    assert "other users" not in caplog.text

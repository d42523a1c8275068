"""The receiver's writer limits are settings: how many writes one commit takes, how many may wait."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support.receiver_kit import make_config

from punchbridge.receiver.app import create_app
from punchbridge.receiver.rejection import RejectedError
from punchbridge.receiver.writer import GroupCommitWriter


class _SlowStore:
    """A store whose commits wait until the test lets them go; records the size of each commit."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()  # a commit is under way
        self.commits: list[int] = []

    def receive(self, writes: Sequence[Any], _now_ns: int) -> list[str]:
        self.entered.set()
        self.release.wait(timeout=30)
        self.commits.append(len(writes))
        return ["stored"] * len(writes)

    def purge_webhook_events(self, _older_than_ns: int) -> int:
        return 0


def test_settings_reach_the_writer(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_writes_per_commit=50, max_waiting_writes=300)
    app = create_app(config, _SlowStore())  # type: ignore[arg-type]
    writer = app.receiver.writer
    assert (writer._max_batch, writer._max_pending) == (50, 300)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_writes_per_commit", 0), ("max_waiting_writes", 0), ("max_writes_per_commit", "many")],
)
def test_a_limit_that_cannot_work_is_refused_naming_the_setting(tmp_path: Path, setting: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        make_config(tmp_path, **{setting: value})
    assert setting in str(refused.value)


def test_writes_beyond_the_waiting_limit_get_busy_and_the_others_are_stored() -> None:
    store = _SlowStore()

    async def scenario() -> tuple[list[str], list[RejectedError]]:
        writer = GroupCommitWriter(store, replay_window_ns=1, max_batch=2, max_pending=3)  # type: ignore[arg-type]
        writer.start()
        first = asyncio.create_task(writer.submit("w0"))  # type: ignore[arg-type]
        while not store.entered.is_set():  # until the first commit is under way (and held)
            await asyncio.sleep(0.01)
        waiting = [asyncio.create_task(writer.submit(f"w{i}")) for i in range(1, 4)]  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        refused: list[RejectedError] = []
        try:
            await writer.submit("w4")  # type: ignore[arg-type]
        except RejectedError as exc:
            refused.append(exc)
        store.release.set()
        stored = await asyncio.gather(first, *waiting)
        await writer.close()
        return stored, refused

    stored, refused = asyncio.run(scenario())
    assert stored == ["stored"] * 4
    assert len(refused) == 1 and refused[0].status == 503 and refused[0].headers == {"Retry-After": "1"}
    assert max(store.commits) <= 2  # no commit took more than max_writes_per_commit

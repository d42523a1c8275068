"""Group commit: the requests that arrive together are written in one transaction, each answered after it.

With `synchronous=FULL`, every SQLite commit waits for the disk (an fsync); one commit per push would
cap the receiver at the disk's fsync rate. Here each request hands its write to the writer and waits;
the writer takes everything waiting, commits it in one `Store.receive` call on its own thread, and
only then wakes each request with its outcome. While one commit runs, the next batch gathers, so the
batch grows with the load and no request waits for a timer.

One failing write must not fail the others committed with it: when a batch fails, each of its writes
is retried in its own transaction, and only the failing ones get the error. The same thread purges
webhook event ids older than the replay window, at start and then every `purge_every` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from punchbridge.errors import StoreError
from punchbridge.receiver.rejection import RejectedError
from punchbridge.store import Store
from punchbridge.store.receiver import ReceiverWrite

__all__ = ["GroupCommitWriter"]

log = logging.getLogger("punchbridge.receiver")

Outcome = str | BaseException


class GroupCommitWriter:
    """Serialises the receiver's writes to the store, committing those that wait together at once."""

    def __init__(
        self,
        store: Store,
        *,
        replay_window_ns: int,
        max_batch: int = 1000,
        max_pending: int = 20_000,
        purge_every: float = 3600.0,
        observe_batch: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._replay_window_ns = replay_window_ns
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._purge_every = purge_every
        self._observe_batch = observe_batch
        self._clock = clock
        self._pending: list[tuple[ReceiverWrite, asyncio.Future[str]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._next_purge = 0.0

    @property
    def running(self) -> bool:
        """True while the writer takes writes."""
        return self._task is not None and not self._task.done() and not self._closing

    def start(self) -> None:
        """Start the writer on the running event loop."""
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="punchbridge-store")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="punchbridge-group-commit")

    async def close(self) -> None:
        """Commit what is waiting, then stop (requests that come later get 503)."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def submit(self, write: ReceiverWrite) -> str:
        """Store `write` durably; returns its outcome once committed (`StoreError` when it could not be)."""
        if not self.running or self._wake is None:
            raise RejectedError(
                503, "unavailable", "the receiver is stopping: send again later", headers={"Retry-After": "5"}
            )
        if len(self._pending) >= self._max_pending:
            raise RejectedError(
                503, "busy", "too many writes are waiting for the store: send again later",
                headers={"Retry-After": "1"}, reason="busy",
            )  # fmt: skip
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            if time.monotonic() >= self._next_purge:
                await self._purge(loop)
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit_batch(loop, batch)
            if self._closing:
                return
            with contextlib.suppress(TimeoutError):  # time to purge again
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, self._next_purge - time.monotonic()))
            self._wake.clear()

    async def _commit_batch(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[ReceiverWrite, asyncio.Future[str]]]
    ) -> None:
        writes = [write for write, _ in batch]
        try:
            outcomes = await loop.run_in_executor(self._executor, self._commit, writes)
        except Exception as exc:  # a bug, not the store saying no: every waiting request learns of it
            log.exception("the receiver's writer failed")
            outcomes = [exc] * len(writes)
        if self._observe_batch is not None:
            self._observe_batch(len(writes))
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the request went away (client disconnected): its write stands
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _commit(self, writes: list[ReceiverWrite]) -> list[Outcome]:
        now_ns = int(self._clock() * 1e9)
        try:
            return list(self._store.receive(writes, now_ns))
        except (StoreError, ValueError) as exc:
            if len(writes) == 1:
                return [exc]
        results: list[Outcome] = []
        for write in writes:  # find the write that failed the batch; the others still get stored
            try:
                results.extend(self._store.receive([write], now_ns))
            except (StoreError, ValueError) as exc:
                results.append(exc)
        return results

    async def _purge(self, loop: asyncio.AbstractEventLoop) -> None:
        self._next_purge = time.monotonic() + self._purge_every
        older_than = int(self._clock() * 1e9) - self._replay_window_ns
        try:
            purged = await loop.run_in_executor(self._executor, self._store.purge_webhook_events, older_than)
        except StoreError as exc:
            log.warning("could not purge old webhook event ids: %s", exc)
            return
        if purged:
            log.info("forgot %d webhook event id(s) older than the replay window", purged)

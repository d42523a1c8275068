"""Stopping cleanly on a signal: SIGTERM or Ctrl-C becomes a stop request, a second one stops at once.

Apart from the scheduler (`punchbridge.jobs.service` re-exports it), so that a command that only
needs to stop cleanly (`punchbridge sync`, `reconcile`, `purge`...) does not import APScheduler.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["stop_on_signals"]

log = logging.getLogger("punchbridge.jobs")


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call `stop` on the first SIGTERM or SIGINT; a second one raises KeyboardInterrupt (stop now).

    Only in the main thread (Python delivers signals there); elsewhere it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        log.warning(
            "punchbridge received %s: stopping after the batch in flight (send it again to stop at once)",
            signal.Signals(signum).name,
        )
        stop()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

"""What the login-retry tests of every HTTP target share (issue 15, item 4).

`deliver` does what the sync engine does with a target (`punchbridge.sync.delivery`): open it (the
login), then push the batch with the engine's retries. `Waits` stands in for sleeping: a target's
`retry_sleep` records each wait instead of passing it, and stamina's test mode keeps its own
backoff from sleeping (`no_real_waits`), with the real number of attempts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import stamina

from punchbridge.plugin_api import Batch, Outcome, Target
from punchbridge.plugin_api.retries import RETRY_ATTEMPTS
from punchbridge.sync.batches import push_with_retries

__all__ = ["RETRY_ATTEMPTS", "Waits", "deliver", "no_real_waits"]


@contextmanager
def no_real_waits() -> Iterator[None]:
    """stamina without sleeping, with the policy's number of attempts."""
    with stamina.set_testing(True, attempts=RETRY_ATTEMPTS):
        yield


class Waits(list[float]):
    """The waits a target asked for, recorded instead of slept (set as the target's `retry_sleep`)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def deliver(target: Target, batch: Batch) -> list[Outcome]:
    """Open `target` and push `batch` as the sync engine does; the outcomes."""
    target.open()
    return push_with_retries(target, batch)

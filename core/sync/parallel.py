"""Targets side by side: one sync delivers to a bounded number of targets at the same time.

Each target's delivery (`punchbridge.sync.delivery.Delivery`) keeps its own batches, ledger rows,
retries and rate limits and holds its own delivery lock, so deliveries to different targets share
nothing but the store; a target waiting out a rate limit (`Retry-After`) only holds up itself.

    done = deliver_each(["zoho", "payroll"], deliver_one, concurrency=4, should_stop=stop.is_set)
    done.reports        # the reports of the targets served, in the order of the names
    done.not_started    # targets never started: a stop was asked for, or another one raised

A stop request is looked at before each target starts, as one after another; deliveries already
under way finish their batch in flight (`Delivery`). An error a delivery raises (not one it reports:
those are in its report) lets the deliveries under way finish, starts no other, and is raised
again once they are done (`DeliveriesDone.raise_error`), so what they did is saved and reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from punchbridge.sync.report import TargetReport

__all__ = ["DeliveriesDone", "deliver_each"]


@dataclass
class DeliveriesDone:
    """What `deliver_each` did: reports of the targets served, those not started, and the first error."""

    reports: list[TargetReport] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    #: a stop request kept a target from starting
    stopped: bool = False
    error: BaseException | None = None

    def raise_error(self) -> None:
        """Raise the error a delivery raised (the first in the order of the names), if any."""
        if self.error is not None:
            raise self.error


def deliver_each(
    names: Sequence[str],
    deliver: Callable[[str], TargetReport],
    *,
    concurrency: int,
    should_stop: Callable[[], bool],
) -> DeliveriesDone:
    """Call `deliver(name)` for each of `names`, at most `concurrency` at a time (1: in order, in this thread)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    done = DeliveriesDone()
    failed = threading.Event()
    outcomes: dict[str, TargetReport | BaseException | None] = {}

    def deliver_one(name: str) -> None:
        if failed.is_set():
            outcomes[name] = None
            return
        if should_stop():
            done.stopped = True
            outcomes[name] = None
            return
        try:
            outcomes[name] = deliver(name)
        except BaseException as exc:
            failed.set()
            outcomes[name] = exc

    workers = min(concurrency, len(names))
    if workers <= 1:
        for name in names:
            deliver_one(name)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="punchbridge-target") as pool:
            for future in [pool.submit(deliver_one, name) for name in names]:
                future.result()  # deliver_one keeps every error in `outcomes`
    for name in names:
        outcome = outcomes.get(name)
        if isinstance(outcome, TargetReport):
            done.reports.append(outcome)
        elif isinstance(outcome, BaseException):
            done.error = done.error or outcome
        else:
            done.not_started.append(name)
    return done

"""`deliver_each`: at most `concurrency` targets at a time, reports in the order of the names, a stop
keeps the targets not started from starting, and an error lets the others finish and is raised after."""

from __future__ import annotations

import threading
import time

import pytest

from punchbridge.sync.parallel import deliver_each
from punchbridge.sync.report import TargetReport

NAMES = ["zoho", "payroll", "odoo", "sap", "erpnext"]


class Deliveries:
    """Deliveries that count how many run at once, each taking a little while."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started: list[str] = []

    def deliver(self, name: str) -> TargetReport:
        with self.lock:
            self.started.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return TargetReport(name, delivered=len(name))


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_no_more_targets_than_the_setting_at_once_and_the_reports_in_configuration_order(concurrency: int) -> None:
    deliveries = Deliveries()

    done = deliver_each(NAMES, deliveries.deliver, concurrency=concurrency, should_stop=lambda: False)

    assert [report.name for report in done.reports] == NAMES
    assert [report.delivered for report in done.reports] == [len(name) for name in NAMES]
    assert 1 <= deliveries.most <= concurrency and done.not_started == [] and done.error is None
    if concurrency == 1:
        assert deliveries.started == NAMES


def test_two_slow_targets_overlap_when_two_may_run_at_once() -> None:
    both_started = threading.Barrier(2, timeout=10)

    def deliver(name: str) -> TargetReport:
        both_started.wait()  # breaks (an error) unless the other one is under way at the same time
        return TargetReport(name)

    done = deliver_each(["zoho", "payroll"], deliver, concurrency=2, should_stop=lambda: False)

    assert done.error is None and [report.name for report in done.reports] == ["zoho", "payroll"]


def test_a_stop_keeps_the_targets_not_yet_started_from_starting() -> None:
    stop = threading.Event()

    def deliver(name: str) -> TargetReport:
        stop.set()  # asked to stop while the first target is delivered
        return TargetReport(name)

    done = deliver_each(NAMES, deliver, concurrency=1, should_stop=stop.is_set)

    assert [report.name for report in done.reports] == ["zoho"]
    assert done.not_started == NAMES[1:] and done.stopped


def test_an_error_lets_the_deliveries_under_way_finish_starts_no_other_and_is_raised_after() -> None:
    finished: list[str] = []
    zoho_failed, payroll_started = threading.Event(), threading.Event()

    def deliver(name: str) -> TargetReport:
        if name == "zoho":
            payroll_started.wait(10)  # fails while payroll is under way
            zoho_failed.set()
            raise RuntimeError("zoho plugin broke")
        payroll_started.set()
        zoho_failed.wait(10)
        time.sleep(0.05)
        finished.append(name)
        return TargetReport(name)

    done = deliver_each(NAMES, deliver, concurrency=2, should_stop=lambda: False)

    assert finished == ["payroll"] and [report.name for report in done.reports] == ["payroll"]
    assert done.not_started == ["odoo", "sap", "erpnext"] and not done.stopped
    with pytest.raises(RuntimeError, match="zoho plugin broke"):
        done.raise_error()


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        deliver_each(NAMES, lambda name: TargetReport(name), concurrency=0, should_stop=lambda: False)

"""Sending journalled commands to the terminals and settling them in the store.

Each terminal's commands go in order through its own `DeviceClient` (terminals in parallel, at most
`concurrency` at once); the store is written only from the calling thread, in batches: each batch
marks its commands `done` (or failed) and writes the ledger rows they lead to, in one transaction.
A crash before a batch is written leaves its commands `pending`: the next run sends them again with
the same OperationIDs. The cloud may execute them a second time (the vendor says an OperationID is for
tracking only), and each command is safe to: see below.

How a command ends, by what the cloud said:

- `done`: settled done, the ledger row is its effect (an Update AccessTime run twice sets the same
  window twice);
- `Add User` answered "already exists" (a second run of it, or a user added by hand): the terminal
  holds the user, settled done; but a profile *change* answered so did not change it: settled failed;
- `Delete User` answered "not found" (a second run of it, or a user removed by hand): the terminal
  does not hold the user, which is what the command wanted: settled done;
- `Update AccessTime` answered `unknown_user`: the terminal lost the user (reset, removed by hand):
  settled failed, and the ledger row says it does not hold them, so the next run adds them again;
- any other refusal, or a 2xx that is not `done`: settled failed (not executed); the rest of that
  user's commands on that terminal are skipped;
- unreachable, deadline, malformed reply, credentials refused: nobody knows whether it was executed;
  that terminal stops, and its remaining commands stay pending for the next run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from punchbridge.config import DeviceSettings, MinopSettings
from punchbridge.employees.report import MAX_FAILURES, EmployeeSyncReport
from punchbridge.minop.devices import CommandFailedError, DeviceClient, DeviceCommand, Sent
from punchbridge.minop.http import MinopError, MinopRefusedError
from punchbridge.store import Store
from punchbridge.store.terminals import CommandSettlement, TerminalUser

__all__ = ["Outgoing", "send_commands"]

#: Settlements written per transaction (at most), and the longest wait before a partial batch is written.
SETTLE_BATCH = 500
SETTLE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A journalled command ready to send: its journal id, where, what, and the row it leads to."""

    journal_id: int
    stgid: str
    user_id: str
    action: str
    command: DeviceCommand
    epoch: str
    operation_id: str
    effect: TerminalUser


@dataclass(frozen=True, slots=True)
class _Result:
    stgid: str
    settlement: CommandSettlement | None = None
    left_pending: int = 0  # commands this terminal leaves for the next run
    error: str | None = None  # why this terminal stopped


def _absent(row: TerminalUser) -> TerminalUser:
    return replace(
        row,
        present=False,
        profile_hash=None,
        user_type=None,
        access_start=None,
        access_end=None,
        access_days=None,
        face_ref=None,
    )


def _drive(
    stgid: str,
    commands: Sequence[Outgoing],
    make_client: Callable[[], DeviceClient],
    results: queue.Queue[_Result],
    should_stop: Callable[[], bool],
) -> None:
    """Send one terminal's commands in order, putting one result per command on `results`."""
    failed_users: set[str] = set()
    with make_client() as client:
        for index, outgoing in enumerate(commands):
            if should_stop():
                results.put(_Result(stgid, left_pending=len(commands) - index, error=None))
                return
            if outgoing.user_id in failed_users:
                message = "not sent: an earlier command for this user on this terminal failed"
                results.put(_Result(stgid, CommandSettlement(outgoing.journal_id, "skipped", message)))
                continue
            try:
                sent = client.execute(stgid, outgoing.command, epoch=outgoing.epoch)
            except MinopRefusedError as exc:
                results.put(_Result(stgid, _refused(outgoing, exc, failed_users)))
            except CommandFailedError as exc:
                failed_users.add(outgoing.user_id)
                results.put(_Result(stgid, CommandSettlement(outgoing.journal_id, "failed", str(exc))))
            except MinopError as exc:  # unreachable, deadline, credentials: outcome unknown, stop here
                results.put(_Result(stgid, left_pending=len(commands) - index, error=str(exc)))
                return
            else:
                results.put(_Result(stgid, _settled(outgoing, sent, failed_users)))


def _settled(outgoing: Outgoing, sent: Sent, failed_users: set[str]) -> CommandSettlement:
    """A command the cloud took: done, unless it was a profile change the terminal did not make."""
    if sent.note is not None and outgoing.action == "profile":
        failed_users.add(outgoing.user_id)
        message = (
            f"{sent.command} on {sent.stgid}: {sent.note}; this cloud does not change a profile through Add "
            "User: change it on the terminal, or delete the user there and run again"
        )
        return CommandSettlement(outgoing.journal_id, "failed", message)
    return CommandSettlement(outgoing.journal_id, "done", row=outgoing.effect)


def _refused(outgoing: Outgoing, exc: MinopRefusedError, failed_users: set[str]) -> CommandSettlement:
    failed_users.add(outgoing.user_id)
    if exc.code == "unknown_user" and outgoing.action == "access":
        return CommandSettlement(outgoing.journal_id, "failed", str(exc), row=_absent(outgoing.effect))
    return CommandSettlement(outgoing.journal_id, "failed", str(exc))


def send_commands(
    commands: Sequence[Outgoing],
    *,
    minop: MinopSettings,
    devices: Mapping[str, DeviceSettings],
    store: Store,
    report: EmployeeSyncReport,
    concurrency: int,
    should_stop: Callable[[], bool],
    make_client: Callable[[], DeviceClient] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> set[str]:
    """Send `commands` (grouped by terminal, each terminal's in the order given), settle them in the
    store and count them in `report`; returns the terminals that left commands pending.
    `progress(terminal, done, total)` is told, from the calling thread, as each command ends."""
    by_terminal: dict[str, list[Outgoing]] = {}
    for outgoing in commands:
        by_terminal.setdefault(outgoing.stgid, []).append(outgoing)
    if not by_terminal:
        return set()
    factory = make_client or (lambda: DeviceClient(minop, devices))
    told = progress or (lambda _terminal, _done, _total: None)
    ended = dict.fromkeys(by_terminal, 0)  # commands settled or left pending, per terminal
    for stgid, entries in by_terminal.items():
        told(stgid, 0, len(entries))
    results: queue.Queue[_Result] = queue.Queue()
    stop = threading.Event()

    def stopping() -> bool:
        return stop.is_set() or should_stop()

    left: set[str] = set()
    batch: list[CommandSettlement] = []
    last_write = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(concurrency, len(by_terminal)), thread_name_prefix="employees") as pool:
        futures = [
            pool.submit(_drive, stgid, entries, factory, results, stopping) for stgid, entries in by_terminal.items()
        ]
        try:
            while True:
                running = any(not future.done() for future in futures)
                try:
                    result = results.get(timeout=0.05)
                except queue.Empty:
                    if not running and results.empty():
                        break
                    result = None
                if result is not None:
                    _count(result, report, left, batch)
                    ended[result.stgid] += (result.settlement is not None) + result.left_pending
                    told(result.stgid, ended[result.stgid], len(by_terminal[result.stgid]))
                if batch and (len(batch) >= SETTLE_BATCH or time.monotonic() - last_write >= SETTLE_SECONDS):
                    store.settle_terminal_commands(batch)
                    batch = []
                    last_write = time.monotonic()
            if batch:
                store.settle_terminal_commands(batch)
            for future in futures:
                future.result()  # a bug in a worker is raised here, not lost
        except BaseException:
            stop.set()  # the workers end after their command in flight; what was not settled stays pending
            raise
    if should_stop():
        report.stopped = True
    return left


def _count(result: _Result, report: EmployeeSyncReport, left: set[str], batch: list[CommandSettlement]) -> None:
    terminal = report.terminal(result.stgid)
    if result.settlement is not None:
        batch.append(result.settlement)
        status = result.settlement.status
        if status == "done":
            terminal.sent += 1
        elif status == "failed":
            terminal.failed += 1
            if len(terminal.failures) < MAX_FAILURES and result.settlement.error:
                terminal.failures.append(result.settlement.error)
        elif status == "skipped":
            terminal.skipped += 1
    if result.left_pending:
        terminal.pending += result.left_pending
        left.add(result.stgid)
    if result.error is not None:
        terminal.error = result.error

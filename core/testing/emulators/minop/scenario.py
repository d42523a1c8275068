"""Live scans at the emulated terminals, for `punchbridge emulate minop --push-to URL`.

Every `interval` seconds someone scans at the next terminal (round robin, users E0001 to E0020), and
the terminals push to the listener. With `trouble`, the scans include what real terminals do to a
listener, at fixed points so a run can be checked afterwards:

- scan 3: the terminal goes offline; it keeps its punches (from the cloud and the listener) for three
  rounds of scans, then comes back and forwards them, oldest first;
- scan 5: the listener's reply is lost, so the terminal sends the same punch again (a duplicate);
- scans 7 and 8: the terminal's clock was reset by a power cut: they are stamped 2000-01-01;
- scan 9: a malformed punch: its user id carries an invisible character (U+200B).

Scan times increase by at least a second each, so no two scans of one user at one terminal share a
second (a terminal's `LogTime` has seconds only).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["LiveScans", "ScanLog"]

USERS = 20
OFFLINE_AT = 3
RESENT_AT = 5
CLOCK_RESET_AT = (7, 8)
MALFORMED_AT = 9
#: Rounds of scans (one per terminal) a terminal stays offline.
OFFLINE_ROUNDS = 3
CLOCK_RESET = datetime(2000, 1, 1, tzinfo=UTC)


class _Terminals(Protocol):
    """What the scans need of the emulator."""

    def scan(self, stgid: str, user_id: str, at: datetime, *, resends: int = 0) -> object: ...

    def set_online(self, stgid: str, online: bool) -> int: ...

    def queues_empty(self) -> bool: ...


@dataclass
class ScanLog:
    """What the scans did: every punch as (terminal, user, time), and which were trouble."""

    punches: list[tuple[str, str, datetime]] = field(default_factory=list)
    clock_reset: list[int] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)


class LiveScans:
    """Scans on a background thread until `stop` is set or `punches` scans are done (0: no end)."""

    def __init__(
        self,
        terminals: _Terminals,
        names: Sequence[str],
        stop: threading.Event,
        *,
        interval: float = 5.0,
        punches: int = 0,
        trouble: bool = False,
        on_done: Callable[[ScanLog], None] | None = None,
    ) -> None:
        self.terminals = terminals
        self.names = list(names)
        self.stop = stop
        self.interval = interval
        self.punches = punches
        self.trouble = trouble
        self.on_done = on_done
        self.log = ScanLog()
        self._last = datetime.now(UTC) - timedelta(seconds=1)
        self._back_at: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="minop-live-scans", daemon=True)

    def start(self) -> None:
        """Start scanning in the background."""
        self._thread.start()

    def _moment(self) -> datetime:
        self._last = max(datetime.now(UTC), self._last + timedelta(seconds=1)).replace(microsecond=0)
        return self._last

    def _scan(self, number: int) -> None:
        stgid = self.names[(number - 1) % len(self.names)]
        user = f"E{(number - 1) % USERS + 1:04d}"
        at = self._moment()
        for name, back in list(self._back_at.items()):
            if number >= back:
                self.terminals.set_online(name, True)
                del self._back_at[name]
        if self.trouble:
            if number == OFFLINE_AT:
                self.terminals.set_online(stgid, False)
                self._back_at[stgid] = number + OFFLINE_ROUNDS * len(self.names)
                self.log.offline.append(stgid)
            if number in CLOCK_RESET_AT:
                at = CLOCK_RESET + timedelta(minutes=number)
                self.log.clock_reset.append(number)
            if number == MALFORMED_AT:
                user += "\u200b"
                self.log.malformed.append(number)
        resends = 1 if self.trouble and number == RESENT_AT else 0
        self.terminals.scan(stgid, user, at, resends=resends)
        if resends:
            self.log.resent.append(number)
        self.log.punches.append((stgid, user, at))

    def _run(self) -> None:
        number = 0
        while not self.stop.wait(self.interval):
            if self.punches and number >= self.punches:
                break
            number += 1
            self._scan(number)
        for name in list(self._back_at):  # the end: every terminal comes back and forwards what it kept
            self.terminals.set_online(name, True)
        self._back_at.clear()
        while not self.stop.is_set() and not self.terminals.queues_empty():
            self.stop.wait(0.1)
        if not self.stop.is_set() and self.on_done is not None:
            self.on_done(self.log)

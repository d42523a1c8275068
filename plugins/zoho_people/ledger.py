"""The local ledger of the `zoho_people` target (`state_file`, SQLite): what Zoho took, what is pending, calls.

Zoho has no idempotency key and no way to remove a punch through its API, so the plugin keeps the
punches it sent per (employee, date), its natural key: before sending it marks them pending, after
Zoho's reply it records what Zoho took. A day left pending (a crash, a lost reply) is read back from
Zoho before anything is sent again. The same file keeps the API calls used per UTC day and the
recent call times of each API, so the daily budget and the per-minute pacing carry across runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from punchbridge.plugin_api import FatalTargetError
from punchbridge.plugins.zoho_people.punches import DayKey, Punch

__all__ = ["SentDays"]


class SentDays:
    """The local ledger (`state_file`): punches Zoho took per natural key, pending sends, calls per day."""

    def __init__(self, path: Path) -> None:
        if not path.parent.is_dir():
            raise FatalTargetError(f"the folder of state_file {path} does not exist; create it or change state_file")
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS sent_days (scope TEXT, employee TEXT, work_date TEXT, held TEXT NOT NULL,"
                " pending TEXT, PRIMARY KEY (scope, employee, work_date));"
                "CREATE TABLE IF NOT EXISTS calls (scope TEXT, day TEXT, calls INTEGER NOT NULL,"
                " PRIMARY KEY (scope, day));"
                "CREATE TABLE IF NOT EXISTS recent_calls (scope TEXT, api TEXT, times TEXT NOT NULL,"
                " PRIMARY KEY (scope, api));"
            )
        except sqlite3.Error as exc:
            raise FatalTargetError(f"state_file {path} cannot be used: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the state file."""
        self._db.close()

    def load(self, scope: str, keys: Sequence[DayKey]) -> dict[DayKey, tuple[set[Punch], set[Punch] | None]]:
        """Per day of `keys` the ledger knows: (punches Zoho holds, punches pending or None)."""
        found: dict[DayKey, tuple[set[Punch], set[Punch] | None]] = {}
        query = "SELECT held, pending FROM sent_days WHERE scope = ? AND employee = ? AND work_date = ?"
        with self._lock:
            for key in keys:  # one primary-key lookup each: stays fast however large the ledger grows
                row = self._db.execute(query, (scope, *key)).fetchone()
                if row is not None:
                    found[key] = (_punch_set(row[0]), _punch_set(row[1]) if row[1] is not None else None)
        return found

    def save(self, scope: str, rows: Mapping[DayKey, tuple[set[Punch], set[Punch] | None]]) -> None:
        """Record held (and pending) punches per day, durably, in one transaction."""
        if not rows:
            return
        values = [
            (scope, e, d, _punch_text(held), _punch_text(pending) if pending is not None else None)
            for (e, d), (held, pending) in rows.items()
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO sent_days VALUES (?, ?, ?, ?, ?)", values)
            self._db.execute("COMMIT")

    def calls_on(self, scope: str, day: str) -> int:
        """API calls counted on UTC `day`."""
        with self._lock:
            row = self._db.execute("SELECT calls FROM calls WHERE scope = ? AND day = ?", (scope, day)).fetchone()
        return int(row[0]) if row else 0

    def set_calls(self, scope: str, day: str, calls: int, recent: Mapping[str, list[float]]) -> None:
        """Save the day's call count and each API's recent call times (for the next run's pacer)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO calls VALUES (?, ?, ?)", (scope, day, calls))
            self._db.executemany(
                "INSERT OR REPLACE INTO recent_calls VALUES (?, ?, ?)",
                [(scope, api, json.dumps(times)) for api, times in recent.items()],
            )
            self._db.execute("COMMIT")

    def recent(self, scope: str) -> dict[str, list[float]]:
        """Each API's call times a previous run saved."""
        with self._lock:
            rows = self._db.execute("SELECT api, times FROM recent_calls WHERE scope = ?", (scope,)).fetchall()
        return {api: [float(t) for t in json.loads(times)] for api, times in rows}


def _punch_text(punches: set[Punch]) -> str:
    """Punches as `in|2025-10-06 09:02:00;out|...` (sorted; wire times never hold `;` or `|`)."""
    return ";".join(sorted(f"{kind}|{moment}" for kind, moment in punches))


def _punch_set(text: str) -> set[Punch]:
    return {(item[: item.index("|")], item[item.index("|") + 1 :]) for item in text.split(";") if item}

"""One batch pushed to Zoho People: only what Zoho lacks, calls refused whole split to find the bad day,
rows Zoho did not answer for confirmed by reading the day back.

The steps, per batch (the package docstring says why):

1. Records become days of punches (`punches.day_of`) in the zone the target gives; the ledger
   (`state_file`) says what Zoho took of each. A day whose ledger row is pending, or that looks like
   it needs a punch removed, is read back first (`getAttendanceEntries`); so is every day with
   `read_before_write: always`.
2. A day Zoho already holds is ok without a call; a day that needs a punch removed is a dead letter;
   the others' missing punches are marked pending (durably) and packed into bulkImport calls.
3. A call Zoho refuses whole (7200 "API invocation failed" and kin: one bad row fails the call and
   Zoho names none) is split in two halves, by employee and then by day, again and again, until the
   refused day is alone: that day is the dead letter, with Zoho's words; the other days land. Calls
   hold an employee's days together, so a refused employee is found in a few calls; splitting costs
   about two calls per halving, and only when a call is refused.
4. Zoho's reply says per row what it took (`{"response": "success"}`: all of it; one result per row),
   or it does not: then the rows are confirmed by reading their days back. A punch Zoho does not show
   is not counted delivered: its day is a dead letter saying so, and a retry sends what is missing.
5. The ledger records what Zoho holds; a punch whose call got no answer (a timeout, a 5xx, a crash)
   stays pending, and the next push reads its day back before writing.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from punchbridge.plugin_api import BadRecordError, Batch, FatalTargetError, Outcome, TargetError, clip
from punchbridge.plugins.zoho_people.ledger import SentDays
from punchbridge.plugins.zoho_people.punches import (
    Day,
    DayKey,
    Punch,
    day_of,
    minute,
    pack,
    remote_id,
    stale_punches,
    word,
)
from punchbridge.plugins.zoho_people.replies import CallRefusedError

if TYPE_CHECKING:
    from punchbridge.plugins.zoho_people.target import ZohoPeopleTarget

__all__ = ["BatchPush"]

log = logging.getLogger("punchbridge.plugins.zoho_people")

Call = list[tuple[DayKey, Punch]]


@dataclass
class _Settled:
    """What became of the punches sent, per day."""

    taken: dict[DayKey, set[Punch]] = field(default_factory=dict)
    refused: dict[DayKey, list[str]] = field(default_factory=dict)
    unanswered: dict[DayKey, set[Punch]] = field(default_factory=dict)  # the reply did not say: to confirm
    uncertain: dict[DayKey, set[Punch]] = field(default_factory=dict)  # no reply at all: stays pending
    unconfirmed: dict[DayKey, tuple[set[Punch], str]] = field(default_factory=dict)
    touched: set[DayKey] = field(default_factory=set)


class BatchPush:
    """One `push` of the `zoho_people` target (see the module docstring)."""

    def __init__(self, target: ZohoPeopleTarget, batch: Batch) -> None:
        self.target, self.batch, self.settings = target, batch, target.settings
        self.days: dict[DayKey, Day] = {}

    def run(self) -> list[Outcome]:
        """The batch's outcomes, one per record, in order."""
        target, batch = self.target, self.batch
        columns = target.check_batch_columns(batch)
        sent = target.ledger()
        mode = "intervals" if "intervals" in columns else "first_last"
        outcomes: dict[str, Outcome] = {}
        twins: dict[DayKey, list[Day]] = {}
        for record in batch.records:
            try:
                day = day_of(record, mode, self.settings.identify_by, target.entry_zone_of(record))
            except BadRecordError as refusal:
                outcomes[record.key] = Outcome(record.key, False, message=str(refusal))
                continue
            first = self.days.setdefault(day.key, day)
            if first is not day:
                if first.punches != day.punches:
                    outcomes[record.key] = Outcome(
                        record.key,
                        False,
                        message=f"record {record.key} is {day.employee} on {day.work_date} like record "
                        f"{first.record.key}, with other times: two terminal ids mapped to one Zoho employee?",
                    )
                else:
                    twins.setdefault(day.key, []).append(day)
        days = self.days
        ledger = {
            key: (minute(held), minute(pending) if pending is not None else None)
            for key, (held, pending) in sent.load(target.scope, list(days)).items()
        }
        unsure = [key for key in days if self._unsure(mode, days[key], ledger.get(key))]
        to_send = {key: days[key].punches - ledger.get(key, (set(), None))[0] for key in days if key not in unsure}
        estimate = math.ceil(sum(len(p) for p in to_send.values()) / self.settings.punches_per_call)
        estimate += math.ceil(sum(len(days[key].punches) for key in unsure) / self.settings.punches_per_call)
        self._check_budget(len(unsure), estimate)
        held = {key: ledger[key][0] for key in ledger if key not in unsure}
        held.update(target.read_days([days[key] for key in unsure]))
        sending: dict[DayKey, list[Punch]] = {}
        updates: dict[DayKey, tuple[set[Punch], set[Punch] | None]] = {}
        for key, day in days.items():
            known = held.get(key, set())
            if key in unsure:
                updates[key] = (known, None)
            outdated = stale_punches(mode, day.punches, known)
            if outdated:
                outcomes[day.record.key] = Outcome(day.record.key, False, message=self._stale_message(day, outdated))
                continue
            missing = sorted(day.punches - known, key=lambda p: (p[1], p[0]))
            if missing:
                sending[key] = missing
                updates[key] = (known, set(missing))
            else:
                outcomes[day.record.key] = Outcome(day.record.key, True, remote_id=remote_id(day))
        sent.save(target.scope, updates)  # pending marks are durable before anything is sent
        calls = pack(sorted(sending.items()), self.settings.punches_per_call)  # an employee's days together
        log.info(
            "%s: batch %d: %d records, %d punches to send in %d bulkImport calls (+%d read back); about %.1f min "
            "at %d calls/min; %d daily calls left",
            target.name,
            batch.batch_id,
            len(batch.records),
            sum(len(p) for p in sending.values()),
            len(calls),
            len(unsure),
            len(calls) / self.settings.bulk_import_per_minute,
            self.settings.bulk_import_per_minute,
            target.calls_left_today(),
        )
        settled = self._send_calls(calls, held, sent)
        for key, punches in sending.items():
            record_key = days[key].record.key
            if key in settled.refused:
                outcomes[record_key] = Outcome(record_key, False, message=clip("; ".join(settled.refused[key])))
            elif key in settled.unconfirmed:
                outcomes[record_key] = Outcome(record_key, False, message=self._unconfirmed_message(key, settled))
            elif set(punches) <= settled.taken.get(key, set()):
                outcomes[record_key] = Outcome(record_key, True, remote_id=remote_id(days[key]))
        for key, copies in twins.items():
            for copy in copies:
                like = outcomes[days[key].record.key]
                outcomes[copy.record.key] = Outcome(copy.record.key, like.ok, like.remote_id, like.message)
        target.save_calls()
        return [outcomes[record.key] for record in batch.records]

    def _unsure(self, mode: str, day: Day, row: tuple[set[Punch], set[Punch] | None] | None) -> bool:
        """Whether Zoho's holding for `day` must be read back before writing."""
        if self.settings.read_before_write == "always":
            return True
        if row is None:
            return False
        held, pending = row
        return pending is not None or bool(stale_punches(mode, day.punches, held))

    def _check_budget(self, reads: int, bulk_calls: int) -> None:
        needed, left = reads + bulk_calls, self.target.calls_left_today()
        if needed > left:
            raise FatalTargetError(
                f"{self.target.where}: batch {self.batch.batch_id} needs {needed} API calls ({bulk_calls} bulkImport, "
                f"{reads} getAttendanceEntries) but only {left} of the daily {self.settings.daily_call_limit} are left "
                "today (UTC); nothing of it was sent. The next sync carries on where this one stopped; raise "
                "daily_call_limit only if your Zoho plan allows more"
            )

    def _stale_message(self, day: Day, stale: list[Punch]) -> str:
        held = ", ".join(f"{word(kind)} {moment}" for kind, moment in stale[:4])
        return (
            f"Zoho People already holds {held} for {self.settings.identify_by} {day.employee} on {day.work_date}, "
            "which the recomputed day no longer has, and its API cannot remove a punch: correct the day in Zoho "
            "People (regularise or delete the entry), then retry this dead letter"
        )

    def _unconfirmed_message(self, key: DayKey, settled: _Settled) -> str:
        missing, said = settled.unconfirmed[key]
        shown = ", ".join(f"{word(kind)} {moment}" for kind, moment in sorted(missing, key=lambda p: p[1])[:4])
        return clip(
            f"{said}; getAttendanceEntries does not show {shown} of {self.settings.identify_by} {key[0]} on {key[1]}, "
            "so it is not counted delivered. Retry this dead letter to send what is missing; if it stays missing, "
            "check the employee and the day in Zoho People"
        )

    # -- sending ------------------------------------------------------------------------------------

    def _send_calls(self, calls: list[Call], held: dict[DayKey, set[Punch]], sent: SentDays) -> _Settled:
        """Send the bulkImport calls (steps 3 to 5 of the module docstring); the ledger saved at the end."""
        settled = _Settled()
        failure: TargetError | None = None
        refused_whole: list[tuple[Call, CallRefusedError]] = []
        workers = min(self.settings.concurrency, max(len(calls), 1))
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            futures = [pool.submit(self.target.bulk_import, call) for call in calls] if pool is not None else []
            for index, call in enumerate(calls):
                if failure is not None and (pool is None or futures[index].cancel()):
                    self._settle(settled, call, None, known=True)  # never sent
                    continue
                try:
                    results = futures[index].result() if pool is not None else self.target.bulk_import(call)
                except CallRefusedError as refusal:
                    refused_whole.append((call, refusal))
                    continue
                except TargetError as exc:
                    failure = failure or exc
                    self._settle(settled, call, None, known=getattr(exc, "nothing_landed", False))
                    continue
                self._settle(settled, call, results, known=True)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if failure is None:
            failure = self._split(refused_whole, settled)
        else:
            for call, _ in refused_whole:
                self._settle(settled, call, None, known=True)
        shown: dict[DayKey, set[Punch]] = {}
        if settled.unanswered:
            if failure is None:
                try:
                    shown = self._confirm(settled)
                except TargetError as exc:
                    failure = exc
            if failure is not None:  # not confirmed: the next push reads these days back
                for key, punches in settled.unanswered.items():
                    settled.uncertain.setdefault(key, set()).update(punches)
        sent.save(
            self.target.scope,
            {
                key: (shown[key] if key in shown else held.get(key, set()) | settled.taken.get(key, set()),
                      settled.uncertain.get(key))
                for key in settled.touched
            },
        )  # fmt: skip
        if failure is not None:
            raise failure
        return settled

    @staticmethod
    def _settle(settled: _Settled, call: Call, results: list[tuple[bool | None, str]] | None, *, known: bool) -> None:
        for position, (key, punch) in enumerate(call):
            settled.touched.add(key)
            if results is None:
                if not known:
                    settled.uncertain.setdefault(key, set()).add(punch)
                continue
            taken, message = results[position]
            if taken is True:
                settled.taken.setdefault(key, set()).add(punch)
            elif taken is False:
                settled.refused.setdefault(key, []).append(message)
            else:
                settled.unanswered.setdefault(key, set()).add(punch)
                settled.unconfirmed[key] = (set(), message)  # the message, should the read-back miss some

    def _split(self, refused: list[tuple[Call, CallRefusedError]], settled: _Settled) -> TargetError | None:
        """Halve each call Zoho refused whole until the refused days are alone (step 3); a failure of
        another kind on the way stops the splitting and is returned (what was not sent stays as it was)."""
        queue = deque(refused)
        while queue:
            call, refusal = queue.popleft()
            keys = list(dict.fromkeys(key for key, _ in call))
            if len(keys) == 1:
                for key, _ in call:
                    settled.touched.add(key)
                settled.refused.setdefault(keys[0], []).append(self._refusal_text(keys[0], call, refusal))
                continue
            # Halve by employee first (what Zoho refuses is most often an employee: an unknown id, a
            # locked record), then by day once one employee is left.
            employees = list(dict.fromkeys(employee for employee, _ in keys))
            if len(employees) > 1:
                half = {key for key in keys if key[0] in employees[: len(employees) // 2]}
            else:
                half = set(keys[: len(keys) // 2])
            for part in ([item for item in call if item[0] in half], [item for item in call if item[0] not in half]):
                try:
                    self._settle(settled, part, self.target.bulk_import(part), known=True)
                except CallRefusedError as again:
                    queue.append((part, again))
                except TargetError as exc:
                    self._settle(settled, part, None, known=getattr(exc, "nothing_landed", False))
                    for rest, _ in queue:
                        self._settle(settled, rest, None, known=True)
                    return exc
        return None

    def _refusal_text(self, key: DayKey, call: Call, refusal: CallRefusedError) -> str:
        punches = ", ".join(f"{word(kind)} {moment}" for _, (kind, moment) in call[:4])
        code = f" (code {refusal.code})" if refusal.code is not None else ""
        hint = ""
        if refusal.code == 7200:
            hint = (
                f"; Zoho fails a call for one bad row and names none: check that {self.settings.identify_by} {key[0]} "
                "is an active Zoho People employee and the times are valid"
            )
        return (
            f"Zoho People refused {punches} of {self.settings.identify_by} {key[0]} on {key[1]}: {refusal.message}"
            f"{code}{hint}"
        )

    def _confirm(self, settled: _Settled) -> dict[DayKey, set[Punch]]:
        """Read back the days whose rows Zoho's reply did not answer for (step 4); what Zoho shows per day."""
        shown = self.target.read_days([self.days[key] for key in settled.unanswered])
        for key, punches in settled.unanswered.items():
            present = punches & shown.get(key, set())
            settled.taken.setdefault(key, set()).update(present)
            missing = punches - present
            if missing:
                settled.unconfirmed[key] = (missing, settled.unconfirmed[key][1])
            else:
                settled.unconfirmed.pop(key, None)
        return shown

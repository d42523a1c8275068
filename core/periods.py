"""Payroll periods and their locks. Pure: no I/O.

A payroll period is a calendar month, labelled `YYYY-MM` (the label the `payroll.cutoff.locked`
webhook and `punchbridge period lock --period` use). A lock holds for one site, or for every site
(site `*`). `PeriodLocks` answers the questions the sync engine and the purge ask: is this day's
period locked for its site, which is the next open period after it, is a month closed everywhere.
A lock whose label is not `YYYY-MM` (the cloud may send other labels) locks nothing and is listed in
`PeriodLocks.ignored`, so `punchbridge period list` can show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "EVERY_SITE",
    "PeriodLocks",
    "parse_period",
    "period_bounds",
    "period_label",
]

#: The site of a lock that holds for every site.
EVERY_SITE = "*"
_LABEL = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
#: How far `next_open` looks ahead before giving up (a store with 100 years locked ahead is broken).
_MAX_MONTHS_AHEAD = 1200


def parse_period(text: object) -> date:
    """The first day of the period labelled `text` (`2025-10`); ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"a period is a label like 2025-10, not {text!r}")
    match = _LABEL.fullmatch(text)
    if match is None or int(match.group(1)) < 1:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"{shown!r} is not a period: use YYYY-MM with a month 01 to 12, e.g. 2025-10")
    return date(int(match.group(1)), int(match.group(2)), 1)


def period_label(day: date | str) -> str:
    """The label of the period `day` (a date or `YYYY-MM-DD`) belongs to."""
    text = day.isoformat() if isinstance(day, date) else str(day)
    return text[:7]


def period_bounds(label: str) -> tuple[date, date]:
    """The first and last day of the period `label`."""
    first = parse_period(label)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def _next_label(label: str) -> str:
    first = parse_period(label)
    return period_label((first + timedelta(days=32)).replace(day=1))


@dataclass(frozen=True)
class PeriodLocks:
    """The locked periods: for every site, and per site; labels that lock nothing in `ignored`."""

    every_site: frozenset[str] = frozenset()
    by_site: Mapping[str, frozenset[str]] = field(default_factory=dict)
    ignored: tuple[tuple[str, str], ...] = ()  # (site, label) of locks whose label is not YYYY-MM

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> PeriodLocks:
        """Locks from (site, label) pairs; a pair whose label is not `YYYY-MM` goes to `ignored`."""
        every: set[str] = set()
        by_site: dict[str, set[str]] = {}
        ignored: list[tuple[str, str]] = []
        for site, label in pairs:
            try:
                parse_period(label)
            except ValueError:
                ignored.append((str(site), str(label)))
                continue
            if site == EVERY_SITE:
                every.add(label)
            else:
                by_site.setdefault(str(site), set()).add(label)
        return cls(
            every_site=frozenset(every),
            by_site={site: frozenset(labels) for site, labels in by_site.items()},
            ignored=tuple(ignored),
        )

    @classmethod
    def from_frame(cls, locks: pd.DataFrame) -> PeriodLocks:
        """Locks from `Store.period_locks()` (columns `site` and `period`)."""
        if len(locks) == 0:
            return cls()
        return cls.from_pairs(zip(locks["site"].astype(str), locks["period"].astype(str), strict=True))

    def __bool__(self) -> bool:
        return bool(self.every_site or self.by_site)

    def is_locked(self, site: str | None, label: str) -> bool:
        """True when period `label` is locked for `site` (or for every site)."""
        if label in self.every_site:
            return True
        return site is not None and label in self.by_site.get(site, frozenset())

    def locked_mask(self, sites: Sequence[object], work_dates: Sequence[object]) -> np.ndarray:
        """For each (site, work date `YYYY-MM-DD`): is the day's period locked for its site."""
        if not self or len(work_dates) == 0:
            return np.zeros(len(work_dates), dtype=bool)
        return np.fromiter(
            (
                self.is_locked(None if site is None or site != site else str(site), str(day)[:7])
                for site, day in zip(sites, work_dates, strict=True)
            ),
            dtype=bool,
            count=len(work_dates),
        )

    def next_open(self, site: str | None, label: str) -> str:
        """The first period after `label` that is not locked for `site`."""
        candidate = _next_label(label)
        for _ in range(_MAX_MONTHS_AHEAD):
            if not self.is_locked(site, candidate):
                return candidate
            candidate = _next_label(candidate)
        raise ValueError(f"every period for {_MAX_MONTHS_AHEAD} months after {label} is locked for site {site}")

    def closed_everywhere(self, label: str, sites: Iterable[str]) -> bool:
        """True when period `label` is locked for every site: by a `*` lock, or one lock per site."""
        chosen = list(sites)
        if label in self.every_site:
            return True
        return bool(chosen) and all(label in self.by_site.get(site, frozenset()) for site in chosen)

"""The source plugin surface: where punches come from (a CSV folder, the Minop cloud).

A source returns what arrived since its own cursor. It does not deduplicate: the store keeps one
copy of each punch (device, employee, instant), so reading the same thing twice is harmless.

A source whose own system also computes attendance (the Minop cloud with `processing: cloud`) returns
those processed days in `Fetched.days` and names the employees it covers in `covered_employees`: the
engine saves its days as they are (`recomputed` kept) and does not compute those employees itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel

from punchbridge.rules.settings import RuleSet

__all__ = ["Fetched", "Source", "SourceContext"]


@dataclass(frozen=True)
class SourceContext:
    """What a source needs to read punches: who the employees are and the range being synced."""

    employees: pd.DataFrame
    rules: RuleSet
    date_from: date
    date_to: date


@dataclass
class Fetched:
    """Punches a source read (engine columns), rows it held back, its new cursor, and processed days
    computed by the source's own system (None for a source of punches only)."""

    punches: pd.DataFrame  # employee_id, instant (UTC), device_id, direction
    quarantine: pd.DataFrame  # punchbridge.config.punchfile.QUARANTINE_COLUMNS
    cursor: str | None  # saved only after the punches (and days) are stored
    days: pd.DataFrame | None = None  # punchbridge.rules.frames.DAY_COLUMNS, for covered employees


class Source(ABC):
    """Base class of source plugins. One instance serves one configured source for one run."""

    settings_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, name: str, settings: BaseModel | Mapping[str, Any]) -> None:
        self.name = name
        self.settings = settings

    def covered_employees(self, context: SourceContext) -> Collection[str]:
        """The employees whose processed days this source supplies in `Fetched.days`; the engine does not
        compute their days with its own rules. Default: none (a source of punches only)."""
        return frozenset()

    @abstractmethod
    def fetch(self, context: SourceContext, cursor: str | None) -> Fetched:
        """Read what arrived since `cursor` (None on the first run)."""

    def fetch_pages(self, context: SourceContext, cursor: str | None) -> Iterator[Fetched]:
        """Read what arrived since `cursor` page by page (default: one page, `fetch`).

        A paged source (a cloud API with cursors) overrides this: the engine stores each page's
        punches and then saves that page's cursor before asking for the next, so an interrupted
        backfill resumes where it stopped.
        """
        yield self.fetch(context, cursor)

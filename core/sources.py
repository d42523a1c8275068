"""The source plugin surface: where punches come from (a CSV folder now; the Minop cloud later).

A source returns what arrived since its own cursor. It does not deduplicate: the store keeps one
copy of each punch (device, employee, instant), so reading the same thing twice is harmless.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel

from .rules.settings import RuleSet

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
    """Punches a source read (engine columns), rows it held back, and its new cursor."""

    punches: pd.DataFrame  # employee_id, instant (UTC), device_id, direction
    quarantine: pd.DataFrame  # punchbridge.punchfile.QUARANTINE_COLUMNS
    cursor: str | None  # saved only after the punches are stored


class Source(ABC):
    """Base class of source plugins. One instance serves one configured source for one run."""

    settings_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, name: str, settings: BaseModel | Mapping[str, Any]) -> None:
        self.name = name
        self.settings = settings

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

"""The source plugin surface: where punches come from (a CSV folder, the Minop cloud).

A source returns what arrived since its own cursor. It does not deduplicate: the store keeps one
copy of each punch (device, employee, instant), so reading the same thing twice is harmless.

A source whose own system also computes attendance (the Minop cloud with `processing: cloud`) returns
those processed days in `Fetched.days` and names the employees it covers in `covered_employees`: the
engine saves its days as they are (`recomputed` kept) and does not compute those employees itself.

Like a target, a source class is generic over its settings model (`class CsvFolderSource(Source[CsvFolderSettings])`):
the base validates the settings once and holds them typed as `self.settings`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel

from punchbridge.plugin_api.targets import model_argument, validated_settings

if TYPE_CHECKING:
    import pandas as pd

    from punchbridge.rules.settings import RuleSet

__all__ = ["Fetched", "Source", "SourceContext"]

#: The settings model of a source class (`Source[CsvFolderSettings]`).
SourceSettingsT = TypeVar("SourceSettingsT", bound=BaseModel)


@dataclass(frozen=True)
class SourceContext:
    """What a source needs to read punches: who the employees are and the range being synced.

    `cloud_events(type)` reads the webhook events of that type the receiver kept (`Store.cloud_events`:
    event_id, event_type, created_at, payload, received_at_ns), for a source whose system also sends
    events; None when the engine has no store to read them from.
    """

    employees: pd.DataFrame
    rules: RuleSet
    date_from: date
    date_to: date
    cloud_events: Callable[[str], pd.DataFrame] | None = None


@dataclass
class Fetched:
    """Punches a source read (engine columns), rows it held back, its new cursor, and processed days
    computed by the source's own system (None for a source of punches only)."""

    punches: pd.DataFrame  # employee_id, instant (UTC), device_id, direction
    quarantine: pd.DataFrame  # punchbridge.config.punchfile.QUARANTINE_COLUMNS
    cursor: str | None  # saved only after the punches (and days) are stored
    days: pd.DataFrame | None = None  # punchbridge.rules.frames.DAY_COLUMNS, for covered employees


class Source(ABC, Generic[SourceSettingsT]):
    """Base class of source plugins. One instance serves one configured source for one run."""

    #: The pydantic model of this source's settings; by default the type argument, `Source[Model]`.
    settings_model: ClassVar[type[BaseModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "settings_model" not in cls.__dict__:
            found = model_argument(cls, Source)
            if found is not None:
                cls.settings_model = found

    def __init__(self, name: str, settings: SourceSettingsT | Mapping[str, Any]) -> None:
        self.name = name
        #: The validated settings (the configuration's mapping as it was given, for a plugin without a model).
        self.settings: SourceSettingsT = cast(SourceSettingsT, validated_settings(self.settings_model, settings))

    def covered_employees(self, context: SourceContext) -> Collection[str]:
        """The employees whose processed days this source supplies in `Fetched.days`; the engine does not
        compute their days with its own rules. Default: none (a source of punches only)."""
        return frozenset()

    def nothing_new_since(self, cursor: str | None) -> bool:
        """True only when this source certainly holds nothing new since `cursor`, found without reading
        any punches (a folder's file sizes and times, not a request); then a sync whose other inputs are
        unchanged is a quiet night and skips the engine (`punchbridge.sync.quiet`). Default False: the
        engine reads the source as usual. A source whose `fetch` would return another cursor must say False.
        """
        return False

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

"""The target plugin surface: what a target receives, and what it must say back per record.

A target converts mapped records to its wire format, sends one batch at a time, and reports one
`Outcome` per record. Batching, retries, the ledger, dead letters and reporting belong to the sync
engine. Errors a target raises say what to do next:

    TargetError
    ├── TransientError        retry the whole batch later (network, 5xx); `retry_after` if known
    │   └── RateLimited       the target said slow down (429/503 with Retry-After)
    ├── CredentialsError      stop: fix the credentials (never retried)
    └── FatalTargetError      stop the run for this target, keep what was done

A record the target refuses on its own (bad value, unknown employee there) is not an exception: it
is an `Outcome` with `ok=False` and the target's message, and it goes to the dead letters.

Besides `push`, a target states its `capabilities` and may offer the other direction:
`pull_employees` (the target as system of record for employee sync) and `read_back` (what the
target holds for a period, for reconciliation). `check_columns` lets `punchbridge validate` and
`mappings check` say, before anything is sent, that a mapping lacks a column the target needs.
"""

from __future__ import annotations

import email.utils
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from punchbridge.records import Batch, Employee, HeldRecord, Outcome, Record

__all__ = [
    "CAPABILITIES",
    "MAX_RETRY_AFTER_SECONDS",
    "Batch",
    "CredentialsError",
    "Employee",
    "FatalTargetError",
    "HeldRecord",
    "Outcome",
    "RateLimited",
    "Record",
    "Target",
    "TargetError",
    "TransientError",
    "retry_after_seconds",
]


#: What a target can do (see the module docstring and `../docs/plugins.md`).
CAPABILITIES = frozenset({"push_attendance", "push_punches", "pull_employees", "read_back"})


#: The longest wait a Retry-After may ask for before a retry (the engine's own retry budget is 300 s).
MAX_RETRY_AFTER_SECONDS = 300.0


def retry_after_seconds(value: str | None, cap: float = MAX_RETRY_AFTER_SECONDS) -> float | None:
    """Seconds to wait from a `Retry-After` header value (delta seconds or an HTTP date), within 0..`cap`.

    None when the header is absent or unreadable (including `inf` and `nan`), so a target can raise
    `RateLimited(retry_after=retry_after_seconds(response.headers.get("retry-after")))` as it is.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap)


class TargetError(Exception):
    """Base of the errors a target raises for a whole batch."""


class TransientError(TargetError):
    """A failure worth retrying later (network error, server error)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The target asked us to slow down; `retry_after` seconds when it said so."""


class CredentialsError(TargetError):
    """Authentication or authorisation failed: fix the configuration; never retried."""


class FatalTargetError(TargetError):
    """The target cannot be used this run (misconfigured, refuses everything); stop and report."""


class Target(ABC):
    """Base class of target plugins. One instance serves one configured target for one run."""

    #: Most records the target takes in one batch (the engine never sends more).
    max_batch_size: int = 1000
    #: The pydantic model of this target's settings in the configuration file (the keys beside
    #: `plugin:` and `mapping:`). `punchbridge validate` checks them with file, line and field.
    settings_model: ClassVar[type[BaseModel] | None] = None
    #: What this target can do, a subset of `CAPABILITIES`.
    capabilities: ClassVar[frozenset[str]] = frozenset({"push_attendance"})

    def __init__(self, name: str, settings: BaseModel | Mapping[str, Any]) -> None:
        self.name = name
        self.settings = settings

    def open(self) -> None:  # noqa: B027 - optional hook, most targets connect lazily
        """Connect (called once before the first batch)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (called once at the end of the run, also after errors)."""

    @abstractmethod
    def push(self, batch: Batch) -> list[Outcome]:
        """Deliver `batch`; return one outcome per record. Must be safe to call again with the same batch."""

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: BaseModel | Mapping[str, Any]) -> list[str]:
        """What is wrong with a mapping's output `columns` for this target (empty: nothing).

        Called by `punchbridge validate` and `mappings check` before anything is sent; each text
        names the column and says what the target needs, e.g. "no column `check_in`: ...".
        """
        return []

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee the target holds, leavers included (only those changed after `since`).

        Pages to the end. Targets without the `pull_employees` capability raise FatalTargetError.
        """
        raise FatalTargetError(f"{self.describe()} cannot pull employees")

    def read_back(self, start: date, end: date, employees: Sequence[str] | None = None) -> Iterator[HeldRecord]:
        """What the target holds for the days `start`..`end` (inclusive), optionally for some employees only.

        Targets without the `read_back` capability raise FatalTargetError.
        """
        raise FatalTargetError(f"{self.describe()} cannot read back what it holds")

    def describe(self) -> str:
        """A one-line description for reports (never includes secrets)."""
        return f"{type(self).__name__} {self.name}"

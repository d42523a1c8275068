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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel

__all__ = [
    "Batch",
    "CredentialsError",
    "FatalTargetError",
    "Outcome",
    "RateLimited",
    "Record",
    "Target",
    "TargetError",
    "TransientError",
]


@dataclass(frozen=True)
class Record:
    """One mapped record to deliver: its stable key, the fields in output order, and its content hash."""

    key: str  # derived from content identity, e.g. "E1001|2025-03-03|day"; never a counter
    fields: Mapping[str, Any]  # column -> value, in the order the mapping defines
    content_hash: str  # sha256 of the canonical fields; the ledger compares it to what was sent


@dataclass(frozen=True)
class Batch:
    """A batch as the engine recorded it *before* sending: resending it must give the same result.

    `seq` is allocated per target and period when the batch is first recorded, so a resend after a
    crash reuses it (a file target names its file from it: same name, same bytes).
    """

    target: str
    batch_id: int
    period_start: date
    period_end: date
    seq: int
    records: Sequence[Record]
    columns: Sequence[str] = field(default_factory=tuple)  # output columns, in order


@dataclass(frozen=True)
class Outcome:
    """What the target did with one record."""

    key: str
    ok: bool
    remote_id: str | None = None  # the target's id for the record, or the file it landed in
    message: str | None = None  # the target's own words when ok is False


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

    def describe(self) -> str:
        """A one-line description for reports (never includes secrets)."""
        return f"{type(self).__name__} {self.name}"

"""The target plugin surface: what a target receives, and what it must say back per record.

A target converts mapped records to its wire format, sends one batch at a time, and reports one
`Outcome` per record. Batching, retries, the ledger, dead letters and reporting belong to the sync
engine. Errors a target raises say what to do next (defined in `punchbridge.errors`, re-exported
here):

    TargetError
    ├── TransientError        retry the whole batch later (network, 5xx); `retry_after` if known
    │   └── RateLimitedError  the target said slow down (429/503 with Retry-After)
    ├── CredentialsError      stop: fix the credentials (never retried)
    └── FatalTargetError      stop the run for this target, keep what was done
        └── TargetReplyError  the reply is not what the target sends

A record the target refuses on its own (bad value, unknown employee there) is not an exception: it
is an `Outcome` with `ok=False` and the target's message, and it goes to the dead letters. Inside a
plugin, `BadRecordError` carries such a refusal from the conversion of one record to its outcome,
and `RefusedError` a refusal the target itself answered to a write.

A target class is generic over its settings model: `class OdooTarget(Target[OdooSettings])`. The
base validates the settings once, in `__init__` (a mapping or the model), and holds them typed as
`self.settings`; `settings_model` follows from the type argument. Besides `push`, a target states
its `capabilities` and may offer the other direction: `pull_employees` (the target as system of
record for employee sync) and `read_back` (what the target holds for a period, for
reconciliation). `check_columns` lets `punchbridge validate` and `mappings check` say, before
anything is sent, that a mapping lacks a column the target needs.
"""

from __future__ import annotations

import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from punchbridge.errors import (
    BadRecordError,
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TargetReplyError,
    TransientError,
)
from punchbridge.records import Batch, Employee, HeldRecord, Outcome, Record

__all__ = [
    "BadRecordError",
    "Batch",
    "Capability",
    "CredentialsError",
    "Employee",
    "FatalTargetError",
    "HeldRecord",
    "OnlineCheck",
    "Outcome",
    "RateLimitedError",
    "Record",
    "RefusedError",
    "SettingsT",
    "Target",
    "TargetError",
    "TargetReplyError",
    "TransientError",
    "ZoneModel",
    "batch_columns",
    "validated_settings",
]


class Capability(StrEnum):
    """What a target can do besides what every target does (see the module docstring and docs/plugins/writing.md).

    Members are strings, so `"read_back" in target_class.capabilities` holds for a target that reads back.
    """

    PUSH_ATTENDANCE = "push_attendance"  #: takes processed days (one record per employee-day)
    PUSH_PUNCHES = "push_punches"  #: takes the punches of a day (check-ins and check-outs)
    PULL_EMPLOYEES = "pull_employees"  #: is a system of record for employee sync (`pull_employees`)
    READ_BACK = "read_back"  #: shows what it holds for a period, for reconciliation (`read_back`)


class RefusedError(BadRecordError):
    """The target refused what one call sent, for reasons of the records (a validation error), not of the run.

    `message` is the target's own words, for the records' dead letters; `reason` the target's name
    for the refusal (an exception type or error code), when it gives one.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


#: The settings model of a plugin class (`Target[OdooSettings]`, `Source[MinopSourceSettings]`).
SettingsT = TypeVar("SettingsT", bound=BaseModel)


def validated_settings(model: type[BaseModel] | None, settings: BaseModel | Mapping[str, Any]) -> Any:
    """`settings` as an instance of `model`: kept when it is one, else validated (a mapping, or another model's
    fields); as given when the plugin has no model. pydantic's ValidationError when they do not fit."""
    if model is None or isinstance(settings, model):
        return settings
    if isinstance(settings, BaseModel):
        settings = settings.model_dump()
    return model.model_validate(dict(settings))


def model_argument(cls: type, base: type) -> type[BaseModel] | None:
    """The settings model `cls` gives `base` (or a generic subclass of it) as type argument, or None.

    `class OdooTarget(HttpTarget[OdooSettings])` gives OdooSettings; a type variable gives None.
    """
    for parent in cls.__dict__.get("__orig_bases__", ()):  # its own bases only, never a parent's
        origin = typing.get_origin(parent)
        if isinstance(origin, type) and issubclass(origin, base):
            model = next(iter(typing.get_args(parent)), None)
            if isinstance(model, type) and issubclass(model, BaseModel):
                return model
    return None


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else ZoneInfo("UTC")


def batch_columns(batch: Batch) -> list[str]:
    """The output columns of `batch`: its own, else its first record's fields (none for an empty batch)."""
    return list(batch.columns) or (list(batch.records[0].fields) if batch.records else [])


class ZoneModel(StrEnum):
    """How a target's system places times in a time zone (docs/plugins/writing.md, "Time zones")."""

    #: The system keeps each record in its own site's zone, or as an instant with its offset (Odoo,
    #: Salesforce, SuccessFactors, Zoho People, SAP HCM files). A `timezone` setting then overrides
    #: the site's zone for every record: `punchbridge validate` refuses one that differs from a site's.
    SITE = "site"
    #: The system has one zone for the whole organisation and reads naive local times in it (ERPNext's
    #: system time zone): the `timezone` setting names that zone, and every record is converted to it.
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class OnlineCheck:
    """One result of `punchbridge validate --online`: what was checked against the live system, and how it went."""

    what: str  #: e.g. "login", "read hr.attendance", "API key expiry"
    ok: bool
    message: str = ""  #: the system's words, or what to do; for ok=True a note (e.g. "the key expires in 12 days")
    warning: bool = False  #: ok, but a person should act soon (an API key about to expire)


class Target(ABC, Generic[SettingsT]):
    """Base class of target plugins. One instance serves one configured target for one run."""

    #: Most records the target takes in one batch (the engine never sends more).
    max_batch_size: int = 1000
    #: The pydantic model of this target's settings in the configuration file (the keys beside
    #: `plugin:` and `mapping:`); by default the type argument, `Target[Model]`. `punchbridge
    #: validate` checks them with file, line and field.
    settings_model: ClassVar[type[BaseModel] | None] = None
    #: What this target can do.
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUSH_ATTENDANCE})
    #: How the target's system places times in a zone: per record's site (default), or one organisation zone.
    zone_model: ClassVar[ZoneModel] = ZoneModel.SITE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "settings_model" not in cls.__dict__:
            found = model_argument(cls, Target)
            if found is not None:
                cls.settings_model = found

    def __init__(self, name: str, settings: SettingsT | Mapping[str, Any]) -> None:
        self.name = name
        #: The validated settings (the configuration's mapping as it was given, for a plugin without a model).
        self.settings: SettingsT = cast(SettingsT, validated_settings(self.settings_model, settings))

    def open(self) -> None:
        """Connect (called once before the first batch)."""

    def close(self) -> None:
        """Release connections (called once at the end of the run, also after errors)."""

    @abstractmethod
    def push(self, batch: Batch) -> list[Outcome]:
        """Deliver `batch`; return one outcome per record. Must be safe to call again with the same batch."""

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: SettingsT) -> list[str]:
        """What is wrong with a mapping's output `columns` for this target, given its validated `settings` (empty:
        nothing).

        Called by `punchbridge validate` and `mappings check` before anything is sent; each text
        names the column and says what the target needs, e.g. "no column `check_in`: ...".
        """
        return []

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee the target holds, leavers included (only those changed after `since`).

        Pages to the end. Targets without `Capability.PULL_EMPLOYEES` raise FatalTargetError.
        """
        raise FatalTargetError(f"{self.describe()} cannot pull employees")

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What the target holds for the days `start`..`end` (inclusive), optionally for some employees only.

        `zones` maps the target's employee ids to the IANA zone of their site: a held time belongs to
        the work date of its employee's zone (`zone_for`). Targets without `Capability.READ_BACK` raise
        FatalTargetError.
        """
        raise FatalTargetError(f"{self.describe()} cannot read back what it holds")

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: SettingsT) -> Mapping[str, Any]:
        """`fields` as the target will store them: rounded or truncated to the precision it keeps.

        The engine hashes and sends this form, and reconciliation compares what the target holds with
        it, so a value the target keeps at a lower precision (SuccessFactors hours: 2 decimals; Zoho
        People times: minutes) is never a difference nor a resend. Default: unchanged.
        """
        return fields

    def zone_of(self, record: Record) -> ZoneInfo:
        """The zone to write `record`'s times in: the `timezone` setting when given (an override, or the
        organisation's zone), else the record's site zone, else UTC."""
        return _zone(getattr(self.settings, "timezone", None) or record.timezone)

    def zone_for(self, employee: str, zones: Mapping[str, str] | None) -> ZoneInfo:
        """The zone of `employee` (a target employee id) for read-back: which local day a held time belongs to.

        For a `ZoneModel.SITE` target, the `timezone` override when given, else the employee's site zone
        from `zones`; for a `ZoneModel.ORGANISATION` target, the employee's site zone (`timezone` names the
        system's zone, not the employee's), else `timezone`. UTC when nothing is known.
        """
        site = (zones or {}).get(employee)
        setting = getattr(self.settings, "timezone", None)
        if self.zone_model_for(self.settings) is ZoneModel.ORGANISATION:
            return _zone(site or setting)
        return _zone(setting or site)

    @classmethod
    def zone_model_for(cls, settings: SettingsT) -> ZoneModel:
        """How this target places times in a zone with these settings (default: the class's `zone_model`).

        A plugin whose settings choose between the two (Zoho People's `entry_zone`) overrides this;
        `punchbridge validate` checks the `timezone` setting against what it returns.
        """
        return cls.zone_model

    def check_online(self) -> list[OnlineCheck]:
        """`punchbridge validate --online`: log in and check, read-only, what the target needs (permissions,
        key expiry, required site options). Writes nothing. Default: open and close the connection."""
        try:
            self.open()
        except TargetError as exc:
            return [OnlineCheck("login", False, str(exc))]
        finally:
            self.close()
        return [OnlineCheck("login", True)]

    def describe(self) -> str:
        """A one-line description for reports (never includes secrets)."""
        return f"{type(self).__name__} {self.name}"

    def check_batch_columns(self, batch: Batch) -> list[str]:
        """The columns of `batch` (`batch_columns`); FatalTargetError when `check_columns` finds them wrong.

        A mapping that does not fit is the configuration's fault, not the records': nothing is sent.
        """
        columns = batch_columns(batch)
        problems = self.check_columns(columns, self.settings)
        if problems:
            raise FatalTargetError(f"{self.describe()}: the mapping does not fit: " + "; ".join(problems))
        return columns

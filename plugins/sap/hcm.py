"""The `sap_hcm` target: processed days as SAP HCM time events in a file dropped over SFTP for the upload job.

SAP HCM on premise takes clock events as time event types P10 (clock-in), P20 (clock-out), P15
(break start) and P25 (break end) into table TEVEN, through `BAPI_CC1_UPLOAD_TIMEEVENT` or the
customer's own upload program. RFC needs SAP's proprietary SDK, so punchbridge delivers a file of
such events (personnel number, date, time, event type, terminal id) that the customer's scheduled
upload job reads. Events come from the mapping's `intervals` column (first start P10, last end P20,
each gap P15 then P25) or from `check_in`/`check_out` (P10, P20): `punchbridge.plugins.sap.time_events`.
Each event's date and time are the wall clock of the day's own site zone (the record's `timezone`),
or of the `timezone` setting when one is given (an override).

Layout (`layout`, `columns`, `widths`, ...): by default a CSV with the header `PERNR,LDATE,LTIME,
SATZA,TERID`, dates `YYYYMMDD` and times `HHMMSS` as SAP stores them; `layout: fixed` writes the
same fields at the TEVEN widths (8, 8, 6, 3, 4) without separators or header. Every value is
checked against its width (a value that does not fit is the record's dead letter, never cut): in
customer upload programs one bad line rejects the whole file.

Nothing in SAP HCM replaces a day (`punchbridge.plugins.sap.hcm_sent`): a day sent again carries
only the events SAP was not sent yet, and the events it no longer has are listed for the SAP
operator in a corrections file beside the events file (`{prefix}-corrections_..._{seq:04d}.csv`:
personnel number, date, time, event type, terminal, work date and what to do), never sent again
nor silently dropped. What each day was sent is kept per file in `sent_folder`.

Delivery follows the `sftp_csv` target's rules, by reusing it (this class is an `SftpCsvTarget`):
pinned host key, upload as `name.part`, size check, posix-rename, manifest `name.sha256` last, and a
name that depends only on the batch (`{prefix}_{period_start}_{period_end}_{seq:04d}.{extension}`),
so a resend writes the same files and a retry never makes a second one.
"""

from __future__ import annotations

import csv
import errno
import io
import logging
import posixpath
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    FatalTargetError,
    OnlineCheck,
    Outcome,
    Record,
    Register,
    TargetError,
    TimeZoneName,
    hookimpl,
)
from punchbridge.plugins.csv_drop import file_name, manifest, manifest_name
from punchbridge.plugins.sap.hcm_sent import SentEvent, change_of, sent_bytes, sent_name, state_before
from punchbridge.plugins.sap.stored import stored_times
from punchbridge.plugins.sap.time_events import day_events, employee_of, work_date_of
from punchbridge.plugins.sftp_csv import SftpCsvSettings, SftpCsvTarget

__all__ = ["FIELDS", "EventCodes", "SapHcmSettings", "SapHcmTarget", "register_targets", "render_events"]

log = logging.getLogger(__name__)

#: The fields a line can hold, with SAP's TEVEN names (the default CSV header) and widths.
FIELDS = {
    "pernr": ("PERNR", 8),
    "date": ("LDATE", 8),
    "time": ("LTIME", 6),
    "event_type": ("SATZA", 3),
    "terminal": ("TERID", 4),
    "work_date": ("WORKDATE", 8),
}
#: The corrections file's columns (always CSV with a header: it is for a person).
CORRECTION_COLUMNS = ("pernr", "date", "time", "event_type", "terminal", "work_date")
#: What the SAP operator should do with each event a corrections file lists.
CORRECTION_ACTION = (
    "cancel in SAP: the recomputed day no longer has this event (Time Events infotype 2011, e.g. PA61; "
    "or the cancellation flag STOKZ in TEVEN)"
)
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_SECONDS = ("%S", "%T", "%X", "%c")


class EventCodes(BaseModel):
    """The time event type written for each kind of clock event."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    clock_in: str = Field(default="P10", min_length=1, max_length=3)
    clock_out: str = Field(default="P20", min_length=1, max_length=3)
    break_start: str = Field(default="P15", min_length=1, max_length=3)
    break_end: str = Field(default="P25", min_length=1, max_length=3)


class SapHcmSettings(SftpCsvSettings):
    """Settings of a `sap_hcm` target: the `sftp_csv` connection settings plus the file layout."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    prefix: str = Field(default="timeevents", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    layout: Literal["csv", "fixed"] = "csv"
    columns: tuple[Literal["pernr", "date", "time", "event_type", "terminal", "work_date"], ...] = (
        "pernr",
        "date",
        "time",
        "event_type",
        "terminal",
    )
    widths: dict[str, int] = Field(default_factory=lambda: {name: width for name, (_, width) in FIELDS.items()})
    header: bool = True
    header_names: dict[str, str] = Field(default_factory=lambda: {name: title for name, (title, _) in FIELDS.items()})
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    date_format: str = "%Y%m%d"
    time_format: str = "%H%M%S"
    event_types: EventCodes = Field(default_factory=EventCodes)  # made on first use, as in successfactors
    terminal_id: str = Field(default="PB01", min_length=1, max_length=10)
    pad_personnel_numbers: bool = True
    extension: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,8}$")
    line_ending: Literal["lf", "crlf"] = "lf"
    #: An override: every event's date and time in this zone instead of its own site's.
    timezone: TimeZoneName | None = None
    #: Where punchbridge keeps what each file sent (default: the folder `punchbridge-sent` inside `folder`).
    sent_folder: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> SapHcmSettings:
        if self.escape_formulas:
            raise ValueError("escape_formulas does not apply to sap_hcm: its files hold codes and times, never text")
        if not self.columns or len(set(self.columns)) != len(self.columns):
            raise ValueError("columns must name each field once (pernr, date, time, event_type, terminal, work_date)")
        unknown = sorted((set(self.widths) | set(self.header_names)) - set(FIELDS))
        if unknown:
            raise ValueError(f"widths/header_names name unknown fields {unknown}; known: {', '.join(FIELDS)}")
        for name in self.columns:
            if not 1 <= self.widths.get(name, FIELDS[name][1]) <= 64:
                raise ValueError(f"widths.{name} must be 1 to 64")
        if self.delimiter.isalnum() or self.delimiter in "\"'\r\n" or not _PRINTABLE.fullmatch(self.delimiter):
            raise ValueError("delimiter must be one printable, non-alphanumeric character other than a quote")
        codes = [("terminal", self.terminal_id)] + [("event_type", c) for c in self.event_types.model_dump().values()]
        for field, code in codes:
            if not _PRINTABLE.fullmatch(code) or self.delimiter in code:
                raise ValueError(f"{code!r} must be printable ASCII without the delimiter")
            if field in self.columns and len(code) > self.width(field):
                raise ValueError(f"{code!r} is longer than widths.{field} ({self.width(field)})")
        return self

    def width(self, name: str) -> int:
        """The width of field `name` (the setting, else TEVEN's)."""
        return self.widths.get(name, FIELDS[name][1])

    @property
    def suffix(self) -> str:
        """The file extension: `extension`, else `csv` or `txt` by layout."""
        return self.extension or ("csv" if self.layout == "csv" else "txt")

    @property
    def sent_path(self) -> str:
        """The remote folder of the sent-events records."""
        return self.sent_folder or posixpath.join(self.folder, "punchbridge-sent")

    @property
    def to_the_minute(self) -> bool:
        """Whether the file's times carry no seconds (`time_format` without `%S`): events compare to the minute."""
        return not any(code in self.time_format for code in _SECONDS)


def _values(event: SentEvent, config: SapHcmSettings) -> dict[str, str]:
    """One event as the text of each field, in the layout's formats."""
    moment = event.moment
    return {
        "pernr": event.pernr,
        "date": moment.strftime(config.date_format),
        "time": moment.strftime(config.time_format),
        "event_type": getattr(config.event_types, event.kind),
        "terminal": event.terminal,
        "work_date": datetime.fromisoformat(event.work_date).strftime(config.date_format),
    }


def _events_of(
    record: Record, columns: Sequence[str], config: SapHcmSettings, zone: ZoneInfo | None
) -> list[SentEvent]:
    """The record's events (BadRecordError when it has none readable, or one does not fit the layout)."""
    pernr = employee_of(record, "SAP personnel number (PERNR)")
    if pernr.isdigit() and config.pad_personnel_numbers:
        pernr = pernr.zfill(config.width("pernr"))
    terminal = str(record.fields.get("terminal") or "").strip() or config.terminal_id
    work_date = work_date_of(record).isoformat()
    events = []
    for event in day_events(record, columns):
        local = (event.moment.astimezone(zone) if zone else event.moment).replace(microsecond=0)
        sent = SentEvent(pernr, local.isoformat(), event.kind, terminal, work_date)
        values = _values(sent, config)
        for name in config.columns:
            value = values[name]
            if len(value) > config.width(name):
                raise BadRecordError(
                    f"record {record.key}: {name} {value!r} is {len(value)} characters; the layout gives it "
                    f"{config.width(name)} (widths.{name})"
                )
            if not _PRINTABLE.fullmatch(value) or (config.layout == "csv" and config.delimiter in value):
                raise BadRecordError(
                    f"record {record.key}: {name} {value!r} holds a character the upload file cannot carry "
                    "(only printable ASCII, never the delimiter)"
                )
        events.append(sent)
    return events


def render_events(lines: Sequence[Mapping[str, str]], config: SapHcmSettings) -> bytes:
    """The file's bytes: CSV (header unless `header: false`) or fixed-width lines; ASCII, deterministic."""
    ending = "\r\n" if config.line_ending == "crlf" else "\n"
    if config.layout == "fixed":
        text = []
        for line in lines:
            cells = []
            for name in config.columns:
                value, width = line[name], config.width(name)
                numeric = name == "pernr" and value.isdigit()
                cells.append(value.rjust(width, "0") if numeric else value.ljust(width))
            text.append("".join(cells) + ending)
        return "".join(text).encode("ascii")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=config.delimiter, lineterminator=ending, quoting=csv.QUOTE_MINIMAL)
    if config.header:
        writer.writerow([config.header_names.get(name, FIELDS[name][0]) for name in config.columns])
    for line in lines:
        writer.writerow([line[name] for name in config.columns])
    return buffer.getvalue().encode("ascii")


def render_corrections(gone: Sequence[tuple[str, SentEvent]], config: SapHcmSettings) -> bytes:
    """The corrections file: a header, then per event its fields, what to do, and punchbridge's record key."""
    ending = "\r\n" if config.line_ending == "crlf" else "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=config.delimiter, lineterminator=ending, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([config.header_names.get(n, FIELDS[n][0]) for n in CORRECTION_COLUMNS] + ["ACTION", "RECORD"])
    for key, event in gone:
        values = _values(event, config)
        writer.writerow([values[name] for name in CORRECTION_COLUMNS] + [CORRECTION_ACTION, key])
    return buffer.getvalue().encode("ascii", errors="replace")


class SapHcmTarget(SftpCsvTarget):
    """Uploads each batch's new events as a file plus manifest to the SAP upload job's SFTP folder, and lists
    the events a changed day no longer has in a corrections file beside it."""

    max_batch_size = 50_000
    settings_model: ClassVar[type[BaseModel] | None] = SapHcmSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUSH_ATTENDANCE, Capability.PUSH_PUNCHES})
    settings: SapHcmSettings

    def describe(self) -> str:
        """`sap_hcm NAME -> user@host:port/folder (layout)` (no secrets)."""
        config = self.settings
        return f"sap_hcm {self.name} -> {config.username}@{config.host}:{config.port}/{config.folder} ({config.layout})"

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: SftpCsvSettings) -> list[str]:
        """`employee` (the personnel number), then `intervals` or `check_in` and `check_out`."""
        names = set(columns)
        problems = []
        if "employee" not in names:
            problems.append(
                "no column `employee`: it must hold the SAP personnel number (PERNR), e.g. {name: employee, "
                "from: target_id}"
            )
        if "intervals" not in names and not {"check_in", "check_out"} <= names:
            problems.append(
                "no column `intervals` (or `check_in` and `check_out`): time events come from every worked interval "
                "(intervals from: intervals: P10, P15/P25 for each break, P20) or from first in and last out"
            )
        return problems

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: SftpCsvSettings) -> Mapping[str, Any]:
        """`fields` as the file carries them: times to the second, or to the minute when `time_format` has no
        seconds (so a change SAP would never see is not a change)."""
        to_the_minute = settings.to_the_minute if isinstance(settings, SapHcmSettings) else False
        return stored_times(fields, to_the_minute)

    def check_online(self) -> list[OnlineCheck]:
        """`punchbridge validate --online`: log in (host key pinned) and find the upload folder; writes nothing."""
        checks = []
        try:
            self.open()
            checks.append(OnlineCheck("login", True))
            found = self._stat(self.settings.folder)
            checks.append(
                OnlineCheck(f"folder {self.settings.folder}", found is not None, "" if found else "no such folder")
            )
        except TargetError as exc:
            checks.append(OnlineCheck("login" if not checks else f"folder {self.settings.folder}", False, str(exc)))
        finally:
            self.close()
        return checks

    def push(self, batch: Batch) -> list[Outcome]:
        """Upload the batch's new events (file, then manifest), its corrections and what each day now holds."""
        columns = self.check_batch_columns(batch)
        config = self.settings
        stem = file_name(config.prefix, batch).removesuffix(".csv")
        name = f"{stem}.{config.suffix}"
        corrections = stem.replace(f"{config.prefix}_", f"{config.prefix}-corrections_", 1) + ".csv"
        days: dict[str, list[SentEvent]] = {}
        refused: dict[str, Outcome] = {}
        for record in batch.records:
            zone = self.zone_of(record) if (config.timezone or record.timezone) else None
            try:
                days[record.key] = _events_of(record, columns, config, zone)
            except BadRecordError as refusal:
                refused[record.key] = Outcome(record.key, False, message=str(refusal))
        period = stem.rsplit("_", 1)[0]  # {prefix}_{start}_{end}: the records of the period's other files
        before = self._sent_before(period, batch.seq) if days else {}
        lines: list[dict[str, str]] = []
        seen: set[tuple[str, str, str]] = set()
        gone: list[tuple[str, SentEvent]] = []
        outcomes: dict[str, Outcome] = dict(refused)
        for key, events in days.items():
            change = change_of(before.get(key), events, config.to_the_minute)
            for event in change.new:
                if event.identity(config.to_the_minute) not in seen:  # two records of one person and day
                    seen.add(event.identity(config.to_the_minute))
                    lines.append(_values(event, config))
            gone.extend((key, event) for event in change.gone)
            where = corrections if change.gone else name if change.new else None
            outcomes[key] = Outcome(key, True, remote_id=where)
        folder = config.folder
        if lines:
            data = render_events(lines, config)
            self._publish(posixpath.join(folder, name), data)
            self._publish(posixpath.join(folder, manifest_name(name)), manifest(name, data, len(lines)))
        if gone:
            self._publish(posixpath.join(folder, corrections), render_corrections(gone, config))
            log.warning(
                "%s: %d time events need a correction in SAP HCM, listed in %s", self.name, len(gone), corrections
            )
        if lines or gone:  # else every day holds what it held: the earlier records still say so
            self._make_folder(config.sent_path)
            self._publish(posixpath.join(config.sent_path, sent_name(period, batch.seq)), sent_bytes(days))
        return [outcomes[record.key] for record in batch.records]

    def _sent_before(self, stem: str, seq: int) -> dict[str, list[SentEvent]]:
        """What each day held before this batch, from the sent-events records of earlier files of its period."""
        folder = self.settings.sent_path
        with self._remote(f"listing {folder}") as sftp:
            try:
                names = sftp.listdir(folder)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return {}
                raise

        def read(name: str) -> bytes:
            path = posixpath.join(folder, name)
            with self._remote(f"reading {path}") as sftp, sftp.open(path, "rb") as remote:
                return bytes(remote.read())

        try:
            return state_before(names, stem, seq, read)
        except ValueError as exc:
            raise FatalTargetError(f"{self._where}: {exc}; move it aside only if it is not punchbridge's") from None

    def _make_folder(self, path: str) -> None:
        if self._stat(path) is not None:
            return
        with self._remote(f"creating {path}", creating=True) as sftp:
            try:
                sftp.mkdir(path)
            except OSError:
                if self._stat(path) is None:  # made by someone else in between is fine
                    raise


@hookimpl
def register_targets(register: Register) -> None:
    """Register `sap_hcm`."""
    register("sap_hcm", SapHcmTarget)

"""The `sap_hcm` target: processed days as SAP HCM time events in a file dropped over SFTP for the upload job.

SAP HCM on premise takes clock events as time event types P10 (clock-in), P20 (clock-out), P15
(break start) and P25 (break end) into table TEVEN, through `BAPI_CC1_UPLOAD_TIMEEVENT` or the
customer's own upload program. RFC needs SAP's proprietary SDK, so punchbridge delivers a file of
such events (personnel number, date, time, event type, terminal id) that the customer's scheduled
upload job reads. Events come from the mapping's `intervals` column (first start P10, last end P20,
each gap P15 then P25) or from `check_in`/`check_out` (P10, P20): `punchbridge.plugins.sap.time_events`.

Layout (`layout`, `columns`, `widths`, ...): by default a CSV with the header `PERNR,LDATE,LTIME,
SATZA,TERID`, dates `YYYYMMDD` and times `HHMMSS` as SAP stores them; `layout: fixed` writes the
same fields at the TEVEN widths (8, 8, 6, 3, 4) without separators or header. Every value is
checked against its width (a value that does not fit is the record's dead letter, never cut).

Delivery follows the `sftp_csv` target's rules, by reusing it (this class is an `SftpCsvTarget`):
pinned host key, upload as `name.part`, size check, posix-rename, manifest `name.sha256` last, and a
name that depends only on the batch (`{prefix}_{period_start}_{period_end}_{seq:04d}.{extension}`),
so a resend writes the same file and a retry never makes a second one. A changed day comes again,
in full, in a later file: the upload job replaces that employee-day's events from the earlier file
(docs/plugins/sap.md says how the job should read the files).
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from punchbridge.plugin_api import BadRecordError, Batch, Capability, Outcome, Record, Register, hookimpl
from punchbridge.plugins.csv_drop import file_name, manifest, manifest_name
from punchbridge.plugins.sap.time_events import day_events, employee_of, work_date_of
from punchbridge.plugins.sftp_csv import SftpCsvSettings, SftpCsvTarget

__all__ = ["FIELDS", "EventCodes", "SapHcmSettings", "SapHcmTarget", "register_targets", "render_events"]

#: The fields a line can hold, with SAP's TEVEN names (the default CSV header) and widths.
FIELDS = {
    "pernr": ("PERNR", 8),
    "date": ("LDATE", 8),
    "time": ("LTIME", 6),
    "event_type": ("SATZA", 3),
    "terminal": ("TERID", 4),
    "work_date": ("WORKDATE", 8),
}
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


class EventCodes(BaseModel):
    """The time event type written for each kind of clock event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clock_in: str = Field(default="P10", min_length=1, max_length=3)
    clock_out: str = Field(default="P20", min_length=1, max_length=3)
    break_start: str = Field(default="P15", min_length=1, max_length=3)
    break_end: str = Field(default="P25", min_length=1, max_length=3)


class SapHcmSettings(SftpCsvSettings):
    """Settings of a `sap_hcm` target: the `sftp_csv` connection settings plus the file layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    event_types: EventCodes = EventCodes()
    terminal_id: str = Field(default="PB01", min_length=1, max_length=10)
    pad_personnel_numbers: bool = True
    extension: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,8}$")
    line_ending: Literal["lf", "crlf"] = "lf"

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


def _lines_of(record: Record, columns: Sequence[str], config: SapHcmSettings) -> list[dict[str, str]]:
    """The file lines of one record, field by field (BadRecordError when it has none, or they do not fit)."""
    pernr = employee_of(record, "SAP personnel number (PERNR)")
    if pernr.isdigit() and config.pad_personnel_numbers:
        pernr = pernr.zfill(config.width("pernr"))
    terminal = str(record.fields.get("terminal") or "").strip() or config.terminal_id
    work_date = work_date_of(record)
    lines = []
    for event in day_events(record, columns):
        local = event.moment
        values = {
            "pernr": pernr,
            "date": local.strftime(config.date_format),
            "time": local.strftime(config.time_format),
            "event_type": getattr(config.event_types, event.kind),
            "terminal": terminal,
            "work_date": work_date.strftime(config.date_format),
        }
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
        lines.append(values)
    return lines


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


class SapHcmTarget(SftpCsvTarget):
    """Uploads each batch as a time-event file plus manifest to the SAP upload job's SFTP folder."""

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

    def push(self, batch: Batch) -> list[Outcome]:
        """Upload the batch's events as one file, then its manifest; a resend finds them in place."""
        columns = self.check_batch_columns(batch)
        name = file_name(self.settings.prefix, batch).removesuffix(".csv") + "." + self.settings.suffix
        lines: list[dict[str, str]] = []
        outcomes: list[Outcome] = []
        for record in batch.records:
            try:
                found = _lines_of(record, columns, self.settings)
            except BadRecordError as refusal:
                outcomes.append(Outcome(record.key, False, message=str(refusal)))
                continue
            lines.extend(found)
            outcomes.append(Outcome(record.key, True, remote_id=name if found else None))
        if lines:
            data = render_events(lines, self.settings)
            folder = self.settings.folder
            self._publish(posixpath.join(folder, name), data)
            self._publish(posixpath.join(folder, manifest_name(name)), manifest(name, data, len(lines)))
        return outcomes


@hookimpl
def register_targets(register: Register) -> None:
    """Register `sap_hcm`."""
    register("sap_hcm", SapHcmTarget)

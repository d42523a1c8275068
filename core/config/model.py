"""The main configuration file: one YAML document, validated by pydantic, with secrets from the environment.

    store: sqlite:///punchbridge.db          # or postgresql+psycopg://user:${PGPASSWORD}@host/db
    sources:  {NAME: {plugin: csv_folder, folder: inbox}}
    employees: employees.csv                  # employee_id,site,shift[,weekly_off][,department]
    assignments: assignments.csv              # optional
    leaves: leaves.csv                        # optional
    sites / shifts / pairing                  # the rules, as in `punchbridge process`
    sync:     {from: 2025-03-01, to: 2025-03-31}   # optional; default: from the first punch to yesterday
    targets:  {NAME: {plugin: local_csv, mapping: mappings/payroll.yaml, ...plugin settings}}
    jobs:     {NAME: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}}
    minop:    {base_url: https://minop.example.com, api_token: ${MINOP_TOKEN}}   # device commands
    devices:  {device001: {site: blr, push_token: ${DEVICE001_PUSH}, auth_token: ${DEVICE001_AUTH}}}
    receiver: {port: 8080, webhook_secrets: [${MINOP_WEBHOOK_SECRET}]}   # `punchbridge serve`

`${VAR}` (or `${VAR:-default}`) anywhere in a value is replaced from the environment; a variable
that is not set is a problem reported with its line. Relative paths, a SQLite store's file among them,
are read from the folder of the configuration file, whatever the working folder (`punchbridge.config.paths`).
Every problem in the file is reported at once with file, line and field path.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from punchbridge.config.paths import resolve_path, resolve_store_url
from punchbridge.config.yamlfile import YamlDocument, load_yaml, problems_from_validation
from punchbridge.cutoff.settings import AdjustmentSettings
from punchbridge.employees.settings import EmployeeSyncSettings
from punchbridge.errors import ConfigError, Problem
from punchbridge.jobs.settings import JobSettings
from punchbridge.retention.settings import RetentionSettings
from punchbridge.rules.settings import Pairing, RuleSet, Shift, Site

__all__ = [
    "Config",
    "DeviceSettings",
    "JobSettings",
    "MinopSettings",
    "PluginSettings",
    "ReceiverSettings",
    "SyncSettings",
    "TargetSettings",
    "load_config",
    "read_config",
]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PluginSettings(BaseModel):
    """A configured plugin instance: `plugin:` names it; the other keys are the plugin's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)

    plugin: str = Field(min_length=1)

    def plugin_settings(self) -> dict[str, Any]:
        """The keys beside `plugin:` (and `mapping:`), for the plugin's own settings model."""
        return dict(self.model_extra or {})


#: The keys of a target's section that are punchbridge's, not the plugin's.
TARGET_KEYS = ("mapping", "enabled", "batch_size", "open_days")


class TargetSettings(PluginSettings):
    """A delivery target: its plugin, its mapping file, and the plugin's settings."""

    mapping: Path
    enabled: bool = True
    batch_size: int | None = Field(default=None, gt=0)
    open_days: Literal["hold", "shift_end", "send"] = Field(
        default="hold",
        description=(
            "A day with a check-in and no check-out: hold (not sent, quarantined as missing_check_out, sent "
            "once complete), shift_end (closed at the shift's end, marked for payroll review) or send "
            "(today's open day sent for live presence; a past one is held)"
        ),
    )


class SyncSettings(_Strict):
    """Which work dates a sync covers (both optional), and how many targets it delivers to at once."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    concurrency: int = Field(
        default=4,
        ge=1,
        le=16,
        description=(
            "Targets one sync delivers to at the same time (1: one after another); each keeps its own "
            "batches, ledger, retries and rate limits, so a target waiting out a rate limit does not hold up the others"
        ),
    )

    @model_validator(mode="after")
    def _ordered(self) -> SyncSettings:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("sync.to is before sync.from")
        return self


class DeviceSettings(_Strict):
    """One terminal, by its Minop tag (`stgid`): where it stands and the tokens it uses."""

    site: str = Field(description="The site the terminal stands in: its time zone reads LogTime without an offset")
    push_token: SecretStr | None = Field(
        default=None, description="The token the terminal sends with its pushes (query token= or Bearer)"
    )
    auth_token: SecretStr | None = Field(default=None, description="The AuthToken of device commands (/api/v1/execute)")
    enabled: bool = True


class MinopSettings(_Strict):
    """The Minop cloud's device command API (`punchbridge device ...`, employee sync)."""

    base_url: str = Field(description="e.g. https://minop.example.com (commands go to {base_url}/api/v1/execute)")
    api_token: SecretStr = Field(description="The Bearer token of the command API")
    timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per request")


class ReceiverSettings(_Strict):
    """`punchbridge serve`: the listener terminals push to, and the webhook endpoint of the cloud."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    nested_reply: str = Field(default='{"status": "1"}', description="The reply body to the nested RealTime shape")
    webhook_secrets: list[SecretStr] = Field(
        default_factory=list, description="Webhook signing secrets; several while a key is rotated"
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    replay_window_hours: int = Field(default=76, ge=76, description="How long event ids are kept against replays")
    plausible_past_days: int = Field(default=400, ge=1)
    plausible_future_minutes: int = Field(default=10, ge=0)
    max_body_bytes: int = Field(default=65536, ge=1024)
    max_json_depth: int = Field(default=8, ge=2)
    max_writes_per_commit: int = Field(
        default=1000, ge=1, le=100_000, description="At most this many waiting writes go into one commit"
    )
    max_waiting_writes: int = Field(
        default=20_000, ge=1, le=1_000_000, description="More writes waiting than this get 503 with Retry-After: 1"
    )


class Config(_Strict):
    """The whole configuration file."""

    store: str = "sqlite:///punchbridge.db"
    sources: dict[str, PluginSettings] = {}
    employees: Path
    assignments: Path | None = None
    leaves: Path | None = None
    sites: dict[str, Site]
    shifts: dict[str, Shift]
    pairing: Pairing = Pairing()
    sync: SyncSettings = SyncSettings()
    targets: dict[str, TargetSettings] = {}
    jobs: dict[str, JobSettings] = {}
    employee_sync: EmployeeSyncSettings | None = None
    retention: RetentionSettings = RetentionSettings()
    adjustments: AdjustmentSettings | None = None
    minop: MinopSettings | None = None
    devices: dict[str, DeviceSettings] = {}
    receiver: ReceiverSettings = ReceiverSettings()

    @field_validator("store")
    @classmethod
    def _known_store(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError("store must be a sqlite:/// or postgresql:// URL")
        return url

    @model_validator(mode="after")
    def _jobs_name_targets(self) -> Config:
        for name, job in self.jobs.items():
            if job.target and job.target not in self.targets:
                raise ValueError(f"job {name!r} names target {job.target!r}, which is not configured")
        return self

    @model_validator(mode="after")
    def _devices_name_sites(self) -> Config:
        for name, device in self.devices.items():
            if device.site not in self.sites:
                raise ValueError(f"device {name!r} names site {device.site!r}, which is not configured")
        return self

    @property
    def rules(self) -> RuleSet:
        """The rule set (sites, shifts, pairing) for the rules engine."""
        return RuleSet(sites=self.sites, shifts=self.shifts, pairing=self.pairing)


def _substitute(value: Any, loc: tuple[str | int, ...], doc: YamlDocument, problems: list[Problem]) -> Any:
    """Replace `${VAR}` from the environment in every string of `value`."""
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), doc, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), doc, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(
            Problem(
                str(doc.path),
                f"environment variable {name} is not set (secrets come from the environment, never the file)",
                line=doc.line_of(loc),
                field=".".join(str(p) for p in loc),
            )
        )
        return ""

    return _VARIABLE.sub(replace, value)


def _resolve_paths(config: Config, base: Path) -> Config:
    """Every path of the configuration, and a SQLite store's file, read from `base` (absolute ones as they are)."""

    def resolve(path: Path | None) -> Path | None:
        return None if path is None else resolve_path(path, base)

    targets = {
        name: target.model_copy(update={"mapping": resolve(target.mapping)}) for name, target in config.targets.items()
    }
    return config.model_copy(
        update={
            "store": resolve_store_url(config.store, base),
            "employees": resolve(config.employees),
            "assignments": resolve(config.assignments),
            "leaves": resolve(config.leaves),
            "targets": targets,
        }
    )


def load_config(path: str | Path) -> tuple[Config, YamlDocument]:
    """Read and validate a configuration file; raise `ConfigError` listing every problem."""
    config, doc, _data, problems = read_config(path)
    ConfigError.collect(problems)
    assert config is not None  # no problems means the model validated
    return config, doc


def read_config(path: str | Path) -> tuple[Config | None, YamlDocument, dict[str, Any], list[Problem]]:
    """Parse and validate without raising for content problems: (config or None, doc, raw data, problems).

    Callers that check more (plugins, mappings) add their problems so all are reported together.
    """
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(Problem(str(doc.path), "expected a mapping (store:, sources:, sites:, targets: ...)", line=1))
    problems: list[Problem] = []
    data = _substitute(doc.data, (), doc, problems)
    from punchbridge.config.datafiles import inline_holiday_files  # pandas: only when a file is read

    data, holiday_problems = inline_holiday_files(doc, data)
    problems.extend(holiday_problems)
    config: Config | None = None
    try:
        config = _resolve_paths(Config.model_validate(data), doc.path.parent)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, doc))
    return config, doc, data, problems

"""Settings of the `sap_successfactors` target (docs/plugins/sap.md has the table)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from punchbridge.plugin_api import HttpSettings, TimeZoneName, checked_url

__all__ = ["EXTERNAL_TIME_DATA", "EventTypes", "SuccessFactorsSettings", "TimeEventApi", "mode_of"]

#: The ExternalTimeData entity and its fields (as SAP documents them), in one place.
EXTERNAL_TIME_DATA = {
    "entity": "ExternalTimeData",
    "key": "externalCode",
    "user": "userId",
    "start_date": "startDate",
    "end_date": "endDate",
    "start_time": "startTime",
    "end_time": "endTime",
    "hours": "hours",
    "time_type": "timeType",
    "cost_centre": "costCenter",
}

_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_PATH = r"^/[A-Za-z0-9_./-]*$"


class EventTypes(BaseModel):
    """The code SuccessFactors uses for each kind of clock event (*unconfirmed*: the tenant's time event types)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clock_in: str = Field(default="CLOCK_IN", min_length=1, max_length=64)
    clock_out: str = Field(default="CLOCK_OUT", min_length=1, max_length=64)
    break_start: str = Field(default="BREAK_START", min_length=1, max_length=64)
    break_end: str = Field(default="BREAK_END", min_length=1, max_length=64)


class TimeEventApi(BaseModel):
    """Where and how SuccessFactors takes clock events: every name here is *unconfirmed*, so all are settings.

    The events go through the same OData upsert as ExternalTimeData, as entity `entity`, keyed by
    `key_field`; SAP documents at most 1,000 events per call and 200 per user per call.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str = Field(default="TimeEvent", pattern=_NAME)
    key_field: str = Field(default="externalCode", pattern=_NAME)
    user_field: str = Field(default="userId", pattern=_NAME)
    type_field: str = Field(default="timeEventType", pattern=_NAME)
    time_field: str = Field(default="timestamp", pattern=_NAME)
    terminal_field: str = Field(default="terminalId", pattern=_NAME)
    types: EventTypes = EventTypes()
    per_call: int = Field(default=1000, ge=1, le=1000)
    per_user: int = Field(default=200, ge=1, le=200)
    terminal_id: str | None = Field(default=None, min_length=1, max_length=64)


class SuccessFactorsSettings(HttpSettings):
    """Settings of a `sap_successfactors` target.

    The private key is a file readable only by punchbridge's user; its password (if any) comes from
    the environment (`${SF_KEY_PASSWORD}`). `client_id` (the API key) and the certificate are not secret.
    """

    api_server: str
    company_id: str = Field(min_length=1, max_length=100)
    client_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=100)
    private_key: Path
    private_key_password: SecretStr | None = None
    certificate: Path
    saml_issuer: str = Field(default="www.successfactors.com", min_length=1)
    saml_audience: str = Field(default="www.successfactors.com", min_length=1)
    assertion_lifetime: int = Field(default=600, ge=60, le=3600)
    send: Literal["auto", "external_time_data", "time_events"] = "auto"
    time_type: str | None = Field(default=None, min_length=1, max_length=128)
    records_per_call: int = Field(default=1000, ge=1, le=1000)
    page_size: int = Field(default=1000, ge=1, le=1000)
    timezone: TimeZoneName | None = None
    inactive_statuses: tuple[str, ...] = ("T", "R")
    badge_field: str | None = Field(default=None, pattern=_NAME)
    token_path: str = Field(default="/oauth/token", pattern=_PATH)
    odata_path: str = Field(default="/odata/v2", pattern=_PATH)
    time_events: TimeEventApi = TimeEventApi()

    @field_validator("api_server")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if urlsplit(value.strip()).path.strip("/"):
            raise ValueError(f"api_server is the host only, without a path, query or fragment: {value!r}")
        return checked_url(value, "api_server")

    @field_validator("private_key_password")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("private_key_password is empty (is its environment variable set?)")
        return value

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint (also the assertion's Recipient)."""
        return self.api_server + self.token_path

    @property
    def odata_url(self) -> str:
        """The OData v2 service root, without trailing slash."""
        return self.api_server + self.odata_path.rstrip("/")

    @property
    def zone(self) -> ZoneInfo | None:
        """The site's zone, when `timezone` is set."""
        return ZoneInfo(self.timezone) if self.timezone else None


def mode_of(settings: SuccessFactorsSettings, columns: Collection[str]) -> str:
    """`external_time_data` or `time_events`: the `send` setting, or with `auto` the mapping's columns."""
    if settings.send != "auto":
        return settings.send
    return "time_events" if "intervals" in columns else "external_time_data"

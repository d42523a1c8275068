"""Settings of the `sap_successfactors` target (docs/plugins/sap.md has the table).

What SAP does not publish, or publishes only through third parties, is a setting here rather than a
constant in the code, so a deployment can correct it without a code change: the Time Events REST
API's path, field names, event type codes and duplicate wording (`TimeEventApi`), the entity clock
events are read back from (`TimeEventReadBack`), and the decimal scale ExternalTimeData keeps for
`hours` (`hours_decimals`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from punchbridge.config.paths import InputFile
from punchbridge.plugin_api import HttpSettings, TimeZoneName, checked_url

__all__ = [
    "EXTERNAL_TIME_DATA",
    "EventTypes",
    "SuccessFactorsSettings",
    "TimeEventApi",
    "TimeEventFields",
    "TimeEventReadBack",
    "mode_of",
]

#: The ExternalTimeData entity and its fields, from SAP's generated OData model of the entity (the SAP
#: Cloud SDK's `ExternalTimeData` of service SFOData: externalCode key up to 128, userId, startDate and
#: endDate Edm.DateTime, startTime and endTime Edm.Time, hours Edm.Decimal, timeType, costCenter).
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
#: What the Time Events REST API's schema allows for a type code: 1 to 20 word characters or hyphens
#: (api.sap.com ClockInClockOut.json, as a third-party summary of it gives it).
_TYPE_CODE = r"^[\w-]{1,20}$"


class EventTypes(BaseModel):
    """The time event type code sent for each kind of clock event.

    *Unconfirmed per tenant*: time event types are objects each customer configures ("Creating Time
    Event Types" in SAP's Clock In Clock Out guide). P10 clock-in and P20 clock-out are the codes of
    SAP's API example and of the client code found; P15 and P25 follow SAP HCM's break codes.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    clock_in: str = Field(default="P10", pattern=_TYPE_CODE)
    clock_out: str = Field(default="P20", pattern=_TYPE_CODE)
    break_start: str = Field(default="P15", pattern=_TYPE_CODE)
    break_end: str = Field(default="P25", pattern=_TYPE_CODE)


class TimeEventFields(BaseModel):
    """The field names of one event in the Time Events REST API's request body (`id`, `assignmentId`, ...).

    From the API's published schema as summarised by a third party and as two independent client
    code bases send them; not read in SAP's own reference (hence settings).
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    id: str = Field(default="id", pattern=_NAME)
    assignment: str = Field(default="assignmentId", pattern=_NAME)
    type_code: str = Field(default="typeCode", pattern=_NAME)
    timestamp: str = Field(default="timestamp", pattern=_NAME)
    terminal: str = Field(default="terminalId", pattern=_NAME)
    time_type: str = Field(default="timeTypeCode", pattern=_NAME)


class TimeEventReadBack(BaseModel):
    """Where clock events are read back from: an OData entity and its fields (*unconfirmed*: all of it).

    The Time Events REST API only creates events; SAP's API summary points to "the OData API" for
    reading them without naming the entity, and none was found in SAP's published material. Check
    the tenant's OData API Data Dictionary and set the names here.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    entity: str = Field(default="TimeEvent", pattern=_NAME)
    uuid_field: str = Field(default="UUID", pattern=_NAME)
    assignment_field: str = Field(default="assignmentId", pattern=_NAME)
    type_field: str = Field(default="typeCode", pattern=_NAME)
    time_field: str = Field(default="timestamp", pattern=_NAME)


class TimeEventApi(BaseModel):
    """How clock events go to SuccessFactors: the Clock In Clock Out Time Events REST API (SAP KBA 3216279).

    `POST {api_server}{path}` with a JSON array of events; the reply (HTTP 201) lists
    `succeededTimeEvents` (`UUID`, `id`) and `failedTimeEvents` (`errorText`, `id`). The limits are
    SAP's (KBA 3216279: "A maximum of 1000 time events can be sent with one API call in bulk mode.
    The number of time events that can be sent for a single user is limited to 200"). The path, the
    field names and the type codes are *unconfirmed* in SAP's own reference: they come from SAP's API
    specification as summarised by a third party and from client code, so all are settings.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    path: str = Field(default="/rest/timemanagement/timeeventprocessing/v1/TimeEvents", pattern=_PATH)
    fields: TimeEventFields = Field(default_factory=TimeEventFields)
    types: EventTypes = Field(default_factory=EventTypes)
    per_call: int = Field(default=1000, ge=1, le=1000)
    per_user: int = Field(default=200, ge=1, le=200)
    #: The schema allows 1 to 30 characters.
    terminal_id: str | None = Field(default=None, min_length=1, max_length=30)
    #: Sent with clock-in events only: the schema says "only for START type events" (KBA 3702146: it
    #: takes precedence over the derived time type of the resulting ExternalTimeData).
    time_type_code: str | None = Field(default=None, min_length=1, max_length=128)
    #: Words of a refusal that mean "SuccessFactors already holds this event" (the API example's
    #: errorText is "A time event for this employee and timestamp already exists."): delivered.
    duplicate_text: str = Field(default="already exists", min_length=1)
    #: SAP KBA 3146142 binds the OAuth client for terminal time events to the technical user
    #: TECHNICAL_USER_CICOTERMINAL_9D3F8AC1; when that client differs from the target's, name it here
    #: (the target's own `client_id`/`user_id` otherwise).
    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    user_id: str | None = Field(default=None, min_length=1, max_length=100)
    read_back: TimeEventReadBack = Field(default_factory=TimeEventReadBack)


class SuccessFactorsSettings(HttpSettings):
    """Settings of a `sap_successfactors` target.

    The private key is a file readable only by punchbridge's user; its password (if any) comes from
    the environment (`${SF_KEY_PASSWORD}`). `client_id` (the API key) and the certificate are not secret.
    """

    api_server: str
    company_id: str = Field(min_length=1, max_length=100)
    client_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=100)
    private_key: InputFile
    private_key_password: SecretStr | None = None
    certificate: InputFile
    saml_issuer: str = Field(default="www.successfactors.com", min_length=1)
    saml_audience: str = Field(default="www.successfactors.com", min_length=1)
    assertion_lifetime: int = Field(default=600, ge=60, le=3600)
    send: Literal["auto", "external_time_data", "time_events"] = "auto"
    time_type: str | None = Field(default=None, min_length=1, max_length=128)
    #: Decimal places ExternalTimeData keeps for `hours` (Edm.Decimal; its scale is *unconfirmed*:
    #: check `/odata/v2/$metadata` on the tenant). Hours are rounded to it before they are hashed and sent.
    hours_decimals: int = Field(default=2, ge=0, le=6)
    records_per_call: int = Field(default=1000, ge=1, le=1000)
    page_size: int = Field(default=1000, ge=1, le=1000)
    #: An override of every site's zone; by default each day is written in its own site's zone.
    timezone: TimeZoneName | None = None
    inactive_statuses: tuple[str, ...] = ("T", "R")
    badge_field: str | None = Field(default=None, pattern=_NAME)
    token_path: str = Field(default="/oauth/token", pattern=_PATH)
    odata_path: str = Field(default="/odata/v2", pattern=_PATH)
    # A default made when the plugin loads would build the nested models (and pydantic would look for its
    # plugins in every installed distribution) in every command that only lists plugins.
    time_events: TimeEventApi = Field(default_factory=TimeEventApi)

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
    def time_events_url(self) -> str:
        """The Time Events REST API's URL."""
        return self.api_server + self.time_events.path

    @property
    def zone(self) -> ZoneInfo | None:
        """The override zone, when `timezone` is set."""
        return ZoneInfo(self.timezone) if self.timezone else None


def mode_of(settings: SuccessFactorsSettings, columns: Collection[str]) -> str:
    """`external_time_data` or `time_events`: the `send` setting, or with `auto` the mapping's columns."""
    if settings.send != "auto":
        return settings.send
    return "time_events" if "intervals" in columns else "external_time_data"

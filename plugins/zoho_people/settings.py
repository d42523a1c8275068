"""Settings of the `zoho_people` target, and the names and limits of Zoho People's API it relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, SecretStr, field_validator, model_validator

from punchbridge.config.paths import OutputFile
from punchbridge.plugin_api import HttpSettings, TimeZoneName, checked_url

__all__ = [
    "BULK_IMPORT",
    "DATA_CENTRES",
    "DATE_FORMAT",
    "EMPLOYEE_RECORDS",
    "LOCK_SECONDS",
    "READ_BACK",
    "WIRE",
    "ZohoPeopleSettings",
    "optional_url",
]

#: Accounts host of each Zoho data centre (`data_centre` setting; `accounts_url` overrides it).
DATA_CENTRES = {
    "com": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "com.au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
}
TOKEN_PATH = "/oauth/v2/token"
BULK_IMPORT_PATH = "/people/api/attendance/bulkImport"
READ_BACK_PATH = "/people/api/attendance/getAttendanceEntries"
EMPLOYEES_PATH = "/people/api/forms/employee/getRecords"
BULK_IMPORT, READ_BACK, EMPLOYEE_RECORDS = "bulkImport", "getAttendanceEntries", "getRecords"
#: The Java pattern sent as `dateFormat`, and the same as strftime.
DATE_FORMAT, WIRE = "yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"
#: Zoho's lock after a per-minute limit is passed, per API (unconfirmed for getRecords).
LOCK_SECONDS = {BULK_IMPORT: 300.0, READ_BACK: 600.0, EMPLOYEE_RECORDS: 300.0}


def optional_url(value: str | None, setting: str) -> str | None:
    """An http(s) base URL without trailing slash; plain http only to a loopback host."""
    return None if value is None else checked_url(value, setting)


class ZohoPeopleSettings(HttpSettings):
    """Settings of a `zoho_people` target (docs/plugins/zoho-people.md has the table).

    `client_secret` and `refresh_token` come from the environment (`${ZOHO_REFRESH_TOKEN}`).
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, populate_by_name=True)

    data_centre: Literal["com", "eu", "in", "com.au", "jp", "ca"] = Field(
        default="com", validation_alias=AliasChoices("data_centre", "dc")
    )
    accounts_url: str | None = None
    api_domain: str | None = None
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr
    identify_by: Literal["empId", "emailId", "mapId"] = "empId"
    punches_per_call: int = Field(default=50, ge=1, le=200)
    bulk_import_per_minute: int = Field(default=10, ge=1)
    attendance_entries_per_minute: int = Field(default=100, ge=1)
    employee_records_per_minute: int = Field(default=400, ge=1)
    daily_call_limit: int = Field(default=5000, ge=1)
    pacing_margin: float = Field(default=1.0, ge=0, le=60)
    concurrency: int = Field(default=1, ge=1, le=8)
    location: str | None = Field(default=None, min_length=1, max_length=100)
    building: str | None = Field(default=None, min_length=1, max_length=100)
    timezone: TimeZoneName | None = None
    #: The zone Zoho reads a check-in time without offset in (unconfirmed: Zoho does not say).
    entry_zone: Literal["site", "organisation"] = "site"
    state_file: OutputFile = Path("zoho-people-state.sqlite3")
    read_before_write: Literal["when_unsure", "always"] = "when_unsure"
    badge_field: str = Field(default="MapperID", min_length=1)

    @field_validator("accounts_url", "api_domain")
    @classmethod
    def _base_url(cls, value: str | None, info: Any) -> str | None:
        return optional_url(value, info.field_name)

    @field_validator("client_secret", "refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr, info: Any) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(f"{info.field_name} is empty (is its environment variable set?)")
        return value

    @model_validator(mode="after")
    def _organisation_zone(self) -> ZohoPeopleSettings:
        if self.entry_zone == "organisation" and self.timezone is None:
            raise ValueError(
                "entry_zone: organisation needs timezone: the organisation's zone (Zoho People > Settings > "
                "Organization > Company Details > Locale Settings > Time Zone)"
            )
        return self

    @property
    def accounts(self) -> str:
        """The accounts base URL: `accounts_url`, else the data centre's host."""
        return self.accounts_url or DATA_CENTRES[self.data_centre]

    def per_minute(self, api: str) -> int:
        """The per-minute limit the plugin keeps to for `api`."""
        return {
            BULK_IMPORT: self.bulk_import_per_minute,
            READ_BACK: self.attendance_entries_per_minute,
            EMPLOYEE_RECORDS: self.employee_records_per_minute,
        }[api]

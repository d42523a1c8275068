"""Settings of the `erpnext` target, and the names of Frappe HR's API it relies on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from punchbridge.plugin_api import HttpSettings, TimeZoneName, checked_url

__all__ = ["METHODS", "ErpNextSettings"]

#: The check-in method of each Frappe HR / ERPNext line (`checkin_api`).
METHODS = {
    "hrms": "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field",
    "erpnext": "erpnext.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field",
}


class ErpNextSettings(HttpSettings):
    """Settings of an `erpnext` target (docs/plugins/erpnext.md has the table)."""

    url: str
    api_key: SecretStr
    api_secret: SecretStr
    #: ERPNext's system time zone (System Settings > Time Zone): every check-in is written in it.
    timezone: TimeZoneName
    checkin_api: Literal["hrms", "erpnext"] = "hrms"
    employee_fieldname: str = Field(default="attendance_device_id", pattern=r"^[a-z][a-z0-9_]*$")
    device_id: str = Field(default="punchbridge", min_length=1, max_length=140)
    #: Device ID -> (latitude, longitude), for sites with HR Settings > Allow Geolocation Tracking.
    coordinates: dict[str, tuple[float, float]] = Field(default_factory=dict)
    skip_auto_attendance: bool = False
    concurrency: int = Field(default=6, ge=1, le=16)
    page_size: int = Field(default=500, ge=1, le=5000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checked_url(value, "url")

    @field_validator("api_key", "api_secret")
    @classmethod
    def _given(cls, value: SecretStr, info: Any) -> SecretStr:
        if not value.get_secret_value().strip() or ":" in value.get_secret_value():
            raise ValueError(f"{info.field_name} is empty or holds ':' (is its environment variable set?)")
        return value

    @field_validator("coordinates")
    @classmethod
    def _on_earth(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for device, (latitude, longitude) in value.items():
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise ValueError(
                    f"coordinates of {device!r}: [{latitude}, {longitude}] is not [latitude, longitude] "
                    "(latitude -90..90 first, longitude -180..180 second)"
                )
            if latitude == 0 and longitude == 0:
                # Frappe HR tests `not (latitude or longitude)`: 0, 0 counts as no coordinates at all.
                raise ValueError(f"coordinates of {device!r}: [0, 0] counts as none in Frappe HR")
        return value

"""The settings of a `salesforce` target (docs/plugins/salesforce.md has the table)."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from punchbridge.config.paths import InputFile
from punchbridge.plugin_api import HttpSettings, TimeZoneName, checked_url

__all__ = ["API_NAME", "SalesforceSettings"]

API_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_API_NAME = re.compile(API_NAME)


class SalesforceSettings(HttpSettings):
    """Settings of a `salesforce` target (docs/plugins/salesforce.md has the table)."""

    login_url: str = "https://login.salesforce.com"
    auth: Literal["jwt", "client_credentials"] = "jwt"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    username: str | None = Field(default=None, min_length=1)
    private_key: InputFile | None = None
    private_key_passphrase: SecretStr | None = None
    audience: str | None = None
    api_version: str = Field(default="62.0", pattern=r"^\d{2}\.0$")
    object: str = Field(default="Attendance_Day__c", pattern=API_NAME)
    external_id_field: str = Field(default="Punchbridge_Key__c", pattern=API_NAME)
    employee_field: str = Field(default="Employee_Id__c", pattern=API_NAME)
    date_field: str = Field(default="Work_Date__c", pattern=API_NAME)
    bulk_threshold: int = Field(default=2000, ge=1)
    records_per_call: int = Field(default=200, ge=1, le=200)
    concurrency: int = Field(default=4, ge=1, le=10)
    bulk_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    bulk_timeout: float = Field(default=900.0, gt=0, le=86_400)
    query_batch_size: int = Field(default=2000, ge=200, le=2000)
    #: An override of every day's site zone for read-back (Salesforce keeps date-times as UTC instants,
    #: so sending needs no zone); left out, each employee's days are shown in their own site's zone.
    timezone: TimeZoneName | None = None
    people_object: str = Field(default="User", pattern=API_NAME)
    people_id_field: str = Field(default="EmployeeNumber", pattern=API_NAME)
    people_name_field: str = Field(default="Name", pattern=API_NAME)
    people_email_field: str | None = Field(default="Email", pattern=API_NAME)
    people_active_field: str | None = Field(default="IsActive", pattern=API_NAME)
    people_department_field: str | None = Field(default="Department", pattern=API_NAME)
    people_badge_field: str | None = Field(default=None, pattern=API_NAME)

    @field_validator("login_url", "audience")
    @classmethod
    def _url(cls, value: str | None, info: Any) -> str | None:
        return checked_url(value, info.field_name) if value is not None else None

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if int(value.split(".")[0]) < 47:
            raise ValueError("api_version must be 47.0 or later (sObject Collections upsert)")
        return value

    @model_validator(mode="after")
    def _flow(self) -> SalesforceSettings:
        if self.auth == "jwt":
            if self.username is None or self.private_key is None:
                raise ValueError("auth: jwt needs `username` (the integration user) and `private_key` (a PEM file)")
        elif self.client_secret is None or not self.client_secret.get_secret_value().strip():
            raise ValueError("auth: client_credentials needs `client_secret` (from the environment)")
        return self

    @property
    def resolved_audience(self) -> str:
        """The JWT `aud`: `audience`, else the login host for login/test, else https://login.salesforce.com."""
        if self.audience:
            return self.audience
        host = urlsplit(self.login_url).hostname or ""
        return (
            self.login_url
            if host in ("login.salesforce.com", "test.salesforce.com")
            else "https://login.salesforce.com"
        )

"""Settings of the `odoo` target (docs/plugins/odoo.md has the table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from punchbridge.plugin_api import HttpSettings, TimeZoneName

__all__ = ["OdooSettings"]


class OdooSettings(HttpSettings):
    """Settings of an `odoo` target (see docs/plugins/odoo.md). `api_key` comes from `${VARIABLE}`."""

    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    database: str = Field(min_length=1)
    login: str | None = Field(default=None, min_length=1)
    api_key: SecretStr
    protocol: Literal["auto", "xmlrpc", "jsonrpc", "json2"] = "auto"
    employee_by: Literal["id", "barcode", "pin", "work_email"] = "id"
    #: An override of every record's site zone (`Target.zone_of`); unset, each day is placed in its own site's zone.
    timezone: TimeZoneName | None = None
    concurrency: int = Field(default=4, ge=1, le=16)
    page_size: int = Field(default=200, ge=1, le=5000)

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _key_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("api_key is empty; set it from the environment, e.g. api_key: ${ODOO_API_KEY}")
        return value

    @model_validator(mode="after")
    def _login_for_rpc(self) -> OdooSettings:
        if self.protocol in ("xmlrpc", "jsonrpc") and self.login is None:
            raise ValueError(f"protocol {self.protocol} logs in: set `login` (the Odoo user the API key belongs to)")
        return self

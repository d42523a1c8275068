"""`punchbridge.plugin_api` is the one face a plugin author imports from: what it holds, and how its parts behave."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

import punchbridge
import punchbridge.plugin_api as api
from punchbridge.errors import ExitCode, PunchbridgeError
from punchbridge.plugin_api.retries import RETRY_ATTEMPTS
from punchbridge.records import Batch, Employee, HeldRecord, Outcome, Record

#: What the brief of the plugin API promises a plugin author, at the least.
PROMISED = {
    "hookimpl", "Target", "Source", "SourceContext", "Fetched",
    "Record", "Batch", "Outcome", "Employee", "HeldRecord",
    "TargetError", "TransientError", "RateLimitedError", "CredentialsError", "FatalTargetError", "TargetReplyError",
    "BadRecordError", "Capability", "HttpTarget", "HttpSettings", "HttpConnection",
    "format_intervals", "parse_intervals", "retry_after_seconds",
}  # fmt: skip


def test_every_promised_name_is_exported() -> None:
    assert set(api.__all__) >= PROMISED, sorted(PROMISED - set(api.__all__))


@pytest.mark.parametrize("name", api.__all__)
def test_every_exported_name_exists_and_is_documented(name: str) -> None:
    value = getattr(api, name)
    if callable(value):
        assert inspect.getdoc(value), f"punchbridge.plugin_api.{name} has no docstring"


def test_the_face_lists_each_name_once_in_order() -> None:
    assert api.__all__ == sorted(set(api.__all__))


def test_the_records_are_the_ones_the_engine_uses() -> None:
    assert (api.Record, api.Batch, api.Outcome, api.Employee, api.HeldRecord) == (
        Record, Batch, Outcome, Employee, HeldRecord,
    )  # fmt: skip


def test_hookimpl_still_comes_from_the_package_root() -> None:
    assert punchbridge.hookimpl is api.hookimpl


def test_every_target_error_is_a_punchbridge_error_with_an_exit_code_and_a_name_ending_in_error() -> None:
    errors = [
        api.TargetError, api.TransientError, api.RateLimitedError, api.CredentialsError,
        api.FatalTargetError, api.TargetReplyError, api.BadRecordError, api.RefusedError, api.TokenRefusedError,
    ]  # fmt: skip
    for error in errors:
        assert issubclass(error, PunchbridgeError) and error.__name__.endswith("Error")
        assert isinstance(error.exit_code, ExitCode)
    assert api.RateLimitedError("slow down", retry_after=7).retry_after == 7
    assert issubclass(api.RateLimitedError, api.TransientError) and issubclass(
        api.TargetReplyError, api.FatalTargetError
    )


def test_capabilities_are_strings_so_older_checks_still_work() -> None:
    assert {c.value for c in api.Capability} == {"push_attendance", "push_punches", "pull_employees", "read_back"}
    assert "read_back" in frozenset({api.Capability.READ_BACK})


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: str
    copies: int = 1


class _Target(api.Target[_Settings]):
    def push(self, batch: Batch) -> list[Outcome]:
        return []

    @classmethod
    def check_columns(cls, columns: Any, settings: _Settings) -> list[str]:
        return [] if "employee" in columns else [f"no column `employee` (folder {settings.folder})"]


def test_a_target_validates_its_settings_once_and_holds_them_typed() -> None:
    assert _Target.settings_model is _Settings  # from the type argument
    from_mapping = _Target("t", {"folder": "/drop"})
    assert from_mapping.settings == _Settings(folder="/drop")
    model = _Settings(folder="/x", copies=2)
    assert _Target("t", model).settings is model
    with pytest.raises(ValidationError, match="copies"):
        _Target("t", {"folder": "/drop", "copies": "many"})


def test_a_subclass_of_a_target_keeps_its_parents_settings_model() -> None:
    class Counted(_Target):
        pass

    assert Counted.settings_model is _Settings


def test_a_mapping_that_does_not_fit_stops_the_batch_before_anything_is_sent() -> None:
    target = _Target("t", {"folder": "/drop"})
    batch = Batch("t", 1, date(2025, 10, 6), date(2025, 10, 6), 1, [Record("k", {"date": "x"}, "h")])
    with pytest.raises(api.FatalTargetError, match=r"no column `employee` \(folder /drop\)"):
        target.check_batch_columns(batch)


class _Source(api.Source[_Settings]):
    def fetch(self, context: api.SourceContext, cursor: str | None) -> api.Fetched:
        raise NotImplementedError  # never called: only the settings are under test


def test_a_source_validates_its_settings_the_same_way() -> None:
    assert _Source.settings_model is _Settings
    assert _Source("s", {"folder": "in"}).settings.copies == 1


# -- the HTTP base ---------------------------------------------------------------------------------


class _HttpSettings(api.HttpSettings):
    url: str


class _HttpTarget(api.HttpTarget[_HttpSettings]):
    opened = 0

    def connection_options(self) -> dict[str, Any]:
        return {"base_url": self.settings.url}

    def on_open(self) -> None:
        type(self).opened += 1
        self.http.json(self.http.request("GET", "/whoami", "checking the login"), "checking the login")

    def push(self, batch: Batch) -> list[Outcome]:
        return []


def _target(reply: Any, **settings: Any) -> _HttpTarget:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(reply, Exception):
            raise reply
        return reply

    return _HttpTarget("hr", {"url": "https://hr.example.com", **settings}, transport=httpx.MockTransport(answer))


def test_the_connection_opens_once_and_closes_also_after_opening_failed() -> None:
    target = _target(httpx.Response(200, json={"user": "punchbridge"}))
    target.open()
    target.open()
    assert target.is_open and target.http.requests == 1
    target.close()
    target.close()
    assert not target.is_open
    broken = _target(httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"}))
    with pytest.raises(api.TargetReplyError, match=r"target hr: checking the login: the reply \(HTTP 200\) is an HTML"):
        broken.open()
    assert not broken.is_open


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (httpx.ConnectError("refused"), "the connection failed (ConnectError: refused)"),
        (httpx.ReadTimeout("slow"), "no answer, timed out after 0.5 s"),
    ],
)
def test_network_trouble_is_transient_and_names_the_target_and_the_call(failure: Exception, says: str) -> None:
    target = _target(failure, timeout=0.5)
    target.retry_sleep = lambda _seconds: None  # the login is tried again (issue 15): without waiting here
    with pytest.raises(api.TransientError) as raised:
        target.open()
    assert not isinstance(raised.value, api.RateLimitedError)
    assert str(raised.value) == f"target hr: checking the login: {says} (gave up after {RETRY_ATTEMPTS} attempts)"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "wait"),
    [
        (429, {"Retry-After": "12"}, api.RateLimitedError, 12.0),
        (429, {"Retry-After": "86400"}, api.RateLimitedError, 300.0),
        (503, {"Retry-After": "5"}, api.RateLimitedError, 5.0),
        (503, {}, api.TransientError, None),
        (502, {}, api.TransientError, None),
    ],
)
def test_throttling_and_server_errors_say_when_to_try_again(
    status: int, headers: Mapping[str, str], kind: type, wait: float | None
) -> None:
    error = api.throttling_error(httpx.Response(status, headers=headers), "target hr: GET /x")
    assert type(error) is kind and error.retry_after == wait
    assert f"answered HTTP {status}" in str(error)


def test_other_statuses_are_the_targets_own_to_read() -> None:
    assert api.throttling_error(httpx.Response(404), "target hr: GET /x") is None


def test_a_long_remote_message_is_clipped_saying_how_much() -> None:
    assert api.clip("x" * 600) == "x" * 500 + "... (100 more characters)"
    assert api.clip("  short  ") == "short"


class _Zoned(BaseModel):
    timezone: api.TimeZoneName


def test_a_time_zone_setting_must_be_one_zoneinfo_knows() -> None:
    assert _Zoned(timezone="Asia/Kolkata").timezone == "Asia/Kolkata"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        _Zoned(timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://hr.example.com/", True), ("http://127.0.0.1:8080", True), ("http://hr.example.com", False)],
)
def test_a_base_url_is_https_or_plain_http_to_this_machine(url: str, ok: bool) -> None:
    if ok:
        assert api.checked_url(url, "url") == url.rstrip("/")
    else:
        with pytest.raises(ValueError, match="must use https"):
            api.checked_url(url, "url")

"""Commands to terminals through the Minop device cloud (`POST {base}/api/v1/execute?stgid=...`).

    command = add_user("1001", "Asha", "Rao", UserType.STANDARD)
    with DeviceClient(config.minop, config.devices) as client:
        client.execute("device001", command, epoch="2025-10-01")

Every command carries an `OperationID` derived from its content (device, command, entity, data) and
an `epoch` (each `punchbridge device` run has its own; employee sync's is the user's revision). The
vendor says the OperationID is "for tracking and support" and no more: nothing here relies on the
cloud executing it once. Commands are safe to run twice instead: a second Add User answered "already
exists" and a second Delete User answered "not found" are done (`Sent.note` says so), and Update
AccessTime sets the same window again. Each request carries `Content-Type: application/json;
charset=utf-8` and an `Idempotency-Key` (the OperationID), as the cloud document asks. The cloud's
`{"status": "done"}` is required: a 2xx with any other status is a `CommandFailedError`; HTTP >= 400
is a `MinopRefusedError` naming the cloud's code and message; 429 and 503 are retried after their
`Retry-After`.

A biometric template travels as a `Template`, whose repr and str hide it: it is revealed only into
the request body, and removed from any text the cloud sends back before that text is quoted.

`punchbridge.minop.purge` is the safety check of `Delete AttendanceLog`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from functools import cached_property
from json.encoder import encode_basestring_ascii as _json_text
from pathlib import Path
from typing import Any

import httpx

from punchbridge.config import DeviceSettings, MinopSettings
from punchbridge.minop.http import MinopError, MinopHttp, MinopRefusedError, quote

__all__ = [
    "COMMAND_CONTENT_TYPE",
    "EXECUTE_PATH",
    "USER_EXISTS_CODES",
    "USER_UNKNOWN_CODES",
    "CommandFailedError",
    "DeviceClient",
    "DeviceCommand",
    "InputType",
    "Sent",
    "Template",
    "UserType",
    "add_user",
    "already_done",
    "delete_attendance_log",
    "delete_user",
    "enrol_face",
    "update_access_time",
]

EXECUTE_PATH = "/api/v1/execute"
#: How commands are sent: JSON in UTF-8, as the command API says.
COMMAND_CONTENT_TYPE = "application/json; charset=utf-8"
#: Refusal codes meaning the terminal already holds the user (Add User) or does not hold them (Delete
#: User). The vendor documents no codes: these are assumed, kept here in one place. HTTP 409 to an
#: Add User means the same.
USER_EXISTS_CODES = frozenset({"user_exists", "already_exists", "user_already_exists", "duplicate_user"})
USER_UNKNOWN_CODES = frozenset({"unknown_user", "user_not_found", "no_such_user", "not_found"})
#: Largest face template accepted (decoded bytes); real ones are a few kilobytes.
MAX_TEMPLATE_BYTES = 256 * 1024
MAX_USER_ID = 64
MAX_NAME = 64
_MASK = "***"


class UserType(StrEnum):
    """The terminal's user type codes (sent as strings)."""

    STANDARD = "1"
    ADMIN = "14"
    GUEST = "0"


class InputType(StrEnum):
    """How a punch was verified (the flat push's `Type`)."""

    FINGERPRINT = "1"
    FACE = "15"
    RFID = "4"


class CommandFailedError(MinopError):
    """The cloud answered 2xx, but its status is not `done`: the command did not take effect."""


class Template:
    """A biometric template (base64 text). Never shown: repr and str say only its size; `reveal()` gives
    the text to the one place that sends it. It cannot be pickled either."""

    __slots__ = ("_size", "_value")

    def __init__(self, value: str) -> None:
        text = value.strip()
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the face template is not base64 text") from None
        if not decoded:
            raise ValueError("the face template is empty")
        if len(decoded) > MAX_TEMPLATE_BYTES:
            raise ValueError(f"the face template is larger than {MAX_TEMPLATE_BYTES} bytes")
        self._value = text
        self._size = len(decoded)

    @classmethod
    def from_file(cls, path: Path) -> Template:
        """A template file: base64 text as the vendor's tools export it, or the raw template bytes."""
        try:
            size = path.stat().st_size
            if size > MAX_TEMPLATE_BYTES * 2:
                raise ValueError(f"{path} is larger than a face template can be ({size} bytes)")
            content = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return cls(content.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            if not content.strip():
                raise ValueError(f"{path} is empty") from None
            return cls(base64.b64encode(content).decode())

    def reveal(self) -> str:
        """The base64 text (for the request body only)."""
        return self._value

    def digest(self) -> str:
        """A sha256 of the template: what an OperationID is derived from, instead of the template."""
        return hashlib.sha256(self._value.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Template(<hidden, {self._size} bytes>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a biometric template is never pickled")


@dataclass(frozen=True)
class DeviceCommand:
    """One command: `CommandName`, `CommandEntity` and `OperationData` (texts, or a hidden Template)."""

    name: str
    entity: str
    data: Mapping[str, str | Template] = field(default_factory=dict)

    def describe(self) -> str:
        """A short human description, e.g. `Add User 1001`."""
        who = self.data.get("UserID")
        span = f" {self.data.get('StartDate')}..{self.data.get('EndDate')}" if "StartDate" in self.data else ""
        return f"{self.name} {self.entity}" + (f" {who}" if who else "") + span

    def operation_id(self, stgid: str, epoch: str) -> str:
        """The tracking id: the same device, command, data and epoch give the same id (a retry of a run
        repeats it; the cloud may still execute it twice, which the commands are made safe for).

        It is the sha256 of the compact, key-sorted JSON of `[stgid, name, entity, data, epoch]` (a
        template as `template:{digest}`); the data's JSON is made once per command, so one command
        sent to many terminals (employee sync) is encoded once.
        """
        text = _json_text  # what json.dumps gives for a str
        parts = (text(stgid), text(self.name), text(self.entity), self._content_json, text(epoch))
        return "pb-" + hashlib.sha256(("[" + ",".join(parts) + "]").encode()).hexdigest()[:32]

    @cached_property
    def _content_json(self) -> str:
        content = {k: (f"template:{v.digest()}" if isinstance(v, Template) else v) for k, v in self.data.items()}
        return json.dumps(content, sort_keys=True, separators=(",", ":"))

    def body(self, auth_token: str, operation_id: str, *, masked: bool = False) -> dict[str, Any]:
        """The JSON body; `masked` replaces the AuthToken and any template with placeholders (for display)."""
        data: dict[str, str] = {}
        for name, value in self.data.items():
            if isinstance(value, Template):
                data[name] = f"<face template, {value._size} bytes, hidden>" if masked else value.reveal()
            else:
                data[name] = value
        return {
            "CommandName": self.name,
            "CommandEntity": self.entity,
            "OperationData": data,
            "OperationID": operation_id,
            "AuthToken": _MASK if masked else auth_token,
        }

    def templates(self) -> list[Template]:
        """The templates this command carries."""
        return [value for value in self.data.values() if isinstance(value, Template)]


# -- building commands (ValueError naming the field for bad input) ------------------------------------


def _identifier(value: str, name: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise ValueError(f"{name} is empty")
    if len(text) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if not text.isprintable():
        raise ValueError(f"{name} has control characters")
    return text


def add_user(user_id: str, first_name: str, last_name: str, user_type: UserType) -> DeviceCommand:
    """Add User (profile): creates the user on the terminal, without biometrics."""
    return DeviceCommand(
        "Add",
        "User",
        {
            "UserID": _identifier(user_id, "user id", MAX_USER_ID),
            "FirstName": _identifier(first_name, "first name", MAX_NAME),
            "LastName": _identifier(last_name, "last name", MAX_NAME),
            "UserType": UserType(user_type).value,
        },
    )


def enrol_face(user_id: str, template: Template) -> DeviceCommand:
    """Add User (enrol): sends a face template to the terminal (remote enrolment)."""
    return DeviceCommand(
        "Add", "User", {"UserID": _identifier(user_id, "user id", MAX_USER_ID), "FaceTemplate": template}
    )


def delete_user(user_id: str) -> DeviceCommand:
    """Delete User: removes the user from the terminal (cannot be undone)."""
    return DeviceCommand("Delete", "User", {"UserID": _identifier(user_id, "user id", MAX_USER_ID)})


def _clock(value: str, name: str) -> str:
    try:
        if len(value) != 8:
            raise ValueError
        return time.fromisoformat(value).strftime("%H:%M:%S")
    except ValueError:
        raise ValueError(f"{name} {value[:20]!r} is not a time HH:MM:SS") from None


def update_access_time(user_id: str, start: str, end: str, days: Sequence[int]) -> DeviceCommand:
    """Update AccessTime: the door-unlock window (`HH:MM:SS`) on weekdays `days` (1 = Monday .. 7)."""
    first, last = _clock(start, "start"), _clock(end, "end")
    if first == last:
        raise ValueError("start and end are the same time: the window would be empty")
    if not days:
        raise ValueError("days is empty")
    if any(not 1 <= day <= 7 for day in days) or len(set(days)) != len(days):
        raise ValueError("days must be distinct weekdays 1 (Monday) to 7 (Sunday)")
    return DeviceCommand(
        "Update",
        "AccessTime",
        {
            "UserID": _identifier(user_id, "user id", MAX_USER_ID),
            "AccessStartTime": first,
            "AccessEndTime": last,
            "AccessDays": ",".join(str(day) for day in days),
        },
    )


def delete_attendance_log(first: date, last: date) -> DeviceCommand:
    """Delete AttendanceLog for terminal-local dates `first` to `last` (frees terminal memory)."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return DeviceCommand("Delete", "AttendanceLog", {"StartDate": first.isoformat(), "EndDate": last.isoformat()})


# -- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A command done: where, what, its OperationID, and `note` when the cloud refused it because the
    terminal was already as the command wanted (a repeated Add User or Delete User)."""

    stgid: str
    command: str
    operation_id: str
    note: str | None = None


def already_done(command: DeviceCommand, refusal: MinopRefusedError) -> str | None:
    """Why `refusal` means the terminal is already as `command` wants it (None: a real refusal).

    Add User (profile) answered "already exists": the user is there (its profile as it was). Delete User
    answered "not found": the user is not there. Either is what a command run twice meets.
    """
    user = command.data.get("UserID")
    profile = (command.name, command.entity) == ("Add", "User") and "FaceTemplate" not in command.data
    if profile and (refusal.code in USER_EXISTS_CODES or refusal.status == 409):
        return f"the terminal already holds user {user}: its profile was left as it was"
    if (command.name, command.entity) == ("Delete", "User") and refusal.code in USER_UNKNOWN_CODES:
        return f"the terminal does not hold user {user}: nothing to delete"
    return None


class DeviceClient:
    """Sends commands with the command API token (Bearer) and each device's AuthToken."""

    def __init__(
        self,
        minop: MinopSettings,
        devices: Mapping[str, DeviceSettings],
        *,
        deadline: float = 120.0,
        sleep: Any = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = minop.base_url.rstrip("/")
        self.devices = devices
        self._token = minop.api_token.get_secret_value()
        secrets = [self._token] + [
            d.auth_token.get_secret_value() for d in devices.values() if d.auth_token is not None
        ]
        self._redact = tuple(secrets)
        self._http = MinopHttp(
            timeout=minop.timeout, deadline=deadline, sleep=sleep, transport=transport, redact=secrets
        )

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __repr__(self) -> str:
        return f"DeviceClient({self.base_url!r}, {len(self.devices)} device(s))"

    def protect(self, templates: Sequence[Template]) -> None:
        """Never quote these templates in a message, whichever command the cloud answers (a run that
        enrols a face sends other commands first)."""
        self._redact = self._redact + tuple(t.reveal() for t in templates)
        self._http.redact = self._redact

    def url(self, stgid: str) -> str:
        """Where a command for `stgid` goes."""
        return str(httpx.URL(self.base_url + EXECUTE_PATH, params={"stgid": stgid}))

    def auth_token(self, stgid: str) -> str:
        """The device's AuthToken (KeyError / ValueError naming what is missing)."""
        device = self.devices.get(stgid)
        if device is None:
            raise KeyError(f"no device {stgid!r} in devices:; configured: {', '.join(sorted(self.devices)) or 'none'}")
        if not device.enabled:
            raise ValueError(f"device {stgid!r} is disabled (enabled: false)")
        if device.auth_token is None:
            raise ValueError(f"device {stgid!r} has no auth_token (devices.{stgid}.auth_token)")
        return device.auth_token.get_secret_value()

    def execute(self, stgid: str, command: DeviceCommand, *, epoch: str) -> Sent:
        """Send `command` to `stgid`; returns what was sent once the cloud says `done` (or refuses it in
        words that mean it is done already: see `already_done`)."""
        token = self.auth_token(stgid)
        operation_id = command.operation_id(stgid, epoch)
        body = command.body(token, operation_id)
        what = f"{command.describe()} on {stgid}"
        self.protect(command.templates())  # anything the cloud echoes back is quoted without them
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": COMMAND_CONTENT_TYPE,
            # The same key on every attempt of this command (retries included), a new one for a new command.
            "Idempotency-Key": operation_id,
        }
        try:
            reply = self._http.call(
                "POST",
                self.base_url + EXECUTE_PATH,
                what=what,
                params={"stgid": stgid},
                headers=lambda: headers,
                json_body=body,
            )
        except MinopRefusedError as exc:
            note = already_done(command, exc)
            if note is None:
                raise
            return Sent(stgid, command.describe(), operation_id, note)
        answer = reply.json(what)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status != "done":
            shown = quote(json.dumps(status), self._redact) if status is not None else "no status"
            raise CommandFailedError(f'{what}: the cloud answered {shown}, not "done": the command did not take effect')
        return Sent(stgid, command.describe(), operation_id)

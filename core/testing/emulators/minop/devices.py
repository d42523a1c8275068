"""Emulated terminals: their user lists and attendance logs, the device commands that change them, and the
store-and-forward push of punches to a listener (docs/minop.md, docs/receiver.md).

A device keeps every punch in its outbox until the listener gives the reply its push shape expects
(`ok` for the flat shape, `{"status": "1"}` for the nested one, or what the device is told), and
retries at growing intervals; a listener that is down loses nothing. A device that is offline
(`online = False`) reaches neither the cloud nor the listener: its punches wait in `unforwarded` (for
the cloud) and in the outbox (for the listener), and go out in order when it is back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

__all__ = [
    "COMMAND_ENTITIES",
    "COMMAND_NAMES",
    "CommandRefusedError",
    "DeviceUser",
    "EmulatedDevice",
    "LogEntry",
    "PushSender",
    "execute_command",
]

COMMAND_NAMES = ("Add", "Delete", "Update", "RealTime", "Load", "Resend")
COMMAND_ENTITIES = ("User", "AttendanceLog", "AccessTime", "Template", "Photo")
USER_TYPES = ("1", "14", "0")
INPUT_TYPE_WORDS = {"1": "Fingerprint", "15": "Face", "4": "Card"}
DIRECTION_WORDS = ("CheckIn", "CheckOut", "BreakOut", "BreakIn", "OverTimeIn", "OverTimeOut")
MAX_NAME = 64
MAX_USER_ID = 64
MAX_TEMPLATE_BYTES = 256 * 1024


class CommandRefusedError(Exception):
    """A command the device cloud refuses: HTTP status, machine code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class DeviceUser:
    """A user as a terminal holds them. A face template is kept only as a digest (the test needs no more)."""

    user_id: str
    first_name: str = ""
    last_name: str = ""
    user_type: str = "1"
    face_digest: str | None = None
    access: tuple[str, str, str] | None = None  # AccessStartTime, AccessEndTime, AccessDays


@dataclass
class LogEntry:
    """One punch in a terminal's attendance log."""

    seq: int
    user_id: str
    instant_ns: int
    input_type: str = "15"
    direction: str | None = None
    temperature: str | None = None
    face_mask: str | None = None
    #: Times the terminal sends it again after it was accepted (a reply lost on the way back).
    resends: int = 0


@dataclass
class EmulatedDevice:
    """A terminal: tag, tokens, site time zone, push shape, users, attendance log and outbox."""

    stgid: str
    push_token: str
    auth_token: str
    timezone: str = "UTC"
    shape: str = "flat"  # flat | nested | nested_gmt
    accepted_reply: str | dict[str, Any] | None = None  # None: the shape's default
    token_in: str = "query"  # query | bearer
    users: dict[str, DeviceUser] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    outbox: deque[LogEntry] = field(default_factory=deque)
    online: bool = True
    unforwarded: list[LogEntry] = field(default_factory=list)  # punches the cloud has not received yet
    push_attempts: int = 0
    pushed: int = 0
    failures_in_a_row: int = 0
    next_try: float = 0.0
    sequence: int = 0

    def __post_init__(self) -> None:
        if self.shape not in ("flat", "nested", "nested_gmt"):
            raise ValueError(f"device {self.stgid}: shape must be flat, nested or nested_gmt, not {self.shape!r}")

    def expected_reply(self) -> str | dict[str, Any]:
        """The reply that makes this device drop a punch from its outbox."""
        if self.accepted_reply is not None:
            return self.accepted_reply
        defaults: dict[str, str | dict[str, Any]] = {
            "flat": "ok",
            "nested": {"status": "1"},
            "nested_gmt": {"status": "done"},
        }
        return defaults[self.shape]

    def push_request(self, entry: LogEntry) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """(JSON body, query parameters, headers) of the push of `entry`, in this device's shape."""
        params = {"stgid": self.stgid}
        headers: dict[str, str] = {}
        if self.token_in == "bearer":
            headers["Authorization"] = f"Bearer {self.push_token}"
        else:
            params["token"] = self.push_token
        when = datetime.fromtimestamp(entry.instant_ns / 1e9, UTC)
        if self.shape == "flat":
            body: dict[str, Any] = {
                "stgid": self.stgid,
                "UserID": entry.user_id,
                "LogTime": when.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M:%S"),
                "Type": entry.input_type,
            }
            if entry.temperature is not None:
                body["Temperature"] = entry.temperature
            if entry.face_mask is not None:
                body["FaceMask"] = entry.face_mask
            return body, params, headers
        if self.shape == "nested":
            log_time = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            local = when.astimezone(ZoneInfo(self.timezone))
            offset = local.strftime("%z")
            log_time = local.strftime("%Y-%m-%d %H:%M:%S") + f" GMT {offset}"
        punch: dict[str, Any] = {
            "UserId": entry.user_id,
            "LogTime": log_time,
            "InputType": INPUT_TYPE_WORDS.get(entry.input_type, "Face"),
        }
        if entry.direction is not None:
            punch["Type"] = entry.direction
        if entry.temperature is not None:
            punch["Temperature"] = entry.temperature
        if entry.face_mask is not None:
            punch["FaceMask"] = entry.face_mask
        body = {
            "RealTime": {
                "AuthToken": self.auth_token,
                "OperationID": f"{self.stgid}-{entry.seq}",
                "PunchLog": punch,
                "Time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        }
        return body, params, headers

    def accepts(self, response: httpx.Response) -> bool:
        """Whether the listener's reply is the one this device waits for."""
        if not 200 <= response.status_code < 300:
            return False
        expected = self.expected_reply()
        if isinstance(expected, str):
            return response.text.strip() == expected
        try:
            return bool(response.json() == expected)
        except ValueError:
            return False


class PushSender:
    """One thread pushing every device's outbox to `url`, oldest punch first, retrying at growing intervals
    (`first_retry` doubling up to `max_retry` seconds) until the listener accepts each punch."""

    def __init__(
        self,
        devices: Mapping[str, EmulatedDevice],
        url: str,
        lock: threading.RLock,
        *,
        first_retry: float = 0.05,
        max_retry: float = 5.0,
        tick: float = 0.01,
        timeout: float = 5.0,
    ) -> None:
        self.devices = devices
        self.url = url
        self.lock = lock
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.tick = tick
        self._client = httpx.Client(timeout=timeout)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="minop-push", daemon=True)

    def start(self) -> None:
        """Start pushing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop pushing (punches not accepted yet stay in the outboxes)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for device in list(self.devices.values()):
                self._push_one(device)
            self._stop.wait(self.tick)

    def _push_one(self, device: EmulatedDevice) -> None:
        with self.lock:
            if not device.online or not device.outbox or time.monotonic() < device.next_try:
                return
            entry = device.outbox[0]
            body, params, headers = device.push_request(entry)
            device.push_attempts += 1
        try:
            response = self._client.post(self.url, json=body, params=params, headers=headers)
            accepted = device.accepts(response)
        except httpx.HTTPError:
            accepted = False
        with self.lock:
            if accepted:
                if entry.resends > 0:  # the reply was lost: the terminal sends the same punch again
                    entry.resends -= 1
                elif device.outbox and device.outbox[0] is entry:
                    device.outbox.popleft()
                device.pushed += 1
                device.failures_in_a_row = 0
                device.next_try = 0.0
            else:
                device.failures_in_a_row += 1
                wait = min(self.first_retry * 2 ** (device.failures_in_a_row - 1), self.max_retry)
                device.next_try = time.monotonic() + wait


# -- device commands ----------------------------------------------------------------------------------


def _require(data: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    missing = [name for name in names if name not in data or data[name] in (None, "")]
    if missing:
        raise CommandRefusedError(400, "missing_fields", f"{where}: missing field(s): {', '.join(missing)}")
    wrong = [name for name in names if not isinstance(data[name], str)]
    if wrong:
        raise CommandRefusedError(400, "invalid_field", f"{where}: field(s) {', '.join(wrong)} must be strings")


def _text(value: str, name: str, limit: int) -> str:
    if len(value) > limit or any(not ch.isprintable() for ch in value):
        raise CommandRefusedError(400, "invalid_field", f"{name}: at most {limit} printable characters")
    return value


def _clock_time(value: str, name: str) -> str:
    try:
        if len(value) != 8:
            raise ValueError
        datetime.strptime(value, "%H:%M:%S")
    except ValueError:
        raise CommandRefusedError(400, "invalid_field", f"{name}: {value[:20]!r} is not a time HH:MM:SS") from None
    return value


def _day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise CommandRefusedError(400, "invalid_date", f"{name}: {value[:20]!r} is not a date YYYY-MM-DD") from None


def execute_command(
    device: EmulatedDevice, name: str, entity: str, data: Mapping[str, Any], *, existing_user: str = "update"
) -> str:
    """Apply one validated command to `device`; returns what it did (CommandRefusedError when refused).

    Add User (profile) of a user the terminal holds updates the profile, or with `existing_user="refuse"`
    is refused 409 `user_exists` (the vendor says neither; both are handled by punchbridge)."""
    where = f"{name} {entity}"
    if (name, entity) == ("Add", "User"):
        if "FaceTemplate" in data:
            _require(data, ("UserID", "FaceTemplate"), where)
            user_id = _text(data["UserID"], "UserID", MAX_USER_ID)
            try:
                template = base64.b64decode(data["FaceTemplate"], validate=True)
            except (binascii.Error, ValueError):
                raise CommandRefusedError(400, "invalid_field", "FaceTemplate: not base64") from None
            if not template or len(template) > MAX_TEMPLATE_BYTES:
                raise CommandRefusedError(400, "invalid_field", f"FaceTemplate: 1 to {MAX_TEMPLATE_BYTES} bytes")
            user = device.users.setdefault(user_id, DeviceUser(user_id))
            user.face_digest = hashlib.sha256(template).hexdigest()
            return f"enrolled face of {user_id}"
        _require(data, ("UserID", "FirstName", "LastName", "UserType"), where)
        if data["UserType"] not in USER_TYPES:
            raise CommandRefusedError(400, "invalid_field", f"UserType: expected one of {', '.join(USER_TYPES)}")
        user_id = _text(data["UserID"], "UserID", MAX_USER_ID)
        if existing_user == "refuse" and user_id in device.users:
            raise CommandRefusedError(
                409, "user_exists", f"UserID: user {user_id[:40]!r} already exists on {device.stgid}"
            )
        user = device.users.setdefault(user_id, DeviceUser(user_id))
        user.first_name = _text(data["FirstName"], "FirstName", MAX_NAME)
        user.last_name = _text(data["LastName"], "LastName", MAX_NAME)
        user.user_type = data["UserType"]
        return f"added {user_id}"
    if (name, entity) == ("Delete", "User"):
        _require(data, ("UserID",), where)
        if data["UserID"] not in device.users:
            raise CommandRefusedError(404, "unknown_user", f"UserID: no user {data['UserID'][:40]!r} on {device.stgid}")
        del device.users[data["UserID"]]
        return f"deleted {data['UserID']}"
    if (name, entity) == ("Update", "AccessTime"):
        _require(data, ("UserID", "AccessStartTime", "AccessEndTime", "AccessDays"), where)
        start = _clock_time(data["AccessStartTime"], "AccessStartTime")
        end = _clock_time(data["AccessEndTime"], "AccessEndTime")
        days = data["AccessDays"].split(",")
        if not days or any(d not in "1234567" or len(d) != 1 for d in days) or len(set(days)) != len(days):
            raise CommandRefusedError(400, "invalid_field", "AccessDays: distinct digits 1 to 7 separated by commas")
        if data["UserID"] not in device.users:
            raise CommandRefusedError(404, "unknown_user", f"UserID: no user {data['UserID'][:40]!r} on {device.stgid}")
        device.users[data["UserID"]].access = (start, end, data["AccessDays"])
        return f"access time of {data['UserID']}"
    if (name, entity) == ("Delete", "AttendanceLog"):
        _require(data, ("StartDate", "EndDate"), where)
        first, last = _day(data["StartDate"], "StartDate"), _day(data["EndDate"], "EndDate")
        if last < first:
            raise CommandRefusedError(400, "invalid_date", "EndDate: before StartDate")
        zone = ZoneInfo(device.timezone)
        kept = []
        for entry in device.log:
            local_day = datetime.fromtimestamp(entry.instant_ns / 1e9, UTC).astimezone(zone).date()
            if not first <= local_day <= last:
                kept.append(entry)
        freed = len(device.log) - len(kept)
        device.log = kept
        return f"freed {freed} log entries"
    raise CommandRefusedError(400, "unsupported_command", f"{where}: not supported (see the device command table)")


def parse_command(raw: bytes) -> dict[str, Any]:
    """The command body as an object (CommandRefusedError 400 when it is not one, or lacks required fields)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise CommandRefusedError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise CommandRefusedError(400, "invalid_json", "the body must be a JSON object")
    missing = [name for name in ("CommandName", "CommandEntity", "AuthToken") if not body.get(name)]
    if missing:
        raise CommandRefusedError(400, "missing_fields", f"missing field(s): {', '.join(missing)}")
    for name in ("CommandName", "CommandEntity", "AuthToken"):
        if not isinstance(body[name], str):
            raise CommandRefusedError(400, "invalid_field", f"{name}: must be a string")
    if body["CommandName"] not in COMMAND_NAMES:
        raise CommandRefusedError(400, "unknown_command", f"CommandName: {body['CommandName'][:40]!r} is not a command")
    if body["CommandEntity"] not in COMMAND_ENTITIES:
        raise CommandRefusedError(
            400, "unknown_entity", f"CommandEntity: {body['CommandEntity'][:40]!r} is not an entity"
        )
    data = body.get("OperationData", {})
    if not isinstance(data, dict):
        raise CommandRefusedError(400, "invalid_field", "OperationData: must be an object")
    operation = body.get("OperationID")
    if operation is not None and (not isinstance(operation, str) or not 0 < len(operation) <= 128):
        raise CommandRefusedError(400, "invalid_field", "OperationID: a string of 1 to 128 characters")
    return body

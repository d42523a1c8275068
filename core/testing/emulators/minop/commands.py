"""The device command API of the Minop emulator (`POST /api/v1/execute`) and its test hooks (a mixin of
`MinopEmulator`; see the package docstring for what it refuses)."""

from __future__ import annotations

import hmac
import threading
from collections import Counter, deque
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from punchbridge.testing.emulators.minop.devices import CommandRefusedError, EmulatedDevice, execute_command
from punchbridge.testing.emulators.minop.devices import parse_command as _parse_command
from punchbridge.testing.emulators.minop.faults import FaultHooks, error_reply

__all__ = ["EXECUTE", "MAX_COMMAND_BYTES", "DeviceCommands"]

EXECUTE = "/api/v1/execute"
MAX_COMMAND_BYTES = 1024 * 1024


class DeviceCommands(FaultHooks):
    """Executes commands on the emulated terminals; `executed` and `operations` record what was done."""

    lock: threading.RLock
    stats: Counter[str]
    devices: dict[str, EmulatedDevice]
    command_token: str
    dedupe_operations: bool
    existing_user: str

    def _init_commands(self) -> None:
        self.operations: dict[str, str] = {}
        self.executed: list[dict[str, Any]] = []
        self._command_replies: deque[str] = deque()
        self._lost_replies = 0
        self._hold_after: int | None = None
        self._released = threading.Event()

    def lose_next_reply(self, times: int = 1) -> None:
        """The next `times` commands are executed, but answered 503 (the reply was lost on the way back)."""
        with self.lock:
            self._lost_replies += times

    def command_reply(self, status: str, times: int = 1) -> None:
        """The next `times` commands are answered `{"status": status}` (HTTP 200) without being executed."""
        with self.lock:
            self._command_replies.extend([status] * times)

    def hold_commands(self, after: int) -> None:
        """Execute `after` more commands, then keep every later one waiting (not executed, not answered)
        until `release_commands()`; `stats["held_commands"]` counts the commands waiting."""
        with self.lock:
            self._hold_after = len(self.executed) + after
            self._released.clear()

    def release_commands(self) -> None:
        """Let held commands go on (and hold no more)."""
        with self.lock:
            self._hold_after = None
            self._released.set()

    async def _wait_if_held(self) -> None:
        with self.lock:
            held = self._hold_after is not None and len(self.executed) >= self._hold_after
            if held:
                self.stats["held_commands"] += 1
        while held and not self._released.is_set():
            await anyio.sleep(0.01)

    async def _execute(self, request: Request) -> Response:
        self.stats["requests:execute"] += 1
        bearer = request.headers.get("Authorization", "")
        if not bearer.lower().startswith("bearer ") or not hmac.compare_digest(
            bearer[7:].strip().encode(), self.command_token.encode()
        ):
            return error_reply(401, "unauthorized", "missing or invalid Bearer token")
        stgid = request.query_params.get("stgid")
        if not stgid:
            return error_reply(400, "missing_parameter", "missing query parameter: stgid")
        device = self.devices.get(stgid)
        if device is None:
            return error_reply(404, "unknown_device", f"stgid: no device {stgid[:40]!r}")
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return error_reply(415, "unsupported_media_type", "Content-Type: send application/json; charset=utf-8")
        raw = await request.body()
        if len(raw) > MAX_COMMAND_BYTES:
            return error_reply(413, "too_large", f"the body exceeds {MAX_COMMAND_BYTES} bytes")
        injected = self._injected(EXECUTE)
        if injected is not None:
            return injected
        await self._wait_if_held()
        try:
            body = _parse_command(raw)
            if not hmac.compare_digest(body["AuthToken"].encode(), device.auth_token.encode()):
                return error_reply(401, "invalid_auth_token", f"AuthToken: not the token of device {stgid}")
            operation = body.get("OperationID")
            with self.lock:
                if operation is not None and operation in self.operations:
                    self.stats["duplicate_operations"] += 1
                    if self.dedupe_operations:
                        return JSONResponse({"status": "done"})
                if self._command_replies:
                    return JSONResponse({"status": self._command_replies.popleft()})
                did = execute_command(
                    device,
                    body["CommandName"],
                    body["CommandEntity"],
                    body.get("OperationData", {}),
                    existing_user=self.existing_user,
                )
                if operation is not None:
                    self.operations[operation] = did
                self.executed.append(
                    {"stgid": stgid, "command": body["CommandName"], "entity": body["CommandEntity"],
                     "operation_id": operation, "result": did, "content_type": content_type,
                     "idempotency_key": request.headers.get("Idempotency-Key")}
                )  # fmt: skip
                if self._lost_replies:
                    self._lost_replies -= 1
                    return error_reply(503, "unavailable", "the reply was lost", {"Retry-After": "1"})
        except CommandRefusedError as exc:
            return error_reply(exc.status, exc.code, exc.message)
        return JSONResponse({"status": "done"})

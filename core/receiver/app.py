"""The receiver as an ASGI app (FastAPI): terminal pushes, cloud webhooks, health and metrics.

    app = create_app(config, store)        # then run it on uvicorn (`punchbridge serve` does)

Endpoints: `POST /push` and `POST /push/{stgid}` (terminal pushes, both shapes), `POST /webhooks/minop`
(cloud events), `GET /health`, `GET /metrics`, and the OpenAPI document at `/openapi.json`. Every reply
to a push or a webhook is sent after its write is committed (group commit, see `writer`); every
refusal is a 4xx naming the field (a 503 only when the store cannot take the write, so the sender
keeps it and sends again). docs/receiver.md is the user's description.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from punchbridge._version import __version__
from punchbridge.config import Config
from punchbridge.errors import StoreError
from punchbridge.receiver import openapi
from punchbridge.receiver.auth import authenticate_device, bearer_token
from punchbridge.receiver.body import parse_json_object, read_limited
from punchbridge.receiver.events import EVENT_TYPES, read_event
from punchbridge.receiver.fields import ID_PATTERN
from punchbridge.receiver.metrics import ReceiverMetrics
from punchbridge.receiver.push import PushEnvelope, read_envelope, read_punch
from punchbridge.receiver.rejection import RejectedError
from punchbridge.receiver.replies import OK, Reply, refused_by_store, store_unavailable
from punchbridge.receiver.signatures import STANDARD_WEBHOOKS_TOLERANCE, WebhookKeys, verify_delivery
from punchbridge.receiver.writer import GroupCommitWriter
from punchbridge.store import Store

__all__ = ["Receiver", "ReceiverApp", "create_app"]

log = logging.getLogger("punchbridge.receiver")

_NS_PER_HOUR = 3600 * 10**9


class Receiver:
    """The receiver's state and request handling, independent of the web framework's routing."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.settings = config.receiver
        self.store = store
        self.clock = clock
        self.metrics = ReceiverMetrics.create()
        secrets = [secret.get_secret_value() for secret in self.settings.webhook_secrets]
        self.keys, warnings = WebhookKeys.from_secrets(secrets)
        for warning in warnings:
            log.warning("%s", warning)
        if self.keys.standard and self.settings.webhook_tolerance_seconds > STANDARD_WEBHOOKS_TOLERANCE:
            log.warning(
                "receiver.webhook_tolerance_seconds is %d: Standard Webhooks deliveries are still refused beyond "
                "%d s (the standardwebhooks library's fixed window); X-Minop-Signature ones get the setting",
                self.settings.webhook_tolerance_seconds,
                STANDARD_WEBHOOKS_TOLERANCE,
            )
        for name, device in config.devices.items():
            if device.enabled and device.push_token is None:
                log.warning("device %s has no push_token: its pushes will be refused", name)
        self.writer = GroupCommitWriter(
            store,
            replay_window_ns=self.settings.replay_window_hours * _NS_PER_HOUR,
            max_batch=self.settings.max_writes_per_commit,
            max_pending=self.settings.max_waiting_writes,
            observe_batch=self.metrics.commit_batch.observe,
            clock=clock,
        )
        # The children every stored push touches, looked up once (a `labels()` call hashes its values
        # under a lock on each request).
        self._stored_acknowledged = self.metrics.pushes_acknowledged.labels("stored")
        self._latency = {endpoint: self.metrics.latency.labels(endpoint) for endpoint in ("push", "webhook")}
        self._started = False
        nested = self.settings.nested_reply
        try:
            json.loads(nested)
            nested_type = "application/json"
        except ValueError:
            nested_type = "text/plain; charset=utf-8"
        self._nested_reply = Reply(200, nested.encode("utf-8"), nested_type)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer (on the running loop); called at startup, or by the first request."""
        if not self._started:
            self._started = True
            self.writer.start()

    async def stop(self) -> None:
        """Commit what is waiting and stop taking writes."""
        if self._started:
            await self.writer.close()

    def _now(self) -> tuple[float, datetime]:
        now = self.clock()
        return now, datetime.fromtimestamp(now, UTC)

    # -- pushes ----------------------------------------------------------------------------------

    async def push(
        self,
        content_length: str | None,
        authorization: str | None,
        query_token: str | None,
        chunks: AsyncIterator[bytes] | bytes,
        url_device: str | None,
        query_device: str | None = None,
    ) -> Reply:
        """A terminal's push: authenticate, read, store, then answer the way its shape expects.

        Only what comes before authentication is refused (size, JSON, the device, the token): an
        authenticated push whose punch cannot be used is quarantined with its body and acknowledged, so
        the terminal's queue never stalls behind it. Takes the few request parts it needs rather than a
        framework's request object: the push fast path reads them straight from the ASGI scope.
        """
        self.start()
        started = time.perf_counter()
        envelope: PushEnvelope | None = None
        try:
            body = await read_limited(content_length, chunks, self._body_limit)
            document = parse_json_object(body, self.settings.max_json_depth)
            envelope = read_envelope(document, url_device, query_device)
            token = bearer_token(authorization) or query_token or envelope.body_token
            device = authenticate_device(self.config.devices, envelope.device_id, token)
            _, now = self._now()
            write = read_punch(
                document,
                envelope,
                self.config.sites[device.site].timezone,
                now,
                self.settings.plausible_past_days,
                self.settings.plausible_future_minutes,
                body,
            )
            outcome = await self.writer.submit(write)
        except RejectedError as exc:
            self.metrics.pushes_rejected.labels(exc.reason).inc()
            device_id = envelope.device_id if envelope is not None else "?"
            log.info("push refused (%s) from device %s: %s: %s", exc.reason, device_id, exc.field, exc.message)
            return self._finish(Reply.refusal(exc), "push", started)
        except StoreError as exc:
            self.metrics.pushes_rejected.labels("store_unavailable").inc()
            return self._finish(store_unavailable(exc), "push", started)
        except ValueError as exc:  # the store refused what the checks let through: still the sender's data
            self.metrics.pushes_rejected.labels("refused_by_store").inc()
            return self._finish(refused_by_store(exc, 400), "push", started)
        except ClientDisconnect:
            return Reply(400, b"", "text/plain")
        if outcome == "stored":
            self.metrics.pushes_accepted.inc()
            self._stored_acknowledged.inc()
        elif outcome == "duplicate":
            self.metrics.pushes_duplicate.inc()
            self.metrics.pushes_acknowledged.labels("duplicate").inc()
        else:  # quarantined, or already quarantined: acknowledged so the terminal stops resending it
            reason = getattr(write, "reason", "quarantined")
            self.metrics.pushes_quarantined.inc()
            self.metrics.pushes_quarantined_by_reason.labels(reason).inc()
            self.metrics.pushes_acknowledged.labels("quarantined").inc()
            log.info(
                "push from device %s quarantined (%s): %s", envelope.device_id, reason, getattr(write, "detail", "")
            )
        reply = self._nested_reply if envelope.shape == "nested" else OK
        return self._finish(reply, "push", started)

    # -- webhooks --------------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Reply:
        """A cloud event: verify the signature first, then read the event, apply it once, answer."""
        self.start()
        started = time.perf_counter()
        try:
            body = await read_limited(request.headers.get("content-length"), request.stream(), self._body_limit)
            now, moment = self._now()
            delivery = verify_delivery(
                request.headers.getlist, body, self.keys, now, self.settings.webhook_tolerance_seconds
            )
            document = parse_json_object(body, self.settings.max_json_depth)
            write = read_event(
                document,
                delivery,
                moment,
                self.settings.plausible_past_days,
                self.settings.plausible_future_minutes,
            )
            outcome = await self.writer.submit(write)
        except RejectedError as exc:
            self.metrics.webhooks_rejected.labels(exc.reason).inc()
            log.info("webhook refused (%s): %s: %s", exc.reason, exc.field, exc.message)
            return self._finish(Reply.refusal(exc), "webhook", started)
        except StoreError as exc:
            self.metrics.webhooks_rejected.labels("store_unavailable").inc()
            return self._finish(store_unavailable(exc), "webhook", started)
        except ValueError as exc:  # the store refused what the checks let through: still the sender's data
            self.metrics.webhooks_rejected.labels("refused_by_store").inc()
            return self._finish(refused_by_store(exc, 422), "webhook", started)
        except ClientDisconnect:
            return Reply(400, b"", "text/plain")
        label = write.event_type if write.event_type in EVENT_TYPES else "other"
        self.metrics.webhooks.labels(label, outcome).inc()
        status = "processed" if outcome == "processed" else "already_processed"
        reply = Reply.json({"status": status, "id": write.event_id, "type": write.event_type})
        return self._finish(reply, "webhook", started)

    # -- health and metrics ----------------------------------------------------------------------

    async def health(self) -> Response:
        """200 when the store can be read and the writer runs; 503 otherwise."""
        self.start()
        try:
            await asyncio.to_thread(self.store.ping)
        except StoreError as exc:
            log.error("health check: %s", exc)
            return JSONResponse({"status": "unavailable", "message": "the store cannot be read"}, status_code=503)
        if not self.writer.running:
            return JSONResponse({"status": "unavailable", "message": "the receiver is stopping"}, status_code=503)
        return JSONResponse({"status": "ok"})

    def metrics_reply(self) -> Response:
        """The Prometheus text exposition of this receiver's metrics."""
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # -- replies ---------------------------------------------------------------------------------

    @property
    def _body_limit(self) -> int:
        return self.settings.max_body_bytes

    def _finish(self, reply: Reply, endpoint: str, started: float) -> Reply:
        self._latency[endpoint].observe(time.perf_counter() - started)
        return reply


async def _body_chunks(receive: Receive, message: Message) -> AsyncIterator[bytes]:
    """The request body from its first message on (raises ClientDisconnect if the client left)."""
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
        message = await receive()


async def _body(receive: Receive) -> AsyncIterator[bytes] | bytes:
    """The body itself when the server hands it over in one message (a push's small body, nearly
    always), else its chunks: `read_limited` checks the size either way."""
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")
        return body
    return _body_chunks(receive, message)


def _push_device(scope: Scope) -> tuple[bool, str | None]:
    """(True, the URL's device or None) for `POST /push` and `POST /push/{stgid}`; (False, None) otherwise."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return False, None
    path: str = scope["path"]
    if path == "/push":
        return True, None
    if path.startswith("/push/"):
        device = path[6:]
        if device and "/" not in device:
            return True, device
    return False, None


async def _serve_push(receiver: Receiver, scope: Scope, receive: Receive, send: Send, device: str | None) -> None:
    """A push straight from the ASGI scope to `Receiver.push`, its reply straight to the server."""
    length = authorization = None
    for name, value in scope["headers"]:
        if name == b"content-length" and length is None:
            length = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    query: bytes = scope["query_string"]
    token = query_device = None
    if query:
        parameters = QueryParams(query)
        token, query_device = parameters.get("token"), parameters.get("stgid")
    reply = await receiver.push(length, authorization, token, await _body(receive), device, query_device)
    await reply.send(send)


class _PushFastPath:
    """Hands `POST /push` and `POST /push/{stgid}` straight to the receiver, everything else to FastAPI.

    Pushes are the receiver's volume: FastAPI's routing, dependency and middleware layers cost about
    as much per request as the receiver's own work (measured: 2,950 against 4,800 empty requests per
    second on one core). The routes stay declared in FastAPI, for the OpenAPI document and for paths
    this does not recognise; both call the same `Receiver.push`. `ReceiverApp.__call__` takes pushes
    before even FastAPI's entry; this layer serves an app whose stack is entered another way.
    """

    def __init__(self, app: ASGIApp, receiver: Receiver) -> None:
        self.app = app
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_push, device = _push_device(scope)
        if is_push:
            await _serve_push(self.receiver, scope, receive, send, device)
        else:
            await self.app(scope, receive, send)


class ReceiverApp(FastAPI):
    """The receiver's FastAPI app, with pushes taken before FastAPI's routing (`_PushFastPath`)."""

    receiver: Receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pushes straight to the receiver (FastAPI's and Starlette's entry layers cost a push several
        microseconds and add nothing to it); everything else, and lifespan, through FastAPI."""
        if not self.root_path:
            is_push, device = _push_device(scope)
            if is_push:
                await _serve_push(self.receiver, scope, receive, send, device)
                return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, behind the push fast path."""
        return _PushFastPath(super().build_middleware_stack(), self.receiver)


def _without_telemetry() -> dict[str, Any]:
    """Keyword arguments that switch off FastAPI's built-in OpenTelemetry where it has one: spans would
    record request URLs (with ?token=) wherever a tracer is configured, and cost time per push."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(config: Config, store: Store, *, clock: Callable[[], float] = time.time) -> ReceiverApp:
    """The receiver app for `config`, writing to `store` (which the caller opens and closes).

    `clock` (unix seconds) is the time used for plausibility and webhook tolerance; tests move it.
    The `standardwebhooks` library also holds a Standard Webhooks timestamp to five minutes of the
    wall clock, which `clock` does not move (the receiver's tests move the library's clock too).
    The writer starts with the app's lifespan, or with the first request when the server runs
    without one; on shutdown it commits what is waiting before the app stops.
    """
    receiver = Receiver(config, store, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        receiver.start()
        try:
            yield
        finally:
            await receiver.stop()

    app = ReceiverApp(
        title="punchbridge receiver",
        version=__version__,
        description="Real-time pushes from time-attendance terminals and webhooks from the Minop cloud.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        **_without_telemetry(),
    )
    app.receiver = receiver
    responses = openapi.push_responses(config.receiver.nested_reply)

    @app.post(
        "/push",
        summary="A terminal's real-time push (the body names the device)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": openapi.PUSH_BODY_WITH_DEVICE}},
                "description": "The body names the device (stgid); with ?stgid= in the query it need not",
            },
            "security": openapi.PUSH_SECURITY,
            "parameters": [openapi.PUSH_QUERY_DEVICE],
        },
        response_class=Response,
    )
    async def push(request: Request) -> Response:
        """Flat or nested push; the reply is `ok` (flat) or receiver.nested_reply (nested)."""
        return (await receiver.push(*_push_parts(request), None, request.query_params.get("stgid"))).response()

    @app.post(
        "/push/{stgid}",
        summary="A terminal's real-time push (the URL names the device)",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": openapi.PUSH_BODY}}},
            "security": openapi.PUSH_SECURITY,
            "parameters": [openapi.PUSH_QUERY_DEVICE],
        },
        response_class=Response,
    )
    async def push_to_device(stgid: str, request: Request) -> Response:
        """As `POST /push`, for a listener URL configured per terminal."""
        return (await receiver.push(*_push_parts(request), stgid, request.query_params.get("stgid"))).response()

    @app.post(
        "/webhooks/minop",
        summary="An event from the Minop cloud (X-Minop-Signature or Standard Webhooks signature)",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": openapi.WEBHOOK_BODY}}},
            "security": openapi.WEBHOOK_SECURITY,
        },
        response_class=Response,
    )
    async def webhook(request: Request) -> Response:
        """Verified, applied once (a replayed id changes nothing), answered after the commit."""
        return (await receiver.webhook(request)).response()

    @app.get("/health", summary="Whether the store can be read", response_class=Response)
    async def health() -> Response:
        """200 {"status": "ok"}, or 503 when the store cannot be read."""
        return await receiver.health()

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        """Pushes accepted, duplicate, quarantined, refused by reason; webhooks; latency; commit batches."""
        return receiver.metrics_reply()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own reply would echo the input (a token in the query, say): name the field only.
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        reply = {"error": "invalid_field", "field": field or None, "message": str(first.get("msg", "invalid"))}
        return JSONResponse(reply, status_code=400)

    operations = {
        ("/push", "post"): responses,
        ("/push/{stgid}", "post"): responses,
        ("/webhooks/minop", "post"): openapi.webhook_responses(),
        ("/health", "get"): {
            "200": {"description": "The store can be read", "content": _status_schema()},
            "503": {"description": "The store cannot be read", "content": _status_schema()},
        },
        ("/metrics", "get"): {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
        },
    }

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for (path, method), replies in operations.items():
                operation = schema["paths"][path][method]
                operation["responses"] = replies
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path":
                        parameter["schema"] = {"type": "string", "pattern": ID_PATTERN}
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(openapi.COMPONENTS["schemas"])
            components["schemas"].update(openapi.push_components(config.receiver.max_json_depth))
            for unused in ("HTTPValidationError", "ValidationError"):
                components["schemas"].pop(unused, None)
            components["securitySchemes"] = openapi.COMPONENTS["securitySchemes"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
    return app


def _push_parts(request: Request) -> tuple[str | None, str | None, str | None, AsyncIterator[bytes]]:
    """What `Receiver.push` reads of a request, taken from FastAPI's request object."""
    headers, token = request.headers, request.query_params.get("token")
    return headers.get("content-length"), headers.get("authorization"), token, request.stream()


def _status_schema() -> dict[str, Any]:
    return {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"enum": ["ok", "unavailable"]}, "message": {"type": "string"}},
            }
        }
    }

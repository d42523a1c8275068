"""The emulator refuses what the real service refuses, and its terminals and webhooks behave as the spec says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from punchbridge.testing.emulators.minop import EXECUTE, PROCESSED, RAW, MinopEmulator, RateLimits, WebhookSender
from punchbridge.testing.http import ServedApp, serve


def http(cloud: ServedApp) -> httpx.Client:
    return httpx.Client(base_url=cloud.url)


def keyed(emulator: MinopEmulator) -> dict[str, str]:
    return {"X-API-Key": emulator.api_key}


# -- the pull API --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"X-API-Key": "nope"}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, 401, "unauthorized"),
    ],
)
def test_the_pull_api_needs_a_known_credential(emulator, cloud, headers, status, code):
    reply = http(cloud).get(RAW, headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (status, code)


def test_an_api_key_without_the_scope_is_forbidden(clock, cloud):
    emulator = MinopEmulator(clock=clock, api_keys={"raw-only": frozenset({"read:raw"})})
    with serve(emulator.app) as server:
        reply = http(server).get(
            PROCESSED, params={"from": "2025-10-01", "to": "2025-10-01"}, headers={"X-API-Key": "raw-only"}
        )
    assert (reply.status_code, reply.json()["code"]) == (403, "insufficient_scope")


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        (RAW, {"frm": "2025-10-01"}, "frm"),
        (RAW, {"from": "2025-13-01"}, "from"),
        (RAW, {"from": "2025-10-01T10:00:00"}, "no UTC offset"),
        (RAW, {"updated_since": "yesterday"}, "updated_since"),
        (RAW, {"limit": "0"}, "limit"),
        (RAW, {"limit": "99999999999999999999"}, "limit"),
        (RAW, {"source": "fax"}, "source"),
        (RAW, {"from": "2025-10-02", "to": "2025-10-01"}, "before from"),
        (RAW, {"cursor": "garbage!"}, "cursor"),
        (PROCESSED, {}, "from, to"),
        (PROCESSED, {"from": "2025-10-01", "to": "10/02/2025"}, "to"),
        (PROCESSED, {"from": "2025-10-01", "to": "2025-10-01", "fields": "salary"}, "salary"),
    ],
)
def test_bad_queries_get_400_naming_the_parameter(emulator, cloud, path, params, named):
    reply = http(cloud).get(path, params=params, headers=keyed(emulator))
    assert reply.status_code == 400
    assert named in reply.json()["message"]


def test_a_cursor_only_works_for_its_own_query(emulator, cloud):
    emulator.add_raw_punches(
        [{"employee_id": f"E{i}", "device_id": "d", "timestamp": f"2025-10-01T0{i}:00:00Z"} for i in range(4)]
    )
    client = http(cloud)
    first = client.get(RAW, params={"limit": "2", "device_id": "d"}, headers=keyed(emulator)).json()
    moved = client.get(
        RAW, params={"limit": "2", "device_id": "x", "cursor": first["next_cursor"]}, headers=keyed(emulator)
    )
    assert (moved.status_code, moved.json()["code"]) == (400, "invalid_cursor")
    same = client.get(
        RAW, params={"limit": "2", "device_id": "d", "cursor": first["next_cursor"]}, headers=keyed(emulator)
    )
    assert len(same.json()["data"]) == 2 and same.json()["next_cursor"] is None


def test_a_correction_while_paging_is_served_again_not_skipped(emulator, cloud, clock):
    emulator.add_raw_punches(
        [{"employee_id": f"E{i}", "device_id": "d", "timestamp": f"2025-10-01T0{i}:00:00Z",
          "updated_at": f"2025-10-01T0{i}:05:00Z"} for i in range(4)]
    )  # fmt: skip
    client = http(cloud)
    first = client.get(RAW, params={"limit": "2"}, headers=keyed(emulator)).json()
    emulator.correct_raw([first["data"][0]["event_id"]], source="web")
    rest = client.get(RAW, params={"limit": "10", "cursor": first["next_cursor"]}, headers=keyed(emulator)).json()
    assert [r["employee_id"] for r in rest["data"]] == ["E2", "E3", "E0"]


def test_updated_since_serves_only_records_changed_at_or_after_it(emulator, cloud, clock):
    emulator.add_raw_punches(
        [{"employee_id": f"E{i}", "device_id": "d", "timestamp": f"2025-10-01T0{i}:00:00Z",
          "updated_at": f"2025-10-01T0{i}:05:00Z"} for i in range(4)]
    )  # fmt: skip
    reply = http(cloud).get(RAW, params={"updated_since": "2025-10-01T02:05:00Z"}, headers=keyed(emulator)).json()
    assert [r["employee_id"] for r in reply["data"]] == ["E2", "E3"]


def test_the_rate_limit_answers_429_with_the_wait_until_a_call_is_free(clock):
    emulator = MinopEmulator(clock=clock, limits=RateLimits(per_window=3, window_seconds=60))
    with serve(emulator.app) as server:
        client = http(server)
        for _ in range(3):
            assert client.get(RAW, headers=keyed(emulator)).status_code == 200
        clock.advance(20)
        limited = client.get(RAW, headers=keyed(emulator))
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "40")
        clock.advance(40)
        assert client.get(RAW, headers=keyed(emulator)).status_code == 200
        emulator.limits = RateLimits.lifted()
        assert all(client.get(RAW, headers=keyed(emulator)).status_code == 200 for _ in range(10))


def test_the_token_endpoint_follows_rfc_6749(emulator, cloud, clock):
    client = http(cloud)
    good = (emulator.client_id, emulator.client_secret)
    grant = {"grant_type": "client_credentials"}
    assert client.post("/oauth/token", data={"grant_type": "password"}, auth=good).json() == {
        "error": "unsupported_grant_type"
    }
    assert client.post("/oauth/token", data=grant, auth=(emulator.client_id, "x")).status_code == 401
    assert client.post("/oauth/token", data=grant | {"scope": "root"}, auth=good).json() == {"error": "invalid_scope"}
    form = grant | {"client_id": good[0], "client_secret": good[1], "scope": "read:raw"}
    token = client.post("/oauth/token", data=form).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get(RAW, headers=bearer).status_code == 200
    clock.advance(3600)
    assert client.get(RAW, headers=bearer).status_code == 401


# -- device commands -------------------------------------------------------------------------------------


@pytest.fixture
def terminal(emulator):
    return emulator.add_device("dev1", timezone="Asia/Kolkata")


def execute(cloud: ServedApp, emulator: MinopEmulator, body: object, *, token: str | None = None, stgid: str = "dev1"):
    headers = {"Authorization": f"Bearer {token or emulator.command_token}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http(cloud).post(EXECUTE, params={"stgid": stgid}, headers=headers, content=content)


def command(terminal, name: str, entity: str, **data: str) -> dict:
    return {"CommandName": name, "CommandEntity": entity, "AuthToken": terminal.auth_token, "OperationData": data}


PROFILE = {"UserID": "1001", "FirstName": "Asha", "LastName": "Rao", "UserType": "1"}


@pytest.mark.parametrize(
    ("change", "status", "code", "named"),
    [
        ({"token": "wrong"}, 401, "unauthorized", "Bearer"),
        ({"stgid": "dev9"}, 404, "unknown_device", "dev9"),
        ({"body": b"{not json"}, 400, "invalid_json", "not JSON"),
        ({"body": b"[1, 2]"}, 400, "invalid_json", "object"),
        ({"drop": "CommandEntity"}, 400, "missing_fields", "CommandEntity"),
        ({"drop": "AuthToken"}, 400, "missing_fields", "AuthToken"),
        ({"set": {"AuthToken": "other"}}, 401, "invalid_auth_token", "AuthToken"),
        ({"set": {"CommandName": "Explode"}}, 400, "unknown_command", "Explode"),
        ({"set": {"CommandEntity": "Door"}}, 400, "unknown_entity", "Door"),
        ({"set": {"CommandName": "Load"}}, 400, "unsupported_command", "Load User"),
        ({"data": {"UserID": "1001", "FirstName": "Asha"}}, 400, "missing_fields", "LastName, UserType"),
        ({"data": {**PROFILE, "UserType": "5"}}, 400, "invalid_field", "UserType"),
        ({"data": {**PROFILE, "UserID": 1001}}, 400, "invalid_field", "UserID"),
        ({"data": {"UserID": "1", "FaceTemplate": "%%%"}}, 400, "invalid_field", "FaceTemplate"),
        ({"set": {"OperationData": [1]}}, 400, "invalid_field", "OperationData"),
        ({"set": {"OperationID": 5}}, 400, "invalid_field", "OperationID"),
    ],
)
def test_commands_are_refused_as_the_spec_says(emulator, cloud, terminal, change, status, code, named):
    body: object = command(terminal, "Add", "User", **PROFILE)
    assert isinstance(body, dict)
    if "drop" in change:
        body.pop(change["drop"])
    body.update(change.get("set", {}))
    if "data" in change:
        body["OperationData"] = change["data"]
    reply = execute(
        cloud, emulator, change.get("body", body), token=change.get("token"), stgid=change.get("stgid", "dev1")
    )
    assert (reply.status_code, reply.json()["code"]) == (status, code)
    assert named in reply.json()["message"]
    assert not terminal.users


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"StartDate": "2025-02-30", "EndDate": "2025-03-01"}, "StartDate"),
        ({"StartDate": "2025-03-01", "EndDate": "01/03/2025"}, "EndDate"),
        ({"StartDate": "2025-03-02", "EndDate": "2025-03-01"}, "before StartDate"),
        ({"StartDate": "2025-03-01"}, "EndDate"),
    ],
)
def test_delete_attendance_log_needs_a_real_date_range(emulator, cloud, terminal, data, named):
    reply = execute(cloud, emulator, command(terminal, "Delete", "AttendanceLog", **data))
    assert reply.status_code == 400 and named in reply.json()["message"]


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"AccessStartTime": "8:00", "AccessEndTime": "18:00:00", "AccessDays": "1"}, "AccessStartTime"),
        ({"AccessStartTime": "08:00:00", "AccessEndTime": "24:00:00", "AccessDays": "1"}, "AccessEndTime"),
        ({"AccessStartTime": "08:00:00", "AccessEndTime": "18:00:00", "AccessDays": "1,1"}, "AccessDays"),
        ({"AccessStartTime": "08:00:00", "AccessEndTime": "18:00:00", "AccessDays": "0"}, "AccessDays"),
    ],
)
def test_update_access_time_checks_its_formats(emulator, cloud, terminal, data, named):
    assert execute(cloud, emulator, command(terminal, "Add", "User", **PROFILE)).status_code == 200
    reply = execute(cloud, emulator, command(terminal, "Update", "AccessTime", UserID="1001", **data))
    assert reply.status_code == 400 and named in reply.json()["message"]


def test_an_operation_id_is_for_tracking_and_a_repeated_one_is_executed_again(emulator, cloud, terminal):
    # The vendor: OperationID is "for tracking and support". A retried command can run twice.
    add = command(terminal, "Add", "User", **PROFILE) | {"OperationID": "op-1"}
    assert execute(cloud, emulator, add).json() == {"status": "done"}
    delete = command(terminal, "Delete", "User", UserID="1001") | {"OperationID": "op-2"}
    assert execute(cloud, emulator, delete).json() == {"status": "done"}
    assert execute(cloud, emulator, add).json() == {"status": "done"}  # op-1 again: executed again
    assert "1001" in terminal.users
    assert [e["operation_id"] for e in emulator.executed] == ["op-1", "op-2", "op-1"]
    assert emulator.stats["duplicate_operations"] == 1


def test_a_cloud_that_deduplicates_operation_ids_is_a_setting(clock):
    emulator = MinopEmulator(clock=clock, dedupe_operations=True)
    terminal = emulator.add_device("dev1")
    with serve(emulator.app) as cloud:
        add = command(terminal, "Add", "User", **PROFILE) | {"OperationID": "op-1"}
        execute(cloud, emulator, add)
        execute(cloud, emulator, command(terminal, "Delete", "User", UserID="1001") | {"OperationID": "op-2"})
        assert execute(cloud, emulator, add).json() == {"status": "done"}  # answered, not executed
    assert "1001" not in terminal.users
    assert [e["operation_id"] for e in emulator.executed] == ["op-1", "op-2"]


@pytest.mark.parametrize("existing_user", ["update", "refuse"])
def test_a_command_run_twice_meets_the_terminal_as_the_first_run_left_it(clock, existing_user):
    emulator = MinopEmulator(clock=clock, existing_user=existing_user)
    terminal = emulator.add_device("dev1")
    with serve(emulator.app) as cloud:
        add = command(terminal, "Add", "User", **PROFILE)
        first, second = execute(cloud, emulator, add), execute(cloud, emulator, add | {"OperationData": {
            **PROFILE, "LastName": "Iyer"}})  # fmt: skip
        window = command(terminal, "Update", "AccessTime", UserID="1001", AccessStartTime="08:00:00",
                         AccessEndTime="18:00:00", AccessDays="1,2,3")  # fmt: skip
        windows = [execute(cloud, emulator, window).json() for _ in range(2)]
        delete = command(terminal, "Delete", "User", UserID="1001")
        deletes = [execute(cloud, emulator, delete) for _ in range(2)]
    assert first.json() == {"status": "done"} and windows == [{"status": "done"}] * 2
    if existing_user == "update":
        assert second.json() == {"status": "done"}
    else:
        assert (second.status_code, second.json()["code"]) == (409, "user_exists")
    assert deletes[0].json() == {"status": "done"}
    assert (deletes[1].status_code, deletes[1].json()["code"]) == (404, "unknown_user")


def test_a_command_must_be_sent_as_json(emulator, cloud, terminal):
    headers = {"Authorization": f"Bearer {emulator.command_token}", "Content-Type": "text/plain"}
    body = json.dumps(command(terminal, "Add", "User", **PROFILE))
    reply = http(cloud).post(EXECUTE, params={"stgid": "dev1"}, headers=headers, content=body)
    assert (reply.status_code, reply.json()["code"]) == (415, "unsupported_media_type")
    assert not terminal.users


def test_delete_attendance_log_frees_the_local_dates_of_the_range(emulator, cloud, terminal):
    # 2025-10-01 20:00 UTC is 2025-10-02 01:30 in Asia/Kolkata: it belongs to the 2nd.
    for moment in ("2025-10-01T05:00:00Z", "2025-10-01T20:00:00Z", "2025-10-03T05:00:00Z"):
        emulator.scan("dev1", "1001", datetime.fromisoformat(moment))
    reply = execute(
        cloud, emulator, command(terminal, "Delete", "AttendanceLog", StartDate="2025-10-02", EndDate="2025-10-02")
    )
    assert reply.json() == {"status": "done"}
    remaining = [datetime.fromtimestamp(e.instant_ns / 1e9, UTC).isoformat() for e in terminal.log]
    assert remaining == ["2025-10-01T05:00:00+00:00", "2025-10-03T05:00:00+00:00"]
    assert len(emulator.raw) == 3  # the cloud's copy is not the terminal's memory


# -- terminals pushing -------------------------------------------------------------------------------------


class Listener:
    """A tiny listener: records pushes; fails the first `failures` of them; replies per shape."""

    def __init__(self, failures: int = 0, reply: Callable[[dict], Response] | None = None) -> None:
        self.failures = failures
        self.received: list[dict] = []
        self.params: list[dict] = []
        self.lock = threading.Lock()
        self.reply = reply or (
            lambda body: PlainTextResponse("ok") if "stgid" in body else JSONResponse({"status": "1"})
        )
        self.app = Starlette(routes=[Route("/push", self.push, methods=["POST"])])

    async def push(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            if self.failures > 0:
                self.failures -= 1
                return PlainTextResponse("busy", status_code=503)
            self.received.append(body)
            self.params.append(dict(request.query_params))
        return self.reply(body)


@pytest.fixture
def listener_factory() -> Iterator[Callable[..., tuple[Listener, str]]]:
    servers = []

    def start(**options) -> tuple[Listener, str]:
        listener = Listener(**options)
        context = serve(listener.app)
        servers.append(context)
        return listener, context.__enter__().url + "/push"

    yield start
    for context in servers:
        context.__exit__(None, None, None)


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_terminals_keep_punches_until_the_listener_says_ok(emulator, listener_factory):
    listener, url = listener_factory(failures=5)
    flat = emulator.add_device("dev1", timezone="Asia/Kolkata")
    nested = emulator.add_device("dev2", shape="nested")
    start = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    for n in range(4):
        emulator.scan("dev1", f"U{n}", start + timedelta(minutes=n), input_type="1")
        emulator.scan("dev2", f"U{n}", start + timedelta(minutes=n), direction="CheckIn")
    emulator.start_push(url, first_retry=0.01, max_retry=0.05)
    wait_for(lambda: not flat.outbox and not nested.outbox)
    emulator.stop_push()
    flat_bodies = [b for b in listener.received if "stgid" in b]
    nested_bodies = [b["RealTime"] for b in listener.received if "RealTime" in b]
    assert [b["UserID"] for b in flat_bodies] == ["U0", "U1", "U2", "U3"]  # in order, none lost
    assert flat_bodies[0] == {"stgid": "dev1", "UserID": "U0", "LogTime": "2026-01-08 17:30:00", "Type": "1"}
    assert [b["PunchLog"]["UserId"] for b in nested_bodies] == ["U0", "U1", "U2", "U3"]
    assert nested_bodies[0]["PunchLog"]["LogTime"] == "2026-01-08T12:00:00Z"
    assert nested_bodies[0]["AuthToken"] == nested.auth_token
    assert {p["token"] for p in listener.params if p["stgid"] == "dev1"} == {flat.push_token}
    assert flat.push_attempts + nested.push_attempts == 8 + 5


def test_a_reply_other_than_the_expected_one_keeps_the_punch(emulator, listener_factory):
    listener, url = listener_factory(reply=lambda body: PlainTextResponse("OK, thanks"))
    device = emulator.add_device("dev1")
    emulator.scan("dev1", "U1", datetime(2026, 1, 8, 12, tzinfo=UTC))
    emulator.start_push(url, first_retry=0.01, max_retry=0.02)
    wait_for(lambda: len(listener.received) >= 3)
    emulator.stop_push()
    assert len(device.outbox) == 1  # resent again and again: duplicates are normal, loss is not


def test_the_gmt_variant_writes_its_offset_and_waits_for_done(emulator, listener_factory):
    listener, url = listener_factory(reply=lambda body: JSONResponse({"status": "done"}))
    device = emulator.add_device("dev1", timezone="Europe/Istanbul", shape="nested_gmt", token_in="bearer")
    emulator.scan("dev1", "U1", datetime(2024, 9, 17, 5, tzinfo=UTC))
    emulator.start_push(url, first_retry=0.01)
    wait_for(lambda: not device.outbox)
    emulator.stop_push()
    assert listener.received[0]["RealTime"]["PunchLog"]["LogTime"] == "2024-09-17 08:00:00 GMT +0300"
    assert "token" not in listener.params[0]


def test_an_offline_terminal_keeps_its_punches_from_the_cloud_and_the_listener_until_it_is_back(
    emulator, listener_factory
):
    listener, url = listener_factory()
    device = emulator.add_device("dev1", timezone="Asia/Kolkata")
    start = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    emulator.scan("dev1", "U0", start)
    emulator.start_push(url, first_retry=0.01, max_retry=0.05)
    wait_for(lambda: not device.outbox)
    emulator.set_online("dev1", False)
    for n in (1, 2):
        emulator.scan("dev1", f"U{n}", start + timedelta(minutes=n))
    time.sleep(0.2)
    assert [b["UserID"] for b in listener.received] == ["U0"] and len(device.outbox) == 2
    assert len(emulator.raw) == 1 and len(device.unforwarded) == 2  # the cloud does not hold them yet
    assert not emulator.queues_empty()
    assert emulator.set_online("dev1", True) == 2
    wait_for(emulator.queues_empty)
    emulator.stop_push()
    assert [b["UserID"] for b in listener.received] == ["U0", "U1", "U2"]  # forwarded in order
    assert sorted(user for user, _instant in emulator.raw.identities()) == ["U0", "U1", "U2"]


def test_a_lost_reply_makes_the_terminal_send_the_same_punch_again(emulator, listener_factory):
    listener, url = listener_factory()
    device = emulator.add_device("dev1")
    emulator.scan("dev1", "U1", datetime(2026, 1, 8, 12, tzinfo=UTC), resends=1)
    emulator.scan("dev1", "U2", datetime(2026, 1, 8, 12, 1, tzinfo=UTC))
    emulator.start_push(url, first_retry=0.01)
    wait_for(lambda: not device.outbox)
    emulator.stop_push()
    assert [b["UserID"] for b in listener.received] == ["U1", "U1", "U2"]


# -- webhooks ----------------------------------------------------------------------------------------------


class WebhookListener:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hooks", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        if self.failures:
            self.failures -= 1
            return PlainTextResponse("down", status_code=500)
        self.deliveries.append((dict(request.headers), body))
        return PlainTextResponse("thanks")


def test_webhooks_are_signed_both_ways_and_retried_with_growing_waits(clock):
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    old = "whsec_" + base64.b64encode(b"an older secret, being rotated").decode()
    listener = WebhookListener(failures=2)
    with serve(listener.app) as server:
        sender = WebhookSender(server.url + "/hooks", [secret, old], scheme="both", clock=clock, sleep=clock.sleep)
        delivery = sender.send("attendance.processed", {"employee_id": "E1", "date": "2025-10-01"}, event_id="evt_1")
        sender.close()
    assert delivery.delivered and delivery.attempts == 3 and delivery.statuses == [500, 500, 200]
    assert clock.slept == [0.5, 1.0]
    headers, body = listener.deliveries[0]
    event = json.loads(body)
    assert (event["id"], event["type"], event["data"]["employee_id"]) == ("evt_1", "attendance.processed", "E1")
    assert headers["idempotency-key"] == "evt_1"
    signed = f"{headers['x-minop-timestamp']}.".encode() + body
    expected = {f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in (secret, old)}
    assert set(headers["x-minop-signature"].split(",")) == expected
    verified = Webhook(secret).verify(
        body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    )
    assert verified == event


def test_webhook_events_are_the_four_the_spec_names(clock):
    sender = WebhookSender("http://127.0.0.1:9/none", ["s"], clock=clock)
    with pytest.raises(ValueError, match="unknown event type"):
        sender.event("punch.deleted", {})
    sender.close()


def test_scans_are_announced_by_webhook(clock, listener_factory):
    listener = WebhookListener(failures=0)
    with serve(listener.app) as server:
        sender = WebhookSender(server.url + "/hooks", ["secret"], clock=clock, sleep=clock.sleep)
        emulator = MinopEmulator(clock=clock, webhooks=sender)
        emulator.add_device("dev1")
        emulator.scan("dev1", "U1", datetime(2026, 1, 8, 12, tzinfo=UTC))
        wait_for(lambda: len(listener.deliveries) == 1)
        emulator.close()
    event = json.loads(listener.deliveries[0][1])
    assert event["type"] == "punch.created" and event["data"]["employee_id"] == "U1"

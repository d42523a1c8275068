"""Pushes are served by a path of their own in front of FastAPI (`ReceiverApp.__call__`); FastAPI's
routes for `POST /push` and `POST /push/{stgid}` stay for the OpenAPI document and for an app mounted
under a root path. The same request through either must get the same reply and leave the same rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from support.receiver_kit import BERLIN_TOKEN, TOKEN, Clock, flat_push, library_clock, make_config, nested_push

from punchbridge.receiver import create_app
from punchbridge.store import Store
from punchbridge.testing.http import serve

#: (path, query, headers, body) of each request, sent in this order to both receivers.
REQUESTS: list[tuple[str, dict[str, str], dict[str, str], bytes]] = [
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(Status="CheckIn")).encode()),
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(Status="CheckIn")).encode()),  # a resend: duplicate
    ("/push/device001", {}, {"Authorization": f"Bearer {TOKEN}"}, json.dumps(nested_push(user="77")).encode()),
    ("/push", {"stgid": "device001", "token": TOKEN}, {}, json.dumps(nested_push(user="78")).encode()),
    ("/push", {"token": "wrong"}, {}, json.dumps(flat_push(user="79")).encode()),
    ("/push", {}, {}, json.dumps(flat_push(user="80")).encode()),  # no token
    ("/push", {"token": TOKEN}, {}, b"x" * 300_000),  # over max_body_bytes: 413
    ("/push", {"token": TOKEN}, {}, b'{"stgid": "device001", "UserID": "1", "LogTime": "\xff\xfe"}'),  # not UTF-8
    ("/push", {"token": TOKEN}, {}, b'{"a":' * 50 + b"1" + b"}" * 50),  # nested too deep
    ("/push", {"token": TOKEN}, {}, b'{"stgid": "device001", "stgid": "device001"}'),  # a key twice
    ("/push", {"token": TOKEN}, {}, b""),  # empty
    ("/push", {"token": TOKEN}, {}, b"[1, 2]"),  # not an object
    ("/push", {"token": TOKEN}, {}, json.dumps({"UserID": "1", "LogTime": "2026-01-08 17:30:00"}).encode()),
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(user="81", LogTime=None)).encode()),  # no time
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(user=["82"])).encode()),  # wrong type: quarantined
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(user="83", Status={"x": 1})).encode()),
    ("/push", {"token": TOKEN}, {}, json.dumps(flat_push(user="84", LogTime="2026-02-30 09:00")).encode()),
    ("/push/device001", {"token": TOKEN}, {}, json.dumps(flat_push(user="85", stgid="berlin01")).encode()),
    ("/push/berlin01", {"token": BERLIN_TOKEN}, {}, json.dumps(flat_push(user="86", stgid=None)).encode()),
]


def _routed_by_fastapi(app: Any) -> Any:
    """`app` with pushes served by FastAPI's routes rather than the push path in front of them."""
    routed = FastAPI.build_middleware_stack(app)  # FastAPI's own stack, without `_PushFastPath`

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["app"] = app
            await routed(scope, receive, send)
        else:  # lifespan: the receiver's writer starts and stops with it
            await app(scope, receive, send)

    return asgi


@contextmanager
def _served(folder: Path, through_fastapi: bool) -> Iterator[tuple[httpx.Client, Store]]:
    folder.mkdir()
    config = make_config(folder, max_body_bytes=100_000)
    clock = Clock()
    with Store.open(config.store) as store:
        app = create_app(config, store, clock=clock)
        served_app = _routed_by_fastapi(app) if through_fastapi else app
        with (
            library_clock(clock),
            serve(served_app, lifespan="on") as served,
            httpx.Client(base_url=served.url, timeout=30) as client,
        ):
            yield client, store


def _rows(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    punches = store.punches_between(0, 2**62)
    quarantined = store.quarantine_rows()
    return (
        punches.drop(columns=["id"], errors="ignore").astype(str).to_dict("records"),
        quarantined.drop(columns=["id"], errors="ignore").astype(str).to_dict("records"),
    )


def test_every_push_gets_the_same_reply_and_rows_through_the_push_path_and_fastapis_routes(tmp_path: Path) -> None:
    replies: dict[bool, list[tuple[int, str, bytes]]] = {}
    rows: dict[bool, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for through_fastapi in (False, True):
        with _served(tmp_path / str(through_fastapi), through_fastapi) as (client, store):
            replies[through_fastapi] = []
            for path, query, headers, body in REQUESTS:
                reply = client.post(path, params=query, headers={"Content-Type": "application/json", **headers},
                                    content=body)  # fmt: skip
                replies[through_fastapi].append((reply.status_code, reply.headers["content-type"], reply.content))
            rows[through_fastapi] = _rows(store)

    for request, fast, routed in zip(REQUESTS, replies[False], replies[True], strict=True):
        assert fast == routed, request[:2]
    statuses = [status for status, _, _ in replies[False]]
    assert statuses == [200, 200, 200, 200, 401, 401, 413, 400, 400, 400, 400, 400, 400, 200, 200, 200, 200, 400, 200]
    assert rows[False] == rows[True]
    punches, quarantined = rows[False]
    assert [row["employee_id"] for row in punches] == ["123", "77", "78"]  # 123 once: its resend is a duplicate
    # No time, a list as the user, an object as the direction, 30 February, 17:30 in Berlin (ahead of now)
    assert [row["reason"] for row in quarantined] == [
        "malformed_record", "malformed_record", "malformed_record", "implausible_timestamp", "implausible_timestamp",
    ]  # fmt: skip


@pytest.mark.parametrize("path", ["/push/", "/push/a/b", "/pushes", "/push/device001/"])
def test_paths_that_only_look_like_a_push_are_left_to_fastapi(tmp_path: Path, path: str) -> None:
    with _served(tmp_path / "r", through_fastapi=False) as (client, store):
        reply = client.post(path, params={"token": TOKEN}, json=flat_push())

        assert reply.status_code in (307, 404, 405), reply.text  # 307: FastAPI redirects to the path without the slash
        assert store.punch_count() == 0


def test_a_receiver_mounted_under_a_root_path_serves_pushes_through_fastapi(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with Store.open(config.store) as store:
        app = create_app(config, store, clock=Clock())
        app.root_path = "/attendance"
        with serve(app, lifespan="on") as served, httpx.Client(base_url=served.url, timeout=30) as client:
            reply = client.post("/attendance/push", params={"token": TOKEN}, json=flat_push())

            assert reply.status_code == 200, reply.text
            assert reply.text == "ok"
            assert store.punch_count() == 1

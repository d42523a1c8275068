"""The receiver on a PostgreSQL store (a real server, skipped with the reason where none can start)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.receiver_kit import TOKEN, Running, event_body, flat_push, minop_headers, nested_push, running_receiver

from punchbridge.testing.postgres import PostgresServer


@pytest.fixture
def pg_receiver(tmp_path: Path, postgres_server: PostgresServer) -> Iterator[Running]:
    url = postgres_server.create_database()
    try:
        with running_receiver(tmp_path, store_url=url) as running:
            yield running
    finally:
        postgres_server.drop_database(url)


def test_pushes_resends_and_replays_behave_the_same_on_postgresql(pg_receiver: Running) -> None:
    client = pg_receiver.client
    bodies = [flat_push(user=f"E{i}", log_time=f"2026-01-08 1{i % 6}:{i:02d}:00") for i in range(40)]
    limits = httpx.Limits(max_connections=16)
    with httpx.Client(base_url=pg_receiver.url, limits=limits) as pool_client, ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda b: pool_client.post("/push", params={"token": TOKEN}, json=b).text, bodies * 2))
    nested = client.post("/push/device001", params={"token": TOKEN}, json=nested_push())
    body = event_body("leave.approved", {"employee_id": "E1", "date": "2026-01-12", "kind": "first_half"})
    first = client.post("/webhooks/minop", content=body, headers=minop_headers(body))
    again = client.post("/webhooks/minop", content=body, headers=minop_headers(body))

    assert replies == ["ok"] * 80
    assert nested.json() == {"status": "1"}
    assert pg_receiver.store.punch_count() == 41
    assert [first.json()["status"], again.json()["status"]] == ["processed", "already_processed"]
    assert pg_receiver.store.leaves()["kind"].tolist() == ["first_half"]
    ids = pg_receiver.store.punches_after(0)["id"].tolist()
    assert ids == sorted(ids)

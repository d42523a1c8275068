"""Migration 0010: a 0009 store's days, ledger, batches and punches read back the same after the upgrade.

The upgrade changes how days and ledger rows are kept (punchbridge.store.compact); what the store
returns must not change, and downgrading must give back the 0009 rows byte for byte.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import alembic.command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from support.store_data import ns

from punchbridge.store import Store
from punchbridge.store.database import MIGRATIONS

SHA = "282c35f0b60769ca317c1a8d84de7ee0119bc559e73e821f6a7bf290afba477d"
NIGHT = "2025-03-03T22:01:15+05:30/2025-03-04T02:00:00+05:30;2025-03-04T02:30:00+05:30/2025-03-04T06:09:06+05:30"

DAYS: list[dict[str, Any]] = [
    # a day shift, a night shift into the next day, a day with no punches, and texts the codec keeps whole
    {"employee_id": "E1", "work_date": "2025-03-03", "first_in": "2025-03-03T09:01:15+05:30",
     "last_out": "2025-03-03T18:09:06+05:30", "intervals": "2025-03-03T09:01:15+05:30/2025-03-03T18:09:06+05:30",
     "content_hash": SHA},
    {"employee_id": "E2", "work_date": "2025-03-03", "first_in": "2025-03-03T22:01:15+05:30",
     "last_out": "2025-03-04T06:09:06+05:30", "intervals": NIGHT, "content_hash": "old-hash"},
    {"employee_id": "E3", "work_date": "2025-03-03", "first_in": None, "last_out": None, "intervals": "",
     "content_hash": SHA.upper()},
    {"employee_id": "Ö4", "work_date": "2025-03-04", "first_in": "\x01odd\x02", "last_out": "2025-03-04T09:00:00Z",
     "intervals": "2025-03-04T09:00:00Z/2025-03-04T17:00:00Z", "content_hash": "ü"},
]  # fmt: skip
LEDGER = [
    ("payroll", "E1|2025-03-03|day", SHA, "file_0001.csv", "delivered", 1, None, 1),
    ("payroll", "E2|2025-03-03|day", "h2", None, "delivered", 2, None, 1),
    ("erp", "E3|2025-03-03|day", None, None, "rejected", 3, "no such employee", 2),
]


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _fill_0009(connection: Connection) -> None:
    for row in DAYS:
        connection.execute(
            text(
                "INSERT INTO processed_days (employee_id, work_date, site, shift, day_type, status, first_in,"
                " last_out, worked_minutes, regular_minutes, ot_minutes, break_minutes, late_minutes,"
                " early_exit_minutes, leave_days, lop_days, punch_count, anomalies, recomputed, rules_version,"
                " intervals, version, content_hash, computed_at_ns) VALUES (:employee_id, :work_date, 'blr',"
                " 'general', 'workday', 'present', :first_in, :last_out, 540, 480, 0, 60, 0, 0, 0.5, 0, 4, '',"
                " false, 'r1', :intervals, 2, :content_hash, 7)"
            ),
            row,
        )
    for values in LEDGER:
        connection.execute(
            text(
                "INSERT INTO ledger (target, record_key, content_hash, remote_id, status, attempts, last_error,"
                " batch_id, updated_at_ns) VALUES (:t, :k, :h, :r, :s, :a, :e, :b, 9)"
            ),
            dict(zip("tkhrsaeb", values, strict=True)),
        )
    full = f'[{{"key":"E1|2025-03-03|day","content_hash":"{SHA}","fields":{{"hours":8.5}}}}]'
    for seq, status in enumerate(("done", "open"), start=1):
        connection.execute(
            text(
                "INSERT INTO batches (target, period_start, period_end, seq, status, columns, records,"
                " created_at_ns) VALUES ('payroll', '2025-03-01', '2025-03-31', :seq, :status, '[\"hours\"]',"
                " :records, 0)"
            ),
            {"seq": seq, "status": status, "records": full},
        )
    connection.execute(
        text(
            "INSERT INTO punches (employee_id, instant_ns, device_id, direction, source, ingested_at_ns)"
            " VALUES ('E1', :at, 'GATE-1', 'in', 'terminals', 5)"
        ),
        {"at": ns("2025-03-03T03:31:15Z")},
    )


def _raw(connection: Connection) -> list[list[dict[str, Any]]]:
    queries = (
        "SELECT * FROM processed_days ORDER BY employee_id, work_date",
        "SELECT * FROM ledger ORDER BY target, record_key",
        "SELECT id, status, records FROM batches ORDER BY id",
    )
    return [[dict(row) for row in connection.execute(text(query)).mappings()] for query in queries]


def test_a_0009_store_reads_back_the_same_days_ledger_batches_and_punches_after_the_upgrade(store_url: str) -> None:
    engine = create_engine(store_url)
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        alembic.command.upgrade(config, "0009")
        _fill_0009(connection)
    engine.dispose()

    with Store.open(store_url) as store:
        days = store.load_days(date(2025, 3, 1), date(2025, 3, 31))
        payroll, erp = store.ledger("payroll"), store.ledger("erp")
        resumed = store.open_batches("payroll")
        punches = store.punches_between(0, 2**62)

    for name in ("employee_id", "work_date", "first_in", "last_out", "intervals", "content_hash"):
        assert days[name].tolist() == [row[name] for row in DAYS], name
    assert days["version"].tolist() == [2, 2, 2, 2]
    assert days["leave_days"].tolist() == [0.5] * 4
    assert payroll[["record_key", "content_hash", "remote_id", "status"]].values.tolist() == [
        ["E1|2025-03-03|day", SHA, "file_0001.csv", "delivered"],
        ["E2|2025-03-03|day", "h2", None, "delivered"],
    ]
    assert erp[["record_key", "content_hash", "status", "attempts", "last_error"]].values.tolist() == [
        ["E3|2025-03-03|day", None, "rejected", 3, "no such employee"]
    ]
    assert [(r.key, r.content_hash, dict(r.fields)) for r in resumed[0].records] == [
        ("E1|2025-03-03|day", SHA, {"hours": 8.5})
    ]
    assert [batch.seq for batch in resumed] == [2]  # the done batch stays done
    assert punches[["employee_id", "device_id", "direction", "source"]].values.tolist() == [
        ["E1", "GATE-1", "in", "terminals"]
    ]


def test_downgrading_0010_gives_back_the_0009_rows_unchanged(store_url: str) -> None:
    engine = create_engine(store_url)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.upgrade(config, "0009")
        _fill_0009(connection)
        before = _raw(connection)
        alembic.command.upgrade(config, "0010")
        compacted = _raw(connection)
        alembic.command.downgrade(config, "0009")
        after = _raw(connection)
    engine.dispose()
    assert after == before
    assert compacted != before  # the upgrade did change how they are kept

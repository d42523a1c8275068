"""Processed days: upserted by (employee, date), versioned by a content hash that ignores `recomputed`."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from support.store_data import day, days

from punchbridge.rules.frames import DAY_COLUMNS
from punchbridge.store import Store


def test_new_days_get_version_1_and_read_back_as_saved(store: Store) -> None:
    saved = days([day("E1", "2025-03-03"), day("E1", "2025-03-04", status="absent", first_in="", last_out="")])

    result = store.save_days(saved)

    assert result.columns.tolist() == ["employee_id", "work_date", "version", "content_hash", "change"]
    assert result["change"].tolist() == ["new", "new"]
    assert result["version"].tolist() == [1, 1]
    assert result["content_hash"].tolist() == Store.day_content_hash(saved).tolist()
    loaded = store.load_days(date(2025, 3, 1), date(2025, 3, 31))
    assert loaded.columns.tolist() == [*DAY_COLUMNS, "version", "content_hash"]
    assert loaded[list(DAY_COLUMNS)].to_dict("records") == saved.to_dict("records")
    assert loaded["worked_minutes"].dtype == "int64" and loaded["leave_days"].dtype == "float64"
    assert loaded["recomputed"].dtype == "bool"


def test_an_equal_day_changes_nothing_and_a_changed_day_gets_the_next_version(store: Store) -> None:
    store.save_days(days([day("E1", "2025-03-03"), day("E2", "2025-03-03")]))

    same = store.save_days(days([day("E1", "2025-03-03"), day("E2", "2025-03-03")]))
    changed = store.save_days(days([day("E1", "2025-03-03", late_minutes=15), day("E2", "2025-03-03")]))
    changed_again = store.save_days(days([day("E1", "2025-03-03", late_minutes=16)]))
    back = store.save_days(days([day("E1", "2025-03-03", late_minutes=16)]))

    assert same["change"].tolist() == ["same", "same"] and same["version"].tolist() == [1, 1]
    assert changed["change"].tolist() == ["changed", "same"] and changed["version"].tolist() == [2, 1]
    assert changed_again["change"].tolist() == ["changed"] and changed_again["version"].tolist() == [3]
    assert back["change"].tolist() == ["same"] and back["version"].tolist() == [3]
    loaded = store.load_days(date(2025, 3, 3), date(2025, 3, 3))
    assert loaded[["employee_id", "late_minutes", "version"]].values.tolist() == [["E1", 16, 3], ["E2", 2, 1]]


def test_one_call_mixes_new_changed_and_same_and_keeps_the_callers_order_and_index(store: Store) -> None:
    store.save_days(days([day("E1", "2025-03-03"), day("E2", "2025-03-03")]))
    frame = days([day("E3", "2025-03-03"), day("E2", "2025-03-03", status="half_day"), day("E1", "2025-03-03")])
    frame.index = [30, 20, 10]

    result = store.save_days(frame)

    assert result.index.tolist() == [30, 20, 10]
    assert result[["employee_id", "change", "version"]].values.tolist() == [
        ["E3", "new", 1],
        ["E2", "changed", 2],
        ["E1", "same", 1],
    ]


def test_recomputed_alone_is_not_a_change(store: Store) -> None:
    store.save_days(days([day("E1", "2025-03-03", recomputed=False)]))

    result = store.save_days(days([day("E1", "2025-03-03", recomputed=True)]))

    assert result["change"].tolist() == ["same"]
    assert store.load_days(date(2025, 3, 3), date(2025, 3, 3))["recomputed"].tolist() == [False]
    changed = store.save_days(days([day("E1", "2025-03-03", recomputed=True, ot_minutes=30)]))
    assert changed["change"].tolist() == ["changed"]
    assert store.load_days(date(2025, 3, 3), date(2025, 3, 3))["recomputed"].tolist() == [True]


def test_the_content_hash_is_sha256_of_the_canonical_json_of_the_values_except_recomputed() -> None:
    row = day("E1", "2025-03-03", anomalies="duplicates:2;missing_out", leave_days=0.5)
    values = [row[c] for c in DAY_COLUMNS if c != "recomputed"]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))

    assert Store.day_content_hash(days([row])).tolist() == [hashlib.sha256(canonical.encode()).hexdigest()]
    # Pinned: changing the canonical form gives every stored day a new version at its next recompute
    # (records are resent only where their mapped fields changed). Adding `intervals` did so once.
    assert canonical.startswith('["E1","2025-03-03","PUNE","G","workday","present","2025-03-03T09:02:00+05:30"')
    assert Store.day_content_hash(days([row])).iloc[0] == (
        "d35fbf56a23932704bd3abbb7a5f12945e3b24c9290eb24c7225e68196e0b3d6"
    )


def test_the_hash_does_not_depend_on_dtypes() -> None:
    plain = days([day("E1", "2025-03-03", leave_days=1.0), day("E2", "2025-03-03", first_in=None)])
    typed = plain.copy()
    for name in ("employee_id", "work_date", "site", "shift", "day_type", "status", "anomalies", "rules_version"):
        typed[name] = typed[name].astype("category")
    typed["first_in"] = typed["first_in"].astype("string[pyarrow]")
    typed["leave_days"] = [1, 0]  # whole numbers as integers
    typed["leave_days"] = typed["leave_days"].astype("int64")
    typed["work_date"] = [date(2025, 3, 3), date(2025, 3, 3)]
    typed["recomputed"] = True

    assert Store.day_content_hash(typed).tolist() == Store.day_content_hash(plain).tolist()


@pytest.mark.parametrize("column", [c for c in DAY_COLUMNS if c != "recomputed"])
def test_every_other_column_is_in_the_hash(column: str) -> None:
    base = day("E1", "2025-03-03")
    other = dict(base)
    value = base[column]
    if isinstance(value, bool):
        other[column] = not value
    elif isinstance(value, int | float):
        other[column] = value + 1
    elif column == "work_date":
        other[column] = "2025-03-04"
    else:
        other[column] = f"{value}x"

    hashes = Store.day_content_hash(days([base, other]))

    assert hashes.iloc[0] != hashes.iloc[1]


def test_a_missing_text_and_an_empty_text_are_different_contents() -> None:
    hashes = Store.day_content_hash(
        days([day("E1", "2025-03-03", first_in=""), day("E1", "2025-03-03", first_in=None)])
    )
    assert hashes.iloc[0] != hashes.iloc[1]


def test_load_days_filters_dates_inclusively_and_employees_and_orders_rows(store: Store) -> None:
    store.save_days(
        days([day(e, f"2025-03-{d:02d}") for d in (4, 2, 3, 1) for e in ("E2", "E10", "E1")]),
    )

    between = store.load_days(date(2025, 3, 2), date(2025, 3, 3))
    some = store.load_days(date(2025, 3, 1), date(2025, 3, 4), employee_ids={"E2", "E404"})

    assert between[["employee_id", "work_date"]].values.tolist() == [
        [e, f"2025-03-{d:02d}"] for e in ("E1", "E10", "E2") for d in (2, 3)
    ]
    assert some["work_date"].tolist() == ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    assert set(some["employee_id"]) == {"E2"}
    assert store.load_days(date(2025, 3, 1), date(2025, 3, 4), employee_ids=[]).empty


def test_loaded_days_saved_again_are_the_same(store: Store) -> None:
    store.save_days(days([day("E1", "2025-03-03", leave_days=0.5, lop_days=0.5), day("E2", "2025-03-03")]))
    loaded = store.load_days(date(2025, 3, 3), date(2025, 3, 3))

    again = store.save_days(loaded[list(DAY_COLUMNS)])

    assert again["change"].tolist() == ["same", "same"]
    assert again["content_hash"].tolist() == loaded["content_hash"].tolist()


def test_work_dates_may_be_dates_and_are_stored_as_iso_text(store: Store) -> None:
    frame = days([day("E1", "2025-03-03")])
    frame["work_date"] = [date(2025, 3, 3)]

    store.save_days(frame)

    assert store.save_days(days([day("E1", "2025-03-03")]))["change"].tolist() == ["same"]
    assert store.load_days(date(2025, 3, 3), date(2025, 3, 3))["work_date"].tolist() == ["2025-03-03"]


def test_malformed_days_are_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="appears more than once"):
        store.save_days(days([day("E1", "2025-03-03"), day("E2", "2025-03-03"), day("E1", "2025-03-03")]))
    with pytest.raises(ValueError, match="missing columns"):
        store.save_days(days([day("E1", "2025-03-03")]).drop(columns="status"))
    with pytest.raises(ValueError, match="whole numbers"):
        store.save_days(days([day("E1", "2025-03-03", worked_minutes=1.5)]))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        store.save_days(days([day("E1", "3/3/2025")]))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        store.save_days(days([day("E1", "2025-02-30")]))
    assert store.load_days(date(2000, 1, 1), date(2100, 1, 1)).empty


def test_saving_nothing(store: Store) -> None:
    result = store.save_days(days([]))
    assert result.empty and result.columns.tolist() == ["employee_id", "work_date", "version", "content_hash", "change"]


def test_many_days_in_one_call(store: Store) -> None:
    frame = days([day(f"E{e}", f"2025-03-{d:02d}") for e in range(700) for d in range(1, 16)])

    first = store.save_days(frame)
    frame.loc[frame.index % 7 == 0, "ot_minutes"] = 45
    second = store.save_days(frame)

    assert (first["change"] == "new").all()
    assert (second["change"] == "changed").sum() == (frame.index % 7 == 0).sum()
    assert (second["version"] == (frame.index % 7 == 0) + 1).all()
    assert len(store.load_days(date(2025, 3, 1), date(2025, 3, 31))) == len(frame)

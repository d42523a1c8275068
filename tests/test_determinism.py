"""Processing is a pure function of its inputs (attendance-rules.md, "Output"): the same rows in any
order give the same output, a second run gives the same output, and a late punch changes only its
own employee's days.

The dataset is `bench/generate.py`'s synthetic month cut to 30 employees over 10 days (2025-03-25 to
2025-04-03), extended so that order could matter if the engine let it: a third of the employees
moved to a Europe/Berlin site (their timestamps become local wall times across the 2025-03-30
spring-forward), directions on some employees (words and terminal digits), punches at the very same
instant on another device, exact re-sends (same employee, device and instant, with the same or a
different direction), dated shift assignments and leaves. Everything is read back through the
`punchbridge.config.datafiles` and `punchbridge.config.punchfile` readers, as `punchbridge process` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from support.bench import generate

from punchbridge.config.datafiles import load_rules, read_assignments, read_employees, read_leaves
from punchbridge.config.punchfile import read_punches
from punchbridge.rules import compute_days, engine
from punchbridge.rules.frames import DAY_COLUMNS, AttendanceInputs, DaysResult
from punchbridge.rules.settings import RuleSet

FIRST_DAY = date(2025, 3, 25)
LAST_DAY = date(2025, 4, 3)
EMPLOYEES = 30
BERLIN_SITE = "  ber: {timezone: Europe/Berlin, weekly_off: [sat, sun], holidays: [2025-04-01]}\n"
#: Columns that say where a quarantined row came from rather than what it holds.
PROVENANCE = ("row", "same_as")
NS = 1_000_000_000


@dataclass
class Dataset:
    folder: Path
    rules: RuleSet
    inputs: AttendanceInputs
    zones: dict[str, str]  # employee_id -> IANA zone


def _write_dataset(folder: Path) -> None:
    """Generate the month, then add a Berlin site, directions, ties, re-sends, assignments, leaves."""
    generate(folder, EMPLOYEES, (LAST_DAY - FIRST_DAY).days + 1, seed=20250330, first_day=FIRST_DAY)
    rng = np.random.default_rng(4242)
    rules_text = (folder / "rules.yaml").read_text()
    (folder / "rules.yaml").write_text(rules_text.replace("sites:\n", "sites:\n" + BERLIN_SITE, 1))

    employees = pd.read_csv(folder / "employees.csv", dtype=str)
    berlin = np.arange(len(employees)) % 3 == 1
    employees.loc[berlin, "site"] = "ber"
    employees["weekly_off"] = np.where(np.arange(len(employees)) % 7 == 3, "fri;sat", "")
    employees.to_csv(folder / "employees.csv", index=False)
    berlin_ids = set(employees.loc[berlin, "employee_id"])

    punches = pd.read_csv(folder / "punches.csv", dtype=str)
    in_berlin = punches["employee_id"].isin(berlin_ids).to_numpy()
    punches.loc[in_berlin, "timestamp"] = punches.loc[in_berlin, "timestamp"].str.replace("+05:30", "", regex=False)
    # Directions on every third employee: in/out by time order, some as the terminal digits 0/1.
    punches = punches.sort_values(["employee_id", "timestamp"], kind="stable").reset_index(drop=True)
    directed = punches["employee_id"].str[-1].isin(["0", "3", "6", "9"]).to_numpy()
    position = punches.groupby("employee_id").cumcount().to_numpy()
    words = np.where(position % 2 == 0, "in", "out")
    digits = np.where(position % 2 == 0, "0", "1")
    punches["direction"] = np.where(directed, np.where(rng.random(len(punches)) < 0.3, digits, words), "")
    # The very same instant on another device, and exact re-sends (same device), some with another direction.
    tied = punches.iloc[np.flatnonzero(rng.random(len(punches)) < 0.03)].assign(device_id="GATE-9")
    resent = punches.iloc[np.flatnonzero(rng.random(len(punches)) < 0.02)].copy()
    flip = np.flatnonzero(resent["direction"].to_numpy() != "")[::2]
    resent.iloc[flip, resent.columns.get_loc("direction")] = "break_out"
    punches = pd.concat([punches, tied, resent], ignore_index=True)
    punches = punches.iloc[rng.permutation(len(punches))]
    punches.to_csv(folder / "punches.csv", index=False)

    ids = employees["employee_id"].tolist()
    assignments = [
        (
            ids[i],
            "night" if employees["shift"].iloc[i] == "general" else "general",
            FIRST_DAY + timedelta(days=f),
            FIRST_DAY + timedelta(days=f + 2),
        )
        for i, f in zip(range(0, EMPLOYEES, 5), [1, 3, 5, 7, 2, 6], strict=False)
    ]
    pd.DataFrame(assignments, columns=["employee_id", "shift", "from", "to"]).to_csv(
        folder / "assignments.csv", index=False
    )
    leaves = []
    for employee_id in ids:
        for offset in np.flatnonzero(rng.random(10) < 0.08).tolist():
            kind = ["full", "first_half", "second_half"][rng.integers(3)]
            leaves.append((employee_id, (FIRST_DAY + timedelta(days=offset)).isoformat(), kind, rng.random() < 0.5))
    pd.DataFrame(leaves, columns=["employee_id", "date", "kind", "paid"]).drop_duplicates(
        ["employee_id", "date"]
    ).to_csv(folder / "leaves.csv", index=False)


def read_dataset(folder: Path, punches_file: str = "punches.csv") -> Dataset:
    """Read the folder with the readers `punchbridge process` uses."""
    rules = load_rules(folder / "rules.yaml")
    employees = read_employees(folder / "employees.csv", rules)
    punches = read_punches(folder / punches_file, employees, rules, FIRST_DAY, LAST_DAY).punches
    inputs = AttendanceInputs(
        punches=punches,
        employees=employees,
        assignments=read_assignments(folder / "assignments.csv", employees, rules),
        leaves=read_leaves(folder / "leaves.csv", employees),
    )
    zones = {e: rules.sites[s].timezone for e, s in zip(employees["employee_id"], employees["site"], strict=True)}
    return Dataset(folder, rules, inputs, zones)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder = tmp_path_factory.mktemp("determinism")
    _write_dataset(folder)
    return read_dataset(folder)


def run(data: Dataset, inputs: AttendanceInputs | None = None) -> DaysResult:
    return compute_days(inputs or data.inputs, data.rules, FIRST_DAY, LAST_DAY)


def shuffled(inputs: AttendanceInputs, seed: int) -> AttendanceInputs:
    """Every input table with its rows in another order (and a fresh 0..n-1 index)."""

    def shuffle(frame: pd.DataFrame, salt: int) -> pd.DataFrame:
        return frame.sample(frac=1, random_state=seed + salt).reset_index(drop=True)

    return AttendanceInputs(
        punches=shuffle(inputs.punches, 0),
        employees=shuffle(inputs.employees, 1),
        assignments=shuffle(inputs.assignments, 2),
        leaves=shuffle(inputs.leaves, 3),
    )


def day_rows(days: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of plain values (categoricals and Arrow text as str)."""
    frame = days.reset_index(drop=True)[list(DAY_COLUMNS)].astype(object)
    return [tuple(v.item() if isinstance(v, np.generic) else v for v in row) for row in frame.itertuples(index=False)]


def quarantine_content(quarantine: pd.DataFrame) -> Counter:
    """The quarantined rows as a multiset of their content (without the columns naming input positions)."""
    columns = [c for c in quarantine.columns if c not in PROVENANCE]
    frame = quarantine[columns].astype(object).where(quarantine[columns].notna(), None)
    return Counter(tuple(str(v) for v in row) for row in frame.itertuples(index=False))


def _content(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    columns = ["employee_id", "instant", "device_id", "direction"]
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [tuple(str(v) for v in row) for row in values.itertuples(index=False)]


def quarantine_identity(quarantine: pd.DataFrame, punches: pd.DataFrame, reasons: tuple[str, ...]) -> Counter:
    """The quarantined punches with one of `reasons`, each named by its input CSV row; a row with
    exact copies in the input (same employee, instant, device and direction) is named by its content,
    since any one of the copies may be the one that was kept."""
    copies = Counter(_content(punches))
    picked = quarantine[quarantine["reason"].isin(reasons)]
    names = [
        (content, int(row) if copies[content] == 1 else None, str(reason))
        for content, row, reason in zip(_content(picked), picked["row"], picked["reason"], strict=True)
    ]
    return Counter(names)


# ----------------------------------------------------------------------------- the dataset is worth testing


def test_dataset_exercises_ties_resends_directions_leaves_and_dst(dataset: Dataset) -> None:
    result = run(dataset)
    days, quarantine = result.days, result.quarantine
    assert len(days) == EMPLOYEES * 10
    assert (quarantine["reason"] == "duplicate_punch").sum() > 5
    assert (days["anomalies"].astype(str).str.contains("duplicates")).sum() > 5
    assert dataset.inputs.punches["direction"].notna().mean() > 0.2
    assert (days["leave_days"] > 0).sum() > 5
    assert set(days["status"].astype(str)) >= {"present", "absent", "on_leave", "weekly_off"}
    assert set(days["site"].astype(str)) == {"ber", "blr"}


# ----------------------------------------------------------------------------- (a) any order of arrival


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_order_of_input_rows_gives_identical_days_and_quarantine(dataset: Dataset, seed: int) -> None:
    before = run(dataset)
    after = run(dataset, shuffled(dataset.inputs, seed))
    assert day_rows(after.days) == day_rows(before.days)
    assert quarantine_content(after.quarantine) == quarantine_content(before.quarantine)
    # Off-shift punches are the same input rows (of exact copies, any one may be the one kept).
    reasons = ("off_shift", "unknown_employee")
    punches = dataset.inputs.punches
    assert quarantine_identity(after.quarantine, punches, reasons) == quarantine_identity(
        before.quarantine, punches, reasons
    )


def test_any_order_of_input_rows_gives_an_identical_days_frame_with_identical_dtypes(dataset: Dataset) -> None:
    before = run(dataset)
    after = run(dataset, shuffled(dataset.inputs, 99))
    pd.testing.assert_frame_equal(after.days, before.days)


def test_any_order_of_csv_lines_gives_identical_days(dataset: Dataset, tmp_path: Path) -> None:
    # Reading the shuffled file also changes the order of the categories the reader builds.
    lines = (dataset.folder / "punches.csv").read_text().splitlines()
    body = lines[1:]
    order = np.random.default_rng(7).permutation(len(body))
    (dataset.folder / "punches_shuffled.csv").write_text("\n".join([lines[0], *(body[i] for i in order)]) + "\n")
    again = read_dataset(dataset.folder, "punches_shuffled.csv")
    before, after = run(dataset), run(again)
    assert day_rows(after.days) == day_rows(before.days)
    assert quarantine_content(after.quarantine) == quarantine_content(before.quarantine)


# ----------------------------------------------------------------------------- (b) a second run


def test_running_twice_gives_identical_output_and_leaves_the_inputs_untouched(dataset: Dataset) -> None:
    copies = {
        name: getattr(dataset.inputs, name).copy(deep=True)
        for name in ("punches", "employees", "assignments", "leaves")
    }
    first = run(dataset)
    second = run(dataset)
    pd.testing.assert_frame_equal(second.days, first.days)
    pd.testing.assert_frame_equal(second.quarantine, first.quarantine)
    for name, copy in copies.items():
        pd.testing.assert_frame_equal(getattr(dataset.inputs, name), copy)


@pytest.mark.parametrize("block", [1, 7])
def test_how_many_intervals_are_formatted_at_once_does_not_show_in_the_output(
    dataset: Dataset, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large inputs format their interval texts a block at a time; a day's intervals may straddle two.
    whole = run(dataset)
    monkeypatch.setattr(engine, "_INTERVALS_AT_ONCE", block)
    pd.testing.assert_frame_equal(run(dataset).days, whole.days)


@pytest.mark.parametrize("at_once", [1, 90, 500])
def test_computing_a_group_of_employees_at_a_time_gives_the_same_days_and_quarantine(
    dataset: Dataset, at_once: int
) -> None:
    # A large input is computed in groups of employees (memory); nothing of it may show in the result.
    stranger = dataset.inputs.punches.head(3).astype({"employee_id": object}).assign(employee_id="X-not-employed")
    punches = pd.concat([stranger, dataset.inputs.punches.astype({"employee_id": object})], ignore_index=True)
    inputs = replace(dataset.inputs, punches=punches)
    whole = compute_days(inputs, dataset.rules, FIRST_DAY, LAST_DAY)
    grouped = compute_days(inputs, dataset.rules, FIRST_DAY, LAST_DAY, punches_at_once=at_once)
    assert len(punches) > at_once
    assert set(whole.quarantine["reason"]) == {"off_shift", "unknown_employee", "duplicate_punch"}
    pd.testing.assert_frame_equal(grouped.days, whole.days)
    pd.testing.assert_frame_equal(grouped.quarantine, whole.quarantine)


# ----------------------------------------------------------------------------- (c) a late punch


def _local_text(data: Dataset, employee_id: str, moment: datetime) -> str:
    """The CSV timestamp of an instant as the employee's site writes it (Berlin without offset)."""
    if data.zones[employee_id] == "Europe/Berlin":
        return moment.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None).isoformat()
    return moment.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()


def _late_punches(data: Dataset, isolated: bool) -> list[tuple[str, datetime]]:
    """(employee, instant) of late punches on days well inside the range: at least 10 minutes from
    the employee's other punches (isolated), or 1 to 150 seconds after one of them (in a burst)."""
    rng = np.random.default_rng(31 if isolated else 32)
    punches = data.inputs.punches
    by_zone = [sorted(e for e, z in data.zones.items() if z == zone) for zone in sorted(set(data.zones.values()))]
    low = pd.Timestamp(FIRST_DAY + timedelta(days=2), tz="UTC").value
    high = pd.Timestamp(LAST_DAY - timedelta(days=2), tz="UTC").value
    chosen = []
    while len(chosen) < 8:
        ids = by_zone[len(chosen) % len(by_zone)]  # every site in turn
        employee_id = ids[rng.integers(len(ids))]
        instants = np.sort(
            pd.DatetimeIndex(punches.loc[punches["employee_id"].astype(str) == employee_id, "instant"]).asi8
        )
        if isolated:
            day = FIRST_DAY + timedelta(days=int(rng.integers(2, 8)))
            midnight = datetime.combine(day, time(), ZoneInfo(data.zones[employee_id])).astimezone(UTC)
            moment = midnight + timedelta(minutes=int(rng.integers(0, 1440)))
            while np.abs(instants - pd.Timestamp(moment).value).min() < 600 * NS:
                moment += timedelta(minutes=15)
        else:
            inside = instants[(instants > low) & (instants < high)]
            neighbour = int(inside[rng.integers(len(inside))]) // NS * NS
            moment = pd.Timestamp(neighbour + int(rng.integers(1, 150)) * NS, tz="UTC").to_pydatetime()
        chosen.append((employee_id, moment))
    return chosen


def _with_late_punch(data: Dataset, employee_id: str, moment: datetime, name: str) -> Dataset:
    """The same folder with one punch line appended to punches.csv (it arrives last)."""
    text = (data.folder / "punches.csv").read_text()
    line = f"{employee_id},{_local_text(data, employee_id, moment)},GATE-LATE,\n"
    (data.folder / name).write_text(text + line)
    return read_dataset(data.folder, name)


def _changed(before: DaysResult, after: DaysResult) -> list[tuple]:
    old, new = day_rows(before.days), day_rows(after.days)
    assert [r[:2] for r in old] == [r[:2] for r in new]
    return [n for o, n in zip(old, new, strict=True) if o != n]


def _quarantine_delta(before: DaysResult, after: DaysResult) -> Counter:
    old, new = quarantine_content(before.quarantine), quarantine_content(after.quarantine)
    return (new - old) + (old - new)


@pytest.mark.parametrize("case", range(8))
def test_late_isolated_punch_changes_exactly_the_one_day_that_holds_it(dataset: Dataset, case: int) -> None:
    employee_id, moment = _late_punches(dataset, isolated=True)[case]
    before = run(dataset)
    later = _with_late_punch(dataset, employee_id, moment, f"punches_late_isolated_{case}.csv")
    after = run(later)
    changed = _changed(before, after)
    delta = _quarantine_delta(before, after)
    assert all(row[0] == employee_id for row in changed)
    assert all(row[0] == employee_id for row in delta)
    count = DAY_COLUMNS.index("punch_count")
    if changed:  # a window holds it: that one day has one more kept punch, and nothing else changed
        assert len(changed) == 1 and not delta
        old = {r[:2]: r for r in day_rows(before.days)}[changed[0][:2]]
        assert changed[0][count] == old[count] + 1
    else:  # no window holds it: it is quarantined as off_shift, and no day changed
        assert sum(delta.values()) == 1
        (only,) = delta
        assert only[-1] == "off_shift"


def test_late_punch_inside_a_burst_changes_only_its_own_employee_around_its_day(dataset: Dataset) -> None:
    # The punch may be dropped by the debounce, drop or revive the punches after it, or land in the
    # neighbouring occurrence: only rows of its own employee, within a day of it, may change.
    before = run(dataset)
    changed_any = 0
    for case, (employee_id, moment) in enumerate(_late_punches(dataset, isolated=False)):
        after = run(_with_late_punch(dataset, employee_id, moment, f"punches_late_burst_{case}.csv"))
        changed = _changed(before, after)
        assert {row[0] for row in changed} <= {employee_id}
        local_day = moment.astimezone(ZoneInfo(dataset.zones[employee_id])).date()
        assert {row[1] for row in changed} <= {(local_day + timedelta(days=d)).isoformat() for d in (-1, 0, 1)}
        assert all(row[0] == employee_id for row in _quarantine_delta(before, after))
        changed_any += bool(changed)
    assert changed_any >= 4, "most late punches next to another one land in a shift window"

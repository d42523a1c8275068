"""Computing a large input a group of employees at a time, and joining the groups' results.

An employee's processed days, off-shift punches and re-sends depend on that employee's punches only,
so the engine can run over groups of employees (in employee order) and join what each group gives:
the rows come out in the same order, with the same values and the same categories, as from one run
over everything. Punches of employees missing from the employees table go with the first group, in
input order, as one run reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from punchbridge.rules.frames import AttendanceInputs, DaysResult, anomaly_rank

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

    Order = Callable[[str], SupportsRichComparison]  # how one run sorts a column's categories

__all__ = ["compute_in_groups"]

#: Categorical day columns whose categories one run lists in an order of their own (the others keep
#: first-seen order, which is the same for every group: all employees, dates, sites, shifts, day types).
_CATEGORY_ORDER: dict[str, Order] = {"status": str, "anomalies": anomaly_rank}
#: The order in which one run lists its quarantined punches.
_REASON_ORDER = {"off_shift": 0, "unknown_employee": 1, "duplicate_punch": 2}


def compute_in_groups(
    inputs: AttendanceInputs, punches_at_once: int, compute: Callable[[AttendanceInputs], DaysResult]
) -> DaysResult:
    """`compute` over groups of employees holding about `punches_at_once` punches each, joined."""
    employees = inputs.employees.sort_values("employee_id", kind="stable").reset_index(drop=True)
    ids = pd.Index(employees["employee_id"].astype(str))
    punch_employee = _positions(inputs.punches["employee_id"], ids)
    per_employee = np.bincount(punch_employee[punch_employee >= 0], minlength=len(ids))
    before = np.cumsum(per_employee) - per_employee
    _, employee_group = np.unique(before // max(punches_at_once, 1), return_inverse=True)
    employee_group = employee_group.ravel()
    groups = int(employee_group.max()) + 1 if len(ids) else 1
    punch_group = np.where(punch_employee >= 0, employee_group[np.maximum(punch_employee, 0)], 0)
    order = np.argsort(punch_group.astype(np.int32), kind="stable")  # input order within each group
    bounds = np.concatenate([[0], np.cumsum(np.bincount(punch_group, minlength=groups))])
    first_employee = np.concatenate([[0], np.cumsum(np.bincount(employee_group, minlength=groups))])
    del punch_employee, punch_group  # a row each: room for the groups' work

    results, positions = [], []
    for group in range(groups):
        rows = order[bounds[group] : bounds[group + 1]]
        part = AttendanceInputs(
            punches=inputs.punches.iloc[rows].reset_index(drop=True),
            employees=employees.iloc[first_employee[group] : first_employee[group + 1]].reset_index(drop=True),
            assignments=inputs.assignments,
            leaves=inputs.leaves,
        )
        results.append(compute(part))
        positions.append(rows)
        del part
    quarantine = _joined_quarantine([r.quarantine for r in results], positions)
    days = [r.days for r in results]
    del results
    return DaysResult(days=_joined_days(days), quarantine=quarantine)


def _positions(values: pd.Series, ids: pd.Index) -> np.ndarray:
    """Position of each value in `ids` (-1 when absent), through categories: fast for 10^6 rows."""
    categorical = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    lookup = np.append(ids.get_indexer(categorical.cat.categories.astype(str)), -1)
    return np.asarray(lookup[categorical.cat.codes.to_numpy()], dtype=np.int64)


def _joined_days(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The groups' days one after the other; each column leaves the groups' frames once joined, so
    the days are held about once, not twice (`parts` are emptied)."""
    names = list(parts[0].columns)
    columns: dict[str, object] = {}
    for name in names:
        pieces = [part.pop(name) for part in parts]
        if isinstance(pieces[0].dtype, pd.CategoricalDtype):
            columns[name] = _joined_categorical(pieces, _CATEGORY_ORDER.get(name))
        else:
            columns[name] = pd.concat(pieces, ignore_index=True)
        del pieces
    return pd.DataFrame(columns, columns=names, copy=False)


def _joined_categorical(pieces: list[pd.Series], order: Order | None) -> pd.Categorical:
    """One categorical of `pieces` in order, with the categories one run would have (sorted by
    `order` when one run sorts them)."""
    kind = pieces[0].cat.categories.dtype
    first = pieces[0].cat.categories
    if all(piece.cat.categories.equals(first) for piece in pieces):  # dates, sites, shifts, day types
        codes = np.concatenate([piece.cat.codes.to_numpy() for piece in pieces])
        return pd.Categorical.from_codes(codes, categories=first)
    names = [name for piece in pieces for name in piece.cat.categories.tolist()]
    if order is None and len(set(names)) == len(names):  # employee ids: each group has its own
        offsets = np.cumsum([0] + [len(piece.cat.categories) for piece in pieces[:-1]])
        codes = np.concatenate(
            [
                piece.cat.codes.to_numpy().astype(np.int64) + offset
                for piece, offset in zip(pieces, offsets, strict=True)
            ]
        )
        return pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=kind))
    joined = union_categoricals(pieces)
    categories = joined.categories.tolist()
    joined = pd.Categorical.from_codes(joined.codes, categories=pd.Index(categories, dtype=kind))
    return joined if order is None else joined.reorder_categories(pd.Index(sorted(categories, key=order), dtype=kind))


def _joined_quarantine(parts: list[pd.DataFrame], positions: list[np.ndarray]) -> pd.DataFrame:
    """The groups' quarantined punches in one run's order; `same_as` as a position in the whole input."""
    for part, rows in zip(parts, positions, strict=True):
        if "same_as" in part:
            resent = part["reason"] == "duplicate_punch"
            part.loc[resent, "same_as"] = rows[part.loc[resent, "same_as"].to_numpy().astype(np.int64)]
    held = [part for part in parts if len(part)]
    if not held:
        return parts[0]
    joined = pd.concat(held, ignore_index=True)
    rank = joined["reason"].map(_REASON_ORDER).to_numpy()
    return joined.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)

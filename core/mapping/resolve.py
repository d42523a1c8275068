"""The days seen through a mapping: target ids, cost centres and output columns, all rows at once. Pure.

Everything is computed over whole columns: a row's employee, work date, cost-centre key and every
output value are integer codes into the distinct values, so per-value work (lookups, value maps,
formats) runs once per distinct value. Cost-centre rules are matched with one binary search over
the rules sorted by (key, first day): since the rules of one key do not overlap, the last rule
starting on or before a day is the only candidate, and it matches when its last day is not before.
`punchbridge.mapping.apply_mapping` builds records from the result, and
`punchbridge.mapping.check.check_mapping` the consultant's report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from punchbridge.errors import ConfigError, Problem
from punchbridge.mapping.model import CostCentres, OutputField, TargetMapping
from punchbridge.mapping.values import ColumnValues, column_values, parse_format

__all__ = ["REASONS", "ResolvedDays", "resolve_days"]

#: Why a day is held back, in the order they are checked (a day gets the first that applies).
REASONS = ("unmapped_id", "no_cost_centre", "unmapped_value")


@dataclass
class ResolvedDays:
    """The days seen through a mapping, as codes into distinct values, before any record is built."""

    employee_codes: np.ndarray
    employee_ids: list[str]
    date_codes: np.ndarray
    dates: list[date]
    unmapped_id: np.ndarray  # per row
    cost_key_codes: np.ndarray  # per row: code into cost_keys (-1: no key, e.g. no department)
    cost_keys: list[str]
    rule_index: np.ndarray  # per row: index into cost_centres.rules, -1 when no rule matched
    no_cost_centre: np.ndarray  # per row: no rule and no default
    columns: list[ColumnValues]
    unmapped_value: np.ndarray  # per row: index of the first strict field without a value, -1 if none

    @property
    def iso_dates(self) -> list[str]:
        """The distinct work dates as `YYYY-MM-DD`, indexed by `date_codes`."""
        return [d.isoformat() for d in self.dates]

    def reasons(self) -> np.ndarray:
        """The reason each row is held back ('' when it is not), the first that applies."""
        return np.select([self.unmapped_id, self.no_cost_centre, self.unmapped_value >= 0], list(REASONS), "").astype(
            object
        )


def _factorize(values: pd.Series | np.ndarray, what: str) -> tuple[np.ndarray, list[Any]]:
    codes, uniques = pd.factorize(pd.Series(values) if isinstance(values, np.ndarray) else values)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        raise ValueError(f"the days have rows without {what}")
    return codes, list(uniques)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not ISO text: the conversions below may still read it
            return date.fromisoformat(value)
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    raise ValueError(f"work_date {value!r} is not a date")


def _categorical(codes: np.ndarray, values: list[Any]) -> pd.Series:
    """Per-row values given as codes into `values` (which may repeat, or be None), as a categorical."""
    value_codes, categories = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.append(np.asarray(value_codes, dtype=np.int64), -1)
    return pd.Series(pd.Categorical.from_codes(table[codes], categories=pd.Index(categories, dtype=object)))


def _departments(employees: pd.DataFrame, employee_ids: list[str]) -> list[str | None]:
    if "department" not in employees.columns:
        return [None] * len(employee_ids)
    known: dict[str, str | None] = {}
    for employee, department in zip(
        employees["employee_id"].astype(str).tolist(), employees["department"].tolist(), strict=True
    ):
        text = department if isinstance(department, str) and department.strip() else None
        known.setdefault(employee, text.strip() if text else None)
    return [known.get(e) for e in employee_ids]


def _match_rules(
    cost_centres: CostCentres, key_codes: np.ndarray, keys: list[str], day_numbers: np.ndarray
) -> np.ndarray:
    """Per row, the index of the rule for its key whose dates hold its day (-1 when none does)."""
    code_of = {key: i for i, key in enumerate(keys)}
    usable = [(i, r) for i, r in enumerate(cost_centres.rules) if r.key in code_of]
    if not usable or not len(key_codes):
        return np.full(len(key_codes), -1, dtype=np.int64)
    span = 1 << 22  # more than date.max.toordinal(): (key, day) fits one int64
    rule_ids = np.array([i for i, _ in usable], dtype=np.int64)
    rule_key = np.array([code_of[r.key] for _, r in usable], dtype=np.int64)
    rule_start = np.array([r.start.toordinal() if r.start else 0 for _, r in usable], dtype=np.int64)
    rule_end = np.array([r.end.toordinal() if r.end else span - 1 for _, r in usable], dtype=np.int64)
    order = np.argsort(rule_key * span + rule_start, kind="stable")
    starts = (rule_key * span + rule_start)[order]
    row_value = key_codes * span + day_numbers
    candidate = np.searchsorted(starts, row_value, side="right") - 1
    safe = np.maximum(candidate, 0)
    picked = order[safe]
    hit = (candidate >= 0) & (key_codes >= 0) & (rule_key[picked] == key_codes) & (day_numbers <= rule_end[picked])
    return np.where(hit, rule_ids[picked], -1)


def resolve_days(mapping: TargetMapping, days: pd.DataFrame, employees: pd.DataFrame) -> ResolvedDays:
    """Ids, cost centres and every output column of `days`, with the reason each row would be held back."""
    missing = [c for c in ("employee_id", "work_date") if c not in days.columns]
    if missing:
        raise ValueError(f"the days have no column {', '.join(missing)}")
    n = len(days)
    employee_codes, employee_values = _factorize(days["employee_id"], "an employee_id")
    employee_ids = [str(e) for e in employee_values]
    date_codes, date_values = _factorize(days["work_date"], "a work_date")
    dates = [_as_date(d) for d in date_values]
    day_numbers = np.array([d.toordinal() for d in dates], dtype=np.int64)[date_codes] if n else np.zeros(0, np.int64)
    if n:
        pairs = employee_codes * len(dates) + date_codes
        repeated = pd.Series(pairs).duplicated().to_numpy()
        if repeated.any():
            row = int(np.flatnonzero(repeated)[0])
            raise ValueError(
                f"the days have more than one row for the same employee_id and work_date: "
                f"{employee_ids[employee_codes[row]]} on {dates[date_codes[row]]}"
            )

    targets: list[str | None] = list(employee_ids)
    unmapped = np.zeros(n, dtype=bool)
    if mapping.ids is not None:
        targets = [mapping.ids.targets.get(e) for e in employee_ids]
        unmapped = np.array([t is None for t in targets], dtype=bool)[employee_codes]
    departments = _departments(employees, employee_ids)

    cost_key_codes = np.full(n, -1, dtype=np.int64)
    cost_keys: list[str] = []
    rule_index = np.full(n, -1, dtype=np.int64)
    no_cost_centre = np.zeros(n, dtype=bool)
    cost_centre_series = pd.Series([None] * n, dtype=object)
    cc = mapping.cost_centres
    if cc is not None:
        if cc.by == "employee":
            cost_key_codes, cost_keys = employee_codes, employee_ids
        elif cc.by == "department":
            codes, found = pd.factorize(pd.Series(departments, dtype=object))
            cost_key_codes, cost_keys = np.asarray(codes, dtype=np.int64)[employee_codes], list(found)
        else:
            if "site" not in days.columns:
                raise ValueError("the days have no column site, which cost_centres by site needs")
            cost_key_codes, site_values = _factorize(days["site"], "a site")
            cost_keys = [str(s) for s in site_values]
        cost_keys = [str(k) for k in cost_keys]
        rule_index = _match_rules(cc, cost_key_codes, cost_keys, day_numbers)
        names = [r.cost_centre for r in cc.rules] + [cc.default]
        no_cost_centre = (rule_index < 0) & (cc.default is None)
        cost_centre_series = _categorical(np.where(rule_index < 0, len(cc.rules), rule_index), names)

    extra = {
        "work_date": lambda: _categorical(date_codes, [d.isoformat() for d in dates]),
        "employee_id": lambda: _categorical(employee_codes, employee_ids),
        "target_id": lambda: _categorical(employee_codes, list(targets)),
        "department": lambda: _categorical(employee_codes, list(departments)),
        "cost_centre": lambda: cost_centre_series,
    }
    columns = []
    unmapped_value = np.full(n, -1, dtype=np.int64)
    for i, out in enumerate(mapping.fields):
        values = _field_column(mapping, i, out, days, extra)
        columns.append(values)
        if out.strict and out.values is not None:
            missed = values.unmapped[values.codes] & (unmapped_value < 0)
            unmapped_value[missed] = i
    return ResolvedDays(
        employee_codes=employee_codes,
        employee_ids=employee_ids,
        date_codes=date_codes,
        dates=dates,
        unmapped_id=unmapped,
        cost_key_codes=cost_key_codes,
        cost_keys=cost_keys,
        rule_index=rule_index,
        no_cost_centre=no_cost_centre,
        columns=columns,
        unmapped_value=unmapped_value,
    )


def _field_column(
    mapping: TargetMapping, i: int, out: OutputField, days: pd.DataFrame, extra: Mapping[str, Any]
) -> ColumnValues:
    """One output column over all rows; a failing transform or format is a `ConfigError` at its field."""

    def problem(loc: str, message: str) -> ConfigError:
        return ConfigError(Problem(mapping.source, message, line=out.line, field=f"fields[{i}].{loc}"))

    if out.source is None:
        series = _categorical(np.zeros(len(days), dtype=np.int64), [out.value])
    elif out.source in extra:
        series = extra[out.source]()
    elif out.source in days.columns:
        series = days[out.source].reset_index(drop=True)
    else:
        raise ValueError(f"the days have no column {out.source}, which field {out.name!r} is taken from")
    if out.transform is not None:
        given = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
        try:
            series = mapping.transforms[out.transform](given)
        except Exception as exc:
            raise problem("transform", f"transform {out.transform!r} failed on {out.source}: {exc}") from exc
        if not isinstance(series, pd.Series) or len(series) != len(days):
            raise problem("transform", f"transform {out.transform!r} did not return one value per row")
        series = series.reset_index(drop=True)
    value_format = parse_format(out.format) if out.format is not None else None
    try:
        return column_values(series, out.values, value_format)
    except ValueError as exc:
        raise problem("format" if value_format else "from", str(exc)) from None

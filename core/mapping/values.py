"""The values of mapped columns: built-in transforms, output formats, and plain Python values. Pure.

A mapped column is handled as integer codes into its distinct values (`ColumnValues`): value maps,
formats and JSON encoding then run once per distinct value instead of once per row, which is what
keeps a month of a large workforce (hundreds of thousands of days) to a few seconds.

Formats, chosen by how they are written:

- a date format is a `strftime` pattern (`%d/%m/%Y`, `%H:%M`); it applies to ISO dates
  (`2025-10-01`), ISO date-times (`2025-10-01T09:02:00+05:30`: the local time as written) and
  date objects. Only the deterministic directives are allowed (no locale-dependent `%c`, `%x`, `%X`).
- a number format is `0`, `0.0`, `0.00`, ... (or with a decimal comma, `0,00`): the number rounded
  half away from zero as it is written (2.675 gives `2.68`), as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "BUILTIN_TRANSFORMS",
    "ColumnValues",
    "Transform",
    "ValueFormat",
    "column_values",
    "parse_format",
    "plain_value",
]

#: A transform takes one column of values and returns a column of the same length; it must be pure.
Transform = Callable[[pd.Series], pd.Series]

_NUMBER_FORMAT = re.compile(r"0(?:([.,])(0+))?")
_DIRECTIVE = re.compile(r"%(.?)")
#: strftime directives that give the same text on every machine (no locale-dependent %c, %x, %X).
_DATE_DIRECTIVES = frozenset("aAbBdHIjmMpSyYzZfGuVwUW%")
#: What `pd.api.types.infer_dtype` says of an object column whose values are all of one type.
_ONE_TYPE = frozenset({"string", "empty", "integer", "floating", "boolean", "date", "datetime"})


def _per_value(series: pd.Series, convert: Callable[[Any], Any]) -> pd.Series:
    """`convert` applied once per distinct value of `series` (missing values stay missing)."""
    codes, uniques = _factorize(series)
    converted = [convert(v) for v in uniques]
    return pd.Series(_take(converted, codes), index=series.index, dtype=object)


def _minutes_to_hours(series: pd.Series) -> pd.Series:
    if series.dtype.kind not in "iuf":
        series = pd.to_numeric(series.astype(object))
    return series.astype(float) / 60.0


def _hours_minutes(series: pd.Series) -> pd.Series:
    def text(minutes: Any) -> str:
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise ValueError(f"expected a number of minutes, got {minutes!r}")
        total = round(minutes)
        sign = "-" if total < 0 else ""
        hours, rest = divmod(abs(total), 60)
        return f"{sign}{hours}:{rest:02d}"

    return _per_value(series, text)


def _text_case(method: str) -> Transform:
    def convert(series: pd.Series) -> pd.Series:
        def change(value: Any) -> Any:
            if not isinstance(value, str):
                raise ValueError(f"expected text, got {value!r}")
            return getattr(value, method)()

        return _per_value(series, change)

    return convert


def _yes_no(series: pd.Series) -> pd.Series:
    def letter(value: Any) -> str:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return "Y" if value else "N"
        raise ValueError(f"expected true or false, got {value!r}")

    return _per_value(series, letter)


#: The transforms every mapping can name; plugins add more through the `register_transforms` hook.
BUILTIN_TRANSFORMS: Mapping[str, Transform] = {
    "minutes_to_hours": _minutes_to_hours,  # 510 -> 8.5 (a float; add `format: "0.00"` for text)
    "hours_minutes": _hours_minutes,  # 510 -> "8:30"
    "upper": _text_case("upper"),  # "ops" -> "OPS"
    "lower": _text_case("lower"),  # "OPS" -> "ops"
    "yes_no": _yes_no,  # True -> "Y", False -> "N"
}


@dataclass(frozen=True)
class ValueFormat:
    """An output format: a strftime pattern (`kind="date"`) or a number pattern like `0.00`."""

    text: str
    kind: Literal["date", "number"]
    decimals: int = 0
    decimal_mark: str = "."

    def apply(self, value: Any) -> Any:
        """`value` formatted as text; missing values (None, and '' for dates) stay as they are."""
        if value is None:
            return None
        if self.kind == "date":
            return self._date(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"format {self.text!r} needs a number, got {value!r}")
        quantum = Decimal(1).scaleb(-self.decimals)
        rounded = Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)
        if rounded == 0:
            rounded = abs(rounded)  # no "-0.00"
        return str(rounded).replace(".", self.decimal_mark)

    def _date(self, value: Any) -> Any:
        if isinstance(value, str):
            if value == "":
                return value
            try:
                value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"format {self.text!r} needs a date, got {value!r}") from None
        if not isinstance(value, date):
            raise ValueError(f"format {self.text!r} needs a date, got {value!r}")
        return value.strftime(self.text)


def parse_format(text: str) -> ValueFormat:
    """The format written `text`; `ValueError` with a message a consultant can act on otherwise."""
    number = _NUMBER_FORMAT.fullmatch(text)
    if number:
        return ValueFormat(text, "number", decimals=len(number.group(2) or ""), decimal_mark=number.group(1) or ".")
    directives = _DIRECTIVE.findall(text)
    if not directives:
        raise ValueError(
            f"{text!r} is not a format: write a date format with % directives (%d/%m/%Y) "
            'or a number format like "0" or "0.00"'
        )
    unknown = sorted({d for d in directives if d not in _DATE_DIRECTIVES})
    if unknown:
        raise ValueError(
            f"date format {text!r} uses {', '.join('%' + d for d in unknown)}, which is not supported; "
            f"use {' '.join('%' + d for d in sorted(_DATE_DIRECTIVES - {'%'}))}"
        )
    return ValueFormat(text, "date")


def plain_value(value: Any) -> Any:
    """A JSON-ready Python value: str, int, float, bool or None (dates as ISO text)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bytes):
            raise ValueError(f"bytes are not a value a target can receive: {value!r}")
    if isinstance(value, int | str | bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, date):  # datetime and pandas Timestamp too
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    raise ValueError(f"{type(value).__name__} is not a value a target can receive: {value!r}")


def _scalar(value: Any) -> Any:
    """A distinct value as Python sees it (numpy scalars unwrapped, missing markers as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _factorize(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes into the distinct values of `series` (-1 for missing) and those values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return np.asarray(series.cat.codes, dtype=np.int64), [_scalar(v) for v in series.cat.categories.tolist()]
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in _ONE_TYPE:
        return _factorize_by_type(series)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [_scalar(v) for v in list(uniques)]


def _factorize_by_type(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Like `pd.factorize`, but values equal in Python and of other types (1, 1.0, True) stay apart."""
    index: dict[tuple[type, Hashable], int] = {}
    uniques: list[Any] = []
    codes = np.empty(len(series), dtype=np.int64)
    for row, value in enumerate(series.tolist()):
        value = _scalar(value)
        if value is None:
            codes[row] = -1
            continue
        key = (type(value), value)
        code = index.get(key)
        if code is None:
            code = index[key] = len(uniques)
            uniques.append(value)
        codes[row] = code
    return codes, uniques


def _take(values: list[Any], codes: np.ndarray) -> np.ndarray:
    """`values[code]` per row as an object array; code -1 gives None."""
    table = np.empty(len(values) + 1, dtype=object)
    table[: len(values)] = values
    table[len(values)] = None
    return table[codes]


@dataclass
class ColumnValues:
    """One column as codes into its distinct values, before and after the value map and format.

    `codes` index `source` and `output` alike; missing values get the last index, whose source and
    output are None. `unmapped[i]` says that `source[i]` has no entry in the field's value map.
    """

    codes: np.ndarray
    source: list[Any]
    output: list[Any]
    unmapped: np.ndarray

    def take(self, codes: np.ndarray) -> list[Any]:
        """The output values for `codes` (some of `self.codes`), as a list."""
        table = np.empty(len(self.output), dtype=object)
        table[:] = self.output
        return table[codes].tolist()


def column_values(
    series: pd.Series, values: Mapping[Any, Any] | None = None, value_format: ValueFormat | None = None
) -> ColumnValues:
    """Map and format a column once per distinct value; `ValueError` names the first value that fails."""
    codes, uniques = _factorize(series)
    uniques.append(None)
    codes = np.where(codes < 0, len(uniques) - 1, codes)
    unmapped = np.zeros(len(uniques), dtype=bool)
    output: list[Any] = []
    for i, value in enumerate(uniques):
        if values is not None:
            if _hashable(value) and value in values:
                value = values[value]
            else:
                unmapped[i] = True
        if value_format is not None:
            value = value_format.apply(value)
        output.append(plain_value(value))
    return ColumnValues(codes=codes, source=uniques, output=output, unmapped=unmapped)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True

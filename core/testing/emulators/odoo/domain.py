"""The emulated database's values: Odoo's datetime handling, search domains, order, undo.

Pure helpers of the ORM (`database`): how Odoo reads and writes a datetime, a search domain (Polish
notation, implicit `&`) compiled to a predicate against a version's `schema`, and the undo steps a
call's transaction keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from punchbridge.testing.emulators.odoo.schema import Schema

__all__ = [
    "DATETIME_FORMAT",
    "DEFAULT_COMPANY",
    "Either",
    "Transaction",
    "compile_domain",
    "conjunction",
    "datetime_text",
    "naive_utc",
    "now",
    "put_back",
    "restore",
    "sort_records",
    "to_datetime",
    "wire_time",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The company every database starts with (id 1).
DEFAULT_COMPANY = "My Company"
_OPERATORS = {"=", "!=", "in", "not in", "<", "<=", ">", ">="}


def to_datetime(value: Any, field: str) -> datetime | None:
    """Odoo's reading of a datetime value: False/None, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`."""
    if value is False or value is None:
        return None
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"Invalid value {value!r} for the datetime field {field!r}")
    text = value[:19]
    if len(text) == 10:
        text += " 00:00:00"
    return datetime.strptime(text, DATETIME_FORMAT)  # ValueError with Python's words, as in Odoo


def datetime_text(value: datetime | None) -> str | bool:
    """A stored datetime as Odoo's reply gives it (naive UTC text), False for none."""
    return value.strftime(DATETIME_FORMAT) if value is not None else False


def wire_time(value: datetime | str | None) -> str | bool:
    """A time as Odoo's wire text (naive UTC), False for none."""
    if value is None:
        return False
    if isinstance(value, datetime):
        return naive_utc(value).strftime(DATETIME_FORMAT)
    return value


def now() -> datetime:
    """The current time as Odoo stores it: naive UTC, whole seconds."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def naive_utc(value: datetime | None) -> datetime:
    """`value` as naive UTC to the second (an aware time converted); now for None."""
    if value is None:
        return now()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


class Transaction:
    """Undo steps of the current call: an error rolls the call back, as Odoo's cursor does."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], object]] = []

    def rollback(self) -> None:
        for step in reversed(self.undo):
            step()
        self.undo.clear()


def compile_domain(
    schema: Schema, model: str, domain: list[Any]
) -> tuple[Callable[[dict[str, Any]], bool], list[tuple[str, str, Any]]]:
    """A predicate for `domain` (Polish notation, implicit `&`) and its leaves with converted values."""
    leaves: list[tuple[str, str, Any]] = []
    position = 0

    def parse() -> Callable[[dict[str, Any]], bool]:
        nonlocal position
        if position >= len(domain):
            raise ValueError(f"Invalid domain: an operator lacks its operands in {domain!r}"[:300])
        item = domain[position]
        position += 1
        if item in ("&", "|"):
            left, right = parse(), parse()
            if item == "&":
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if item == "!":
            inner = parse()
            return lambda r: not inner(r)
        leaf = _leaf(schema, model, item)
        leaves.append(leaf)
        return _test(*leaf)

    terms = []
    while position < len(domain):
        terms.append(parse())
    return (lambda r: all(term(r) for term in terms)), leaves


def _leaf(schema: Schema, model: str, item: Any) -> tuple[str, str, Any]:
    if not isinstance(item, list | tuple) or len(item) != 3 or not isinstance(item[0], str):
        raise ValueError(f"Invalid leaf {item!r}"[:300])
    field, operator, value = item
    kind = schema.kind(model, field)
    if kind is None:
        raise ValueError(f"Invalid field {model}.{field} in leaf {tuple(item)!r}"[:300])
    if operator not in _OPERATORS:
        raise ValueError(f"Invalid leaf {tuple(item)!r}: unknown operator {operator!r}"[:300])
    if operator in ("in", "not in"):
        if not isinstance(value, list | tuple):
            raise ValueError(f"Invalid leaf {tuple(item)!r}: {operator} takes a list"[:300])
        return field, operator, [_value(kind, field, v) for v in value]
    return field, operator, _value(kind, field, value)


def _value(kind: str, field: str, value: Any) -> Any:
    if kind == "datetime":
        return to_datetime(value, field)
    if kind == "boolean":
        return bool(value)
    if value is False:
        return None
    return value


def _test(field: str, operator: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    if operator == "in":
        chosen = set(value)
        return lambda r: r[field] in chosen
    if operator == "not in":
        chosen = set(value)
        return lambda r: r[field] not in chosen
    if operator == "=":
        return lambda r: r[field] == value
    if operator == "!=":
        return lambda r: r[field] != value
    if value is None:
        return lambda r: False
    compare = {
        "<": lambda a: a < value,
        "<=": lambda a: a <= value,
        ">": lambda a: a > value,
        ">=": lambda a: a >= value,
    }[operator]
    return lambda r: r[field] is not None and compare(r[field])


def restore(record: dict[str, Any]) -> Callable[[], None]:
    """An undo step putting `record`'s current values back."""
    before = dict(record)

    def undo() -> None:
        record.clear()
        record.update(before)

    return undo


def put_back(table: dict[int, dict[str, Any]], record: dict[str, Any]) -> Callable[[], None]:
    """An undo step putting a deleted `record` back in `table`."""

    def undo() -> None:
        table[record["id"]] = record

    return undo


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda r: (r[field] is not None, r[field] if r[field] is not None else 0)


def sort_records(schema: Schema, model: str, records: list[dict[str, Any]], order: Any) -> None:
    """Sort `records` in place by `order` (`field [asc|desc], ...`), as Odoo's ORDER BY; ValueError naming a bad one."""
    if not isinstance(order, str):
        raise ValueError(f"Invalid order: {order!r}"[:300])
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        words = part.split()
        field = words[0]
        descending = len(words) > 1 and words[1].lower() == "desc"
        if schema.kind(model, field) is None or len(words) > 2:
            raise ValueError(f"Invalid order {order!r}: unknown field {field!r}"[:300])
        records.sort(key=_sort_key(field), reverse=descending)


@dataclass(frozen=True)
class Either:
    """A `|` of a domain: what a record matching `left` or `right` satisfies (each a leaf, `Either` or list of both)."""

    left: Any
    right: Any


def conjunction(domain: list[Any]) -> tuple[list[tuple[str, str, Any]], list[Either]]:
    """What `domain` requires of every record: the leaves and the `|` alternatives joined by its top-level `&`.

    Leaves under `!` are left out, so an index may narrow its candidates with these and let the full
    predicate decide the rest. A branch of an `Either` is a leaf, another `Either`, or the list of
    what an `&` joins (None for what cannot narrow: a `!`).
    """
    position = 0

    def parse() -> Any:
        nonlocal position
        item = domain[position]
        position += 1
        if item == "&":
            return _joined([parse(), parse()])
        if item == "|":
            return Either(parse(), parse())
        if item == "!":
            parse()
            return None
        return tuple(item) if isinstance(item, list | tuple) and len(item) == 3 else None

    terms = []
    while position < len(domain):
        terms.append(parse())
    joined = _joined(terms)
    return [t for t in joined if isinstance(t, tuple)], [t for t in joined if isinstance(t, Either)]


def _joined(terms: list[Any]) -> list[Any]:
    """`terms` with the lists of nested `&` flattened into one list."""
    flat: list[Any] = []
    for term in terms:
        flat += _joined(term) if isinstance(term, list) else [term]
    return flat

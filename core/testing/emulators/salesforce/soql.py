"""The SOQL subset the Salesforce emulator runs, and its query cursors (`nextRecordsUrl` pages).

`SELECT f, ... FROM Obj [WHERE c AND c ...] [ORDER BY f [ASC|DESC]] [LIMIT n]`, conditions `=, !=, <,
<=, >, >=, IN (...), NOT IN (...)` on literals; errors as Salesforce words them (see the package
docstring).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from punchbridge.testing.emulators.salesforce.schema import (
    TEXT_TYPES,
    FieldSpec,
    SfError,
    SObjectSchema,
    read_value,
    sortable,
)

__all__ = ["QueryCursors", "parse_soql"]

Row = dict[str, Any]


class QueryCursors:
    """Runs queries over an org's records and keeps each result's rows until its last page is read."""

    def __init__(self) -> None:
        self._cursors: dict[str, tuple[list[Row], int]] = {}

    def query(
        self,
        soql: str | None,
        batch_options: str,
        default_batch_size: int,
        version: str,
        records: Callable[[str], list[Row]],
        schemas: Mapping[str, SObjectSchema],
    ) -> dict[str, Any]:
        """The first page of `soql` over `records(object_name)`; `batch_options` is Sforce-Query-Options."""
        if not soql:
            raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
        selected, schema, conditions, order, limit = parse_soql(soql, schemas)
        rows = [r for r in records(schema.name) if all(c(r) for c in conditions)]
        if order is not None:
            name, descending = order
            rows.sort(key=lambda r: (r.get(name) is None, sortable(r.get(name))), reverse=descending)
        rows = rows[:limit] if limit is not None else rows
        wanted = re.search(r"batchSize=(\d+)", batch_options)
        size = min(max(int(wanted.group(1)), 200), 2000) if wanted else default_batch_size
        shaped = [_shape(schema, row, selected, version) for row in rows]
        locator = "01g" + secrets.token_hex(7).upper()
        self._cursors[locator] = (shaped, size)
        return self.page(f"{locator}-0", version)

    def page(self, locator: str, version: str) -> dict[str, Any]:
        """The page a `nextRecordsUrl` names; the cursor is dropped once its last page is read."""
        cursor, _, start_text = locator.rpartition("-")
        if cursor not in self._cursors or not start_text.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, size = self._cursors[cursor]
        start = int(start_text)
        page = rows[start : start + size]
        done = start + size >= len(rows)
        reply: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if done:
            self._cursors.pop(cursor, None)
        else:
            reply["nextRecordsUrl"] = f"/services/data/v{version}.0/query/{cursor}-{start + size}"
        return reply


def _shape(schema: SObjectSchema, row: Row, selected: list[str], version: str) -> Row:
    url = f"/services/data/v{version}.0/sobjects/{schema.name}/{row['Id']}"
    shaped: Row = {"attributes": {"type": schema.name, "url": url}}
    for name in selected:
        value = row.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        elif isinstance(value, date):
            value = value.isoformat()
        shaped[name] = value
    return shaped


_TOKEN = re.compile(
    r"\s*(?:(?P<text>'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z0-9_.:+-]+))",
    re.S,
)


def _tokens(soql: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(soql):
        if soql[position:].strip() == "":
            break
        found = _TOKEN.match(soql, position)
        if found is None:
            raise SfError(400, "MALFORMED_QUERY", f"unexpected token at: {soql[position : position + 20]}")
        kind = found.lastgroup or "word"
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def parse_soql(soql: str, schemas: Mapping[str, SObjectSchema]) -> tuple[
    list[str], SObjectSchema, list[Callable[[dict[str, Any]], bool]], tuple[str, bool] | None, int | None
]:  # fmt: skip
    """(selected fields, object, conditions, order, limit) of the SOQL subset the emulator runs."""
    tokens = _tokens(soql)
    words = [value.upper() if kind == "word" else value for kind, value in tokens]
    if not words or words[0] != "SELECT" or "FROM" not in words:
        raise SfError(400, "MALFORMED_QUERY", "unexpected token: a query is SELECT ... FROM ...")
    cut = words.index("FROM")
    selected = [value for kind, value in tokens[1:cut] if value != ","]
    if not selected or cut + 1 >= len(tokens):
        raise SfError(400, "MALFORMED_QUERY", "unexpected token: FROM")
    schema = schemas.get(tokens[cut + 1][1])
    if schema is None:
        raise SfError(400, "INVALID_TYPE", f"sObject type '{tokens[cut + 1][1]}' is not supported.")
    for name in selected:
        if schema.spec(name) is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
    position = cut + 2
    conditions: list[Callable[[dict[str, Any]], bool]] = []
    order: tuple[str, bool] | None = None
    limit: int | None = None
    if position < len(tokens) and words[position] == "WHERE":
        position += 1
        while True:
            condition, position = _condition(tokens, words, position, schema)
            conditions.append(condition)
            if position < len(tokens) and words[position] == "AND":
                position += 1
                continue
            break
    if words[position : position + 2] == ["ORDER", "BY"]:
        name = tokens[position + 2][1] if position + 2 < len(tokens) else ""
        if schema.spec(name) is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
        position += 3
        descending = position < len(tokens) and words[position] == "DESC"
        if position < len(tokens) and words[position] in ("ASC", "DESC"):
            position += 1
        order = (name, descending)
    if position < len(tokens) and words[position] == "LIMIT":
        if position + 1 >= len(tokens) or not tokens[position + 1][1].isdigit():
            raise SfError(400, "MALFORMED_QUERY", "unexpected token: LIMIT needs a number")
        limit = int(tokens[position + 1][1])
        position += 2
    if position != len(tokens):
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token: '{tokens[position][1]}'")
    return selected, schema, conditions, order, limit


def _condition(
    tokens: list[tuple[str, str]], words: list[str], position: int, schema: SObjectSchema
) -> tuple[Callable[[dict[str, Any]], bool], int]:
    if position >= len(tokens):
        raise SfError(400, "MALFORMED_QUERY", "unexpected end of query in WHERE")
    name = tokens[position][1]
    spec = schema.spec(name)
    if spec is None:
        raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
    position += 1
    negate = position < len(tokens) and words[position] == "NOT"
    if negate:
        position += 1
    if position < len(tokens) and words[position] == "IN":
        if position + 1 >= len(tokens) or tokens[position + 1][1] != "(":
            raise SfError(400, "MALFORMED_QUERY", "unexpected token: IN needs (")
        position += 2
        values = []
        while position < len(tokens) and tokens[position][1] != ")":
            if tokens[position][1] != ",":
                values.append(_literal(tokens[position], spec, name))
            position += 1
        if position >= len(tokens):
            raise SfError(400, "MALFORMED_QUERY", "unexpected end of query: IN is not closed")
        wanted = {sortable(v) for v in values}
        return (lambda row: (sortable(row.get(name)) in wanted) != negate), position + 1
    if negate or position + 1 >= len(tokens) or tokens[position][0] != "op":
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token after {name}")
    operator = tokens[position][1]
    value = _literal(tokens[position + 1], spec, name)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a is not None and b is not None and a < b,
        "<=": lambda a, b: a is not None and b is not None and a <= b,
        ">": lambda a, b: a is not None and b is not None and a > b,
        ">=": lambda a, b: a is not None and b is not None and a >= b,
    }
    if operator not in compare:
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token: '{operator}'")
    test, expected = compare[operator], sortable(value)
    return (lambda row: test(sortable(row.get(name)), expected)), position + 2


def _literal(token: tuple[str, str], spec: FieldSpec, name: str) -> Any:
    kind, text = token
    if kind == "word" and text.lower() == "null":
        return None
    if spec.type in ("date", "datetime"):
        if kind == "text":
            raise SfError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{name}' must be of type {spec.type} and should not be enclosed "
                "in quotes",
            )
        try:
            value = read_value(spec, text)
        except ValueError:
            raise SfError(400, "MALFORMED_QUERY", f"line 1: invalid {spec.type} literal: {text}") from None
        return value
    if spec.type in TEXT_TYPES:
        if kind != "text":
            raise SfError(
                400, "INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{name}' must be quoted"
            )
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text[1:-1])
    try:
        return read_value(spec, text)
    except ValueError:
        raise SfError(400, "MALFORMED_QUERY", f"invalid {spec.type} literal for {name}: {text}") from None

"""Checks of single JSON values shared by pushes and webhook events, each with its JSON Schema twin.

Each check raises `RejectedError` naming the field path (`RealTime.PunchLog.UserId`, `data.employee_id`)
and saying what was expected. The patterns are the ones the OpenAPI document publishes, so a value
the document allows is a value these checks accept, and the other way round.

Identifiers (employee, device, site, event id) are 1 to 64 characters, with no control characters and
no white space at either end: they are compared byte for byte, and `" 123"` and `"123"` would
otherwise be two employees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from punchbridge.config.identifiers import INVISIBLE_CHARACTERS
from punchbridge.receiver.rejection import RejectedError, field_name, shown
from punchbridge.rules.frames import DIRECTIONS

__all__ = [
    "DIRECTION_PATTERN",
    "HEADER_ID_PATTERN",
    "ID_PATTERN",
    "SCALAR_TYPES",
    "direction",
    "header_identifier",
    "identifier",
    "optional_scalar",
    "scalar_extras",
]

_CONTROL = r"\x00-\x1f\x7f-\x9f"
_SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# Invisible formatting characters (zero-width space, bidirectional overrides) are refused as control
# characters are: two ids that look alike must be alike (punchbridge.config.identifiers).
_CONTROL = _CONTROL + INVISIBLE_CHARACTERS
_ID = rf"[^{_CONTROL}{_SPACE}](?:[^{_CONTROL}]{{0,62}}[^{_CONTROL}{_SPACE}])?"
ID_PATTERN = f"^{_ID}$"
_ID_RE = re.compile(_ID)
#: Identifiers sent in HTTP headers: visible ASCII only (header values travel as bytes, and a client
#: may encode anything else in a way the server cannot read back).
_HEADER_ID = "[!-~](?:[ -~]{0,62}[!-~])?"
HEADER_ID_PATTERN = f"^{_HEADER_ID}$"
_HEADER_ID_RE = re.compile(_HEADER_ID)

#: Direction words of the vendor and of punchbridge, and the ZKTeco digits 0-5, to punchbridge's words.
_DIRECTION_WORDS: dict[str, str] = {
    "checkin": "in",
    "checkout": "out",
    "breakout": "break_out",
    "breakin": "break_in",
    "overtimein": "ot_in",
    "overtimeout": "ot_out",
    **{word: word for word in DIRECTIONS},
    **{str(digit): word for digit, word in enumerate(DIRECTIONS)},
}


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


#: Accepted direction texts, in any letter case, or empty for "no direction".
DIRECTION_PATTERN = "^(?:" + "|".join(_any_case(word) for word in _DIRECTION_WORDS) + ")?$"
#: JSON types a field that is not listed may have: fields the receiver does not know are ignored, but
#: only flat values are expected in these records (an object or list there is refused).
SCALAR_TYPES = ["string", "number", "boolean", "null"]


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def identifier(value: Any, field: str, *, integers: bool = False, status: int = 400) -> str:
    """An identifier as text: a string of the ID pattern (or, with `integers`, a whole number >= 0)."""
    if integers and _is_integer(value):
        number = int(value)
        if 0 <= number <= 10**18:
            return str(number)
        raise RejectedError(status, "invalid_field", f"{number} is not an identifier (0 to 10^18)", field=field)
    if value is None:
        raise RejectedError(status, "missing_field", "is missing", field=field)
    if not isinstance(value, str):
        kind = "a string or a whole number" if integers else "a string"
        raise RejectedError(status, "invalid_field", f"must be {kind}, not {_json_type(value)}", field=field)
    if not _ID_RE.fullmatch(value):
        raise RejectedError(
            status,
            "invalid_field",
            f"{shown(value)} is not an identifier (1 to 64 characters, no control or invisible characters, "
            "no spaces at either end)",
            field=field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RejectedError(status, "invalid_field", "is not valid Unicode (a lone surrogate)", field=field) from None
    return value


def header_identifier(value: str, field: str, *, status: int = 400) -> str:
    """An identifier sent in a header: 1 to 64 visible ASCII characters (spaces only inside)."""
    if not _HEADER_ID_RE.fullmatch(value):
        raise RejectedError(
            status,
            "invalid_field",
            f"{shown(value)} is not an identifier (1 to 64 visible ASCII characters)",
            field=field,
        )
    return value


def direction(value: Any, field: str, *, status: int = 400) -> str | None:
    """punchbridge's direction for a vendor word, a punchbridge word or a digit 0-5; None when absent."""
    if value is None or value == "":
        return None
    if _is_integer(value) and 0 <= int(value) <= 5:
        return DIRECTIONS[int(value)]
    if isinstance(value, str):
        found = _DIRECTION_WORDS.get(value.lower())
        if found is not None and value.isascii():
            return found
    raise RejectedError(
        status,
        "invalid_field",
        f"{shown(value)} is not a direction (CheckIn, CheckOut, BreakOut, BreakIn, OverTimeIn, OverTimeOut, "
        f"{', '.join(DIRECTIONS)}, or 0-5)",
        field=field,
    )


def optional_scalar(record: Mapping[str, Any], key: str, field: str, types: str = "sn") -> None:
    """Refuse `record[key]` unless absent, null, or of the allowed kinds: s string, n number, i integer."""
    if key not in record or record[key] is None:
        return
    value = record[key]
    if isinstance(value, str) and "s" in types:
        return
    if not isinstance(value, bool) and (
        ("n" in types and isinstance(value, int | float)) or ("i" in types and _is_integer(value))
    ):
        return
    wanted = {"s": "a string", "n": "a number", "i": "a whole number"}
    expected = " or ".join(wanted[t] for t in types if t in wanted)
    raise RejectedError(400, "invalid_field", f"must be {expected} or null, not {_json_type(value)}", field=field)


def scalar_extras(record: Mapping[str, Any], known: Iterable[str], prefix: str, *, status: int = 400) -> None:
    """Refuse a field that is not in `known` and holds an object or a list (flat values are ignored)."""
    listed: set[str] | None = None  # built only when a value is an object or a list: rarely
    for key, value in record.items():
        if isinstance(value, dict | list) and key not in (listed := set(known) if listed is None else listed):
            raise RejectedError(
                status,
                "invalid_field",
                f"is not a field the receiver knows, and holds {_json_type(value)}: only flat values "
                "(string, number, boolean, null) may be added to this record",
                field=f"{prefix}{field_name(key)}",
            )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"

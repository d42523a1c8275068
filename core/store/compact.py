"""How the store keeps content hashes and a day's local times small (migration 0010), losslessly.

The store's callers never see these forms: `punchbridge.store.days` and `punchbridge.store.delivery`
convert at the boundary, so every method returns the same texts it was given.

- A content hash is kept as bytes: `\\x01` and the bytes of a lowercase hexadecimal text (a sha256
  takes 33 bytes instead of 64 characters), or `\\x00` and the UTF-8 of any other text.
- `first_in`, `last_out` and `intervals` repeat their day's date (`2024-01-01T`), the next day's (a
  night shift) and their UTC offset in every time. The stored text replaces each with one control
  character and starts with `\\x01` and the offset it replaced (`\\x01+05:30\\x01...`); `intervals`
  of four times keep 51 characters of 103. A text that holds control characters \\x01-\\x05 is kept
  whole behind `\\x02`; one without the day's date is kept as it is. Each replacement puts a
  character the text did not hold, so undoing them in reverse order gives back the very text
  (a property test holds it to that).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

__all__ = ["hash_from_stored", "hash_to_stored", "times_from_stored", "times_to_stored"]

_HEX_HASH = b"\x01"
_TEXT_HASH = b"\x00"
_LOWER_HEX = re.compile(r"(?:[0-9a-f]{2})+")

_COMPACT = "\x01"  # opens a compacted text: \x01 OFFSET \x01 BODY
_WHOLE = "\x02"  # a text kept whole because it holds the characters the compact form uses
_DAY, _NEXT_DAY, _OFFSET = "\x03", "\x04", "\x05"
_RESERVED = re.compile("[\x01-\x05]")


def hash_to_stored(text: str | None) -> bytes | None:
    """The stored form of a content hash (None stays None)."""
    if text is None:
        return None
    if _LOWER_HEX.fullmatch(text):
        return _HEX_HASH + bytes.fromhex(text)
    return _TEXT_HASH + text.encode("utf-8")


def hash_from_stored(stored: bytes | memoryview | None) -> str | None:
    """The content hash text that `hash_to_stored` was given."""
    if stored is None:
        return None
    raw = bytes(stored)
    if raw[:1] == _HEX_HASH:
        return raw[1:].hex()
    return raw[1:].decode("utf-8")


@lru_cache(maxsize=4096)
def _prefixes(work_date: str) -> tuple[str, str]:
    """How the day's times start, and the next day's: `2024-01-01T`, `2024-01-02T` (a night shift)."""
    return f"{work_date}T", f"{(date.fromisoformat(work_date) + timedelta(days=1)).isoformat()}T"


def times_to_stored(text: str | None, work_date: str) -> str | None:
    """The stored form of a local-time text (`first_in`, `last_out`, `intervals`) of the day `work_date`."""
    if text is None:
        return None
    if not text.isprintable() and _RESERVED.search(text):  # isprintable: the quick answer for nearly all
        return _WHOLE + text
    day, next_day = _prefixes(work_date)
    if day not in text:
        return text
    body = text.replace(day, _DAY).replace(next_day, _NEXT_DAY)
    offset = text[19:25] if len(text) >= 25 and text[19] in "+-" else ""
    if offset and body.count(offset) > 1:  # once, the header would cost what it saves
        body = body.replace(offset, _OFFSET)
    else:
        offset = ""
    return f"{_COMPACT}{offset}{_COMPACT}{body}"


def times_from_stored(stored: str | None, work_date: str) -> str | None:
    """The text that `times_to_stored` was given for the day `work_date`."""
    if not stored:
        return stored
    first = stored[0]
    if first == _WHOLE:
        return stored[1:]
    if first != _COMPACT:
        return stored
    end = stored.index(_COMPACT, 1)
    offset, body = stored[1:end], stored[end + 1 :]
    if offset:
        body = body.replace(_OFFSET, offset)
    day, next_day = _prefixes(work_date)
    if _NEXT_DAY in body:
        body = body.replace(_NEXT_DAY, next_day)
    return body.replace(_DAY, day)

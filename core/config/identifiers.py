"""Characters an identifier (employee id, device id) may not hold, wherever it comes from. Pure.

Besides control characters (refused everywhere already), invisible formatting characters make two
ids that look the same on every screen different to the store: `E1001` and `E1001` followed by a
zero-width space would be two people, and a right-to-left override makes a log line or a report
show something other than what is stored. Both are refused: named in a data file's problem, refused
by the receiver as a NUL byte is, quarantined in a punch file.

The set is Unicode's format characters (category Cf) that render as nothing or reorder text, plus
the soft hyphen and the Mongolian vowel separator, which fonts draw as nothing too.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["INVISIBLE_CHARACTERS", "invisible_character"]

#: A regular-expression character class body (no brackets) of the invisible characters refused in ids.
#: Basic Multilingual Plane only, so the same class works in the receiver's OpenAPI patterns.
INVISIBLE_CHARACTERS = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE_CHARACTERS}]")


def invisible_character(text: str) -> str | None:
    """The first invisible character of `text`, described as `U+200B (ZERO WIDTH SPACE)`; None if none."""
    found = _INVISIBLE_RE.search(text)
    if found is None:
        return None
    char = found.group()
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed format character')})"

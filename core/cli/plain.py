"""Tables as plain text, for output read by scripts and logs rather than by a person at a terminal.

Importing rich costs a quick command a tenth of its start-up; where a command's output goes to a
pipe or a file, a table of aligned columns says the same without it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["plain_table", "stdout_is_terminal"]


def stdout_is_terminal() -> bool:
    """True when standard output is a terminal (a person reads it), as rich decides it."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def plain_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """`rows` under a header of `columns`, each column as wide as its widest cell, two spaces apart;
    the title on the first line. Trailing spaces are left out."""
    widths = [len(column) for column in columns]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([title, line(columns), line(["-" * width for width in widths]), *(line(row) for row in rows)])

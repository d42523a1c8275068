"""Tables as plain text, for output read by scripts and logs rather than by a person at a terminal.

Importing rich costs a quick command a tenth of its start-up; where a command's output goes to a
pipe or a file, a table of aligned columns says the same without it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["ReportConsole", "ReportTable", "plain_table", "stdout_is_terminal"]


def stdout_is_terminal() -> bool:
    """True when standard output is a terminal (a person reads it), as rich decides it: also when
    FORCE_COLOR asks for a terminal's output anywhere."""
    if os.environ.get("FORCE_COLOR"):
        return True
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


#: What rich's console would treat as markup (`[style]`) or an emoji code (`:name:`) in a text.
_RICH_SYNTAX = re.compile(r"[\[\]]|:\S*?:")
#: The width of `out_console()` when stdout is not a terminal.
PIPE_WIDTH = 160


#: What rich's console would treat as an emoji code (`:name:`) when markup is off.
_RICH_EMOJI = re.compile(r":\S*?:")


def _plain_safe(text: str, *, markup: bool = True) -> bool:
    """True when rich prints `text` as it is: printable ASCII, nothing it reads as markup or emoji."""
    syntax = _RICH_SYNTAX if markup else _RICH_EMOJI
    return text.isascii() and text.isprintable() and not syntax.search(text)


class ReportTable:
    """A table built as rich's `Table` is (title, columns left or right justified, rows of text), printed
    by `ReportConsole` exactly as rich prints it to a pipe or file, without importing rich when it can."""

    def __init__(self, title: str | None = None) -> None:
        self.title = title
        self.columns: list[tuple[str, str]] = []  # (header, justify)
        self.rows: list[tuple[str, ...]] = []

    def add_column(self, header: str, justify: str = "left") -> None:
        """A column named `header`, its cells justified `left` or `right`."""
        self.columns.append((header, justify))

    def add_row(self, *cells: str) -> None:
        """A row of one text per column."""
        self.rows.append(tuple(cells))

    def as_rich(self) -> Any:
        """The same table as a rich `Table`."""
        from rich.table import Table

        table = Table(title=self.title)
        for header, justify in self.columns:
            table.add_column(header, justify=justify)  # type: ignore[arg-type]
        for row in self.rows:
            table.add_row(*row)
        return table

    def plain_lines(self, width: int = PIPE_WIDTH) -> list[str] | None:
        """The lines rich prints for this table on a console `width` wide that is not a terminal, or None
        when rich would print it differently from these simple rules (a cell wrapped, markup, wide text)."""
        texts = [header for header, _ in self.columns] + [cell for row in self.rows for cell in row]
        if self.title is not None:
            texts.append(self.title)
        if not self.columns or not all(_plain_safe(text) and text == text.strip() for text in texts):
            return None  # rich justifies text with spaces at its ends differently
        widths = [len(header) for header, _ in self.columns]
        for row in self.rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        total = sum(widths) + 3 * len(widths) + 1
        if total > width or (self.title is not None and len(self.title) > total):
            return None

        def line(cells: Sequence[str], bar: str) -> str:
            parts = []
            for cell, size, (_, justify) in zip(cells, widths, self.columns, strict=True):
                parts.append(" " + (cell.rjust(size) if justify == "right" else cell.ljust(size)) + " ")
            return bar + bar.join(parts) + bar

        def rule(left: str, fill: str, cross: str, right: str) -> str:
            return left + cross.join(fill * (size + 2) for size in widths) + right

        lines = []
        if self.title is not None:
            before = (total - len(self.title)) // 2
            lines.append(" " * before + self.title + " " * (total - before - len(self.title)))
        lines.append(rule("┏", "━", "┳", "┓"))
        lines.append(line([header for header, _ in self.columns], "┃"))
        lines.append(rule("┡", "━", "╇", "┩"))
        lines.extend(line(row, "│") for row in self.rows)
        lines.append(rule("└", "─", "┴", "┘"))
        return lines


class ReportConsole:
    """Prints a command's report as `out_console()` does: through rich on a terminal (colours, its
    width), and as plain text to a pipe or file wherever rich's text would be the same, so a command
    whose output is read by a script or a log (a nightly sync) does not import rich."""

    def __init__(self) -> None:
        self.terminal = stdout_is_terminal()
        self._rich: Any = None

    def _console(self) -> Any:
        if self._rich is None:
            from punchbridge.cli.context import out_console

            self._rich = out_console()
        return self._rich

    def print(self, item: str | ReportTable, *, markup: bool = True, soft_wrap: bool = False) -> None:
        """Print a line of text or a `ReportTable` (`markup` and `soft_wrap` as rich's `Console.print`)."""
        if not self.terminal:
            if isinstance(item, ReportTable):
                lines = item.plain_lines()
                if lines is not None:
                    click.echo("\n".join(lines))
                    return
            elif _plain_safe(item, markup=markup) and (soft_wrap or len(item) <= PIPE_WIDTH):
                click.echo(item)
                return
        if isinstance(item, ReportTable):
            self._console().print(item.as_rich())
        else:
            self._console().print(item, markup=markup, soft_wrap=soft_wrap)

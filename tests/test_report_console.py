"""A report printed to a pipe without rich reads exactly as rich prints it (`punchbridge.cli.plain`).

`ReportConsole` writes plain text where rich's output would be the same, and hands everything else
(wrapped cells, markup, emoji codes, wide or non-ASCII text, a terminal) to rich. These properties
hold the two equal on generated tables and lines.
"""

from __future__ import annotations

import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from punchbridge.cli.plain import ReportConsole, ReportTable

#: Mostly what reports hold (names, numbers, paths), with the characters rich treats specially.
TEXT = st.text(alphabet=st.sampled_from("abcXYZ019 _-./,|:[]é\u4e2d"), max_size=24)
PLAIN = st.text(alphabet=st.sampled_from("abcXYZ019 _-./,"), max_size=30).map(str.strip)


def rich_text(item: object) -> str:
    """What rich prints for `item` on the console `out_console()` makes for a pipe (or the error it
    raises: markup it cannot read)."""
    from rich.console import Console
    from rich.errors import MarkupError

    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, width=160)
    try:
        console.print(item.as_rich() if isinstance(item, ReportTable) else item)
    except MarkupError as exc:
        return f"MarkupError: {exc}"
    return buffer.getvalue()


@st.composite
def tables(draw: st.DrawFn, cells: st.SearchStrategy[str] = TEXT) -> ReportTable:
    table = ReportTable(title=draw(st.none() | cells.filter(bool)))
    for _ in range(draw(st.integers(1, 6))):
        table.add_column(draw(cells.filter(bool)), justify=draw(st.sampled_from(["left", "right"])))
    for _ in range(draw(st.integers(0, 5))):
        table.add_row(*(draw(cells) for _ in table.columns))
    return table


def printed(item: str | ReportTable) -> str:
    """What `ReportConsole` prints for `item` to a stdout that is not a terminal (or rich's error)."""
    from rich.errors import MarkupError

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            ReportConsole().print(item)
        except MarkupError as exc:
            return f"MarkupError: {exc}"
    return buffer.getvalue()


@settings(max_examples=300, deadline=None)
@given(table=tables())
def test_a_table_prints_as_rich_prints_it(table: ReportTable) -> None:
    assert printed(table) == rich_text(table)


@settings(max_examples=200, deadline=None)
@given(table=tables(PLAIN))
def test_a_table_of_plain_text_is_printed_without_rich(table: ReportTable) -> None:
    lines = table.plain_lines()
    headers = [header for header, _ in table.columns]
    widths = [max(len(text) for text in column) for column in zip(headers, *table.rows, strict=True)]
    total = sum(widths) + 3 * len(widths) + 1
    if total <= 160 and len(table.title or "") <= total:
        assert lines is not None  # the plain path was taken
    if lines is not None:
        assert "\n".join(lines) + "\n" == rich_text(table)


@settings(max_examples=300, deadline=None)
@given(line=st.text(alphabet=st.sampled_from("abc 019:[]/é-"), max_size=200))
def test_a_line_prints_as_rich_prints_it(line: str) -> None:
    assert printed(line) == rich_text(line)


def test_a_wide_table_is_left_to_rich() -> None:
    table = ReportTable(title="delivery")
    table.add_column("target")
    table.add_column("where / error")
    table.add_row("payroll", "x" * 200)  # rich wraps it in its cell
    assert table.plain_lines() is None
    assert printed(table) == rich_text(table)

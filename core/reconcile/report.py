"""The reconciliation report as files: a CSV of every finding and a self-contained HTML page.

The HTML page has no external resource at all (inline CSS, an inline SVG chart, a Content Security
Policy that forbids loading anything), so it opens the same from a mail attachment, a file share or
a browser without network. Every value from a target is escaped; CSV cells a spreadsheet would run as
a formula (`=`, `+`, `-`, `@` that are not numbers) are written with a leading `'`.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from punchbridge.errors import OutputError
from punchbridge.reconcile.compare import STATUSES, Finding, daily_counts

__all__ = [
    "CSV_COLUMNS",
    "MAX_HTML_ROWS",
    "STATUS_COLOURS",
    "ReportPage",
    "render_csv",
    "render_html",
    "report_paths",
    "write_report",
]

#: The CSV's columns, in order.
CSV_COLUMNS = (
    "status",
    "action",
    "employee_id",
    "target_employee",
    "work_date",
    "record_key",
    "fields_differing",
    "expected",
    "held",
    "ledger",
    "remote_id",
    "detail",
)
#: The chart's colour per status (the HTML legend and table use the same).
STATUS_COLOURS = {"matched": "#2e7d32", "missing": "#c62828", "different": "#ef6c00", "extra": "#6a1b9a"}
#: Differences listed in the HTML page at most (the CSV always has every row).
MAX_HTML_ROWS = 2000
_FORMULA = re.compile(r"[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ReportPage:
    """What a report shows besides the findings: the target, period, counts and the run's words."""

    target: str
    describe: str  # the target's own one-line description
    start: date
    end: date
    counts: Mapping[str, int]  # summary counts (matched, missing, ...; locked, resent, remaining)
    headline: str  # one sentence: clean, or what remains
    repair: bool
    clean: bool = False  # the run finished and no difference remains
    notes: Sequence[str] = ()  # extra lines for the operator (held-back days, a repair error, ...)


def report_paths(out_dir: Path, target: str, start: date, end: date) -> tuple[Path, Path]:
    """The CSV and HTML paths of a target's report for a period (the same run again replaces them)."""
    stem = f"reconcile-{_UNSAFE_NAME.sub('_', target)[:80]}-{start.isoformat()}_{end.isoformat()}"
    return out_dir / f"{stem}.csv", out_dir / f"{stem}.html"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(dict(value), ensure_ascii=False, default=str) if isinstance(value, Mapping) else str(value)
    if text and _FORMULA.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _row(finding: Finding) -> list[str]:
    return [
        _cell(value)
        for value in (
            finding.status,
            finding.action,
            finding.employee_id,
            finding.target_employee,
            finding.work_date.isoformat(),
            finding.record_key,
            ";".join(finding.differing),
            finding.expected,
            finding.held,
            finding.ledger,
            finding.remote_id,
            "; ".join(part for part in (finding.note, finding.detail) if part),
        )
    ]


def render_csv(findings: Sequence[Finding]) -> str:
    """Every finding as CSV text (header CSV_COLUMNS), in the findings' order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for finding in findings:
        writer.writerow(_row(finding))
    return out.getvalue()


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1a1a1a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.headline{font-size:16px;padding:8px 12px;border-radius:4px;display:inline-block}
.clean{background:#e8f5e9;color:#1b5e20}.unclean{background:#fdecea;color:#8e1b1b}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
code{font-size:12px;word-break:break-all}.muted{color:#666}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _values(fields: Mapping[str, Any] | None) -> str:
    if not fields:
        return ""
    return "<br>".join(f"<code>{_e(name)}</code>: {_e(value)}" for name, value in fields.items())


def _chart(findings: Sequence[Finding], start: date, end: date) -> str:
    """An SVG stacked bar per day: matched at the bottom, then different, missing and extra."""
    days = daily_counts(findings, start, end)
    width, height, left, bottom, top = 1100, 260, 44, 36, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    highest = max((sum(c.values()) for _, c in days), default=0)
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Records per day: matched, different, missing, extra</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#555"/>',
    ]
    if highest == 0:
        parts.append(f'<text x="{left + 12}" y="{top + plot_h // 2}" fill="#666">no records in this period</text>')
    else:
        for fraction in (0.5, 1.0):
            y = top + plot_h - plot_h * fraction
            label = f"{highest * fraction:g}"
            parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{label}</text>')
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        slot = plot_w / len(days)
        bar = max(1.0, slot * 0.8)
        label_every = 1 if len(days) <= 40 else 7
        for index, (day, counts) in enumerate(days):
            x = left + index * slot + (slot - bar) / 2
            y = float(top + plot_h)
            for status in ("matched", "different", "missing", "extra"):
                count = counts.get(status, 0)
                if not count:
                    continue
                size = plot_h * count / highest
                y -= size
                parts.append(
                    f'<rect class="bar-{status}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{size:.1f}" '
                    f'fill="{STATUS_COLOURS[status]}"><title>{day.isoformat()}: {count} {status}</title></rect>'
                )
            if index % label_every == 0:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10">'
                    f"{day.day}</text>"
                )
        parts.append(
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle" font-size="11" fill="#444">'
            f"day of month ({_e(start.isoformat())} to {_e(end.isoformat())})</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(page: ReportPage, findings: Sequence[Finding]) -> str:
    """The whole report as one HTML document (no external resources)."""
    counts = page.counts
    title = f"Reconciliation of {page.target}, {page.start.isoformat()} to {page.end.isoformat()}"
    by_status = Counter(f.status for f in findings)
    legend = "".join(
        f'<tr><td><span class="swatch" style="background:{STATUS_COLOURS[s]}"></span>{s}</td>'
        f'<td class="n">{by_status.get(s, 0)}</td></tr>'
        for s in STATUSES
    )
    others = "".join(
        f'<tr><td>{_e(name)}</td><td class="n">{_e(value)}</td></tr>'
        for name, value in counts.items()
        if name not in STATUSES
    )
    differences = [f for f in findings if f.status != "matched"]
    rows = "".join(
        "<tr>"
        f'<td><span class="swatch" style="background:{STATUS_COLOURS[f.status]}"></span>{_e(f.status)}</td>'
        f"<td>{_e(f.action)}</td><td>{_e(f.work_date.isoformat())}</td><td>{_e(f.employee_id)}</td>"
        f"<td>{_e(f.target_employee)}</td><td>{_e(', '.join(f.differing))}</td>"
        f"<td>{_values(f.expected)}</td><td>{_values(f.held)}</td>"
        f"<td>{_e('; '.join(p for p in (f.note, f.detail) if p))}</td>"
        "</tr>"
        for f in differences[:MAX_HTML_ROWS]
    )
    cut = (
        f'<p class="muted">The first {MAX_HTML_ROWS} of {len(differences)} differences are listed; '
        "the CSV beside this page has every row.</p>"
        if len(differences) > MAX_HTML_ROWS
        else ""
    )
    listing = (
        "<table><tr><th>status</th><th>action</th><th>work date</th><th>employee</th><th>target employee</th>"
        f"<th>fields differing</th><th>punchbridge computed</th><th>target holds</th><th>detail</th></tr>{rows}"
        "</table>"
        if differences
        else "<p>None: the target holds exactly what punchbridge computed.</p>"
    )
    notes = "".join(f"<li>{_e(note)}</li>" for note in page.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="muted">{_e(page.describe)}{" &middot; repair requested" if page.repair else ""}</p>
<p class="headline {"clean" if page.clean else "unclean"}" id="headline">{_e(page.headline)}</p>
<h2>Counts</h2>
<table id="counts"><tr><th>status</th><th>records</th></tr>{legend}{others}</table>
<h2>By day</h2>
{_chart(findings, page.start, page.end)}
<h2>What to do</h2>
<ul>
<li><b>missing</b> and <b>different</b>: run <code>punchbridge reconcile --repair</code>; punchbridge sends
these records again through the sync engine (ledger, retries, dead letters).</li>
<li><b>extra</b>: punchbridge cannot delete records in a target. Check each one in the target; remove
it there (or correct the employee id mapping if it belongs to someone punchbridge knows under another id),
then run the reconciliation again.</li>
<li><b>locked</b> (action): the day is in a locked payroll period; punchbridge never rewrites it. Correct
it through the next period's adjustment, or unlock the period with <code>punchbridge period unlock</code>
if payroll has not run.</li>
{notes}
</ul>
<h2>Differences</h2>
{listing}
{cut}
</body></html>
"""


def _replace(path: Path, text: str) -> None:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def write_report(out_dir: Path, page: ReportPage, findings: Sequence[Finding]) -> tuple[Path, Path]:
    """Write the CSV and the HTML page into `out_dir` (made if needed), each replaced whole; their paths."""
    csv_path, html_path = report_paths(out_dir, page.target, page.start, page.end)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _replace(csv_path, render_csv(findings))
        _replace(html_path, render_html(page, findings))
    except OSError as exc:
        where = exc.filename or out_dir
        raise OutputError(
            f"cannot write the reconciliation report to {where}: {exc.strerror or exc}; "
            "give a writable folder with --out"
        ) from None
    return csv_path, html_path

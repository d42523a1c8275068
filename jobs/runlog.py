"""One `key=value` line per finished job run, for people and for alerting (logfmt).

    punchbridge run=42 job=nightly kind=sync started_by=schedule status=failed seconds=12.3 error="payroll: ..."

The line goes to the `punchbridge.jobs` logger: INFO for `ok`, WARNING for `partial`, `stopped` and
`busy` (another process held a target's delivery lock for longer than the job waits), ERROR for
`failed` (`punchbridge schedule` and `jobs run` send that logger to stderr). A value is
quoted when it holds a space, a quote, `=` or nothing; quotes and backslashes are escaped and line
breaks and other control characters written as escapes, so a hostile error message can never start
a second line that an alert rule would read as another run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["LOGGER", "finished_line", "log_finished", "logfmt"]

LOGGER = logging.getLogger("punchbridge.jobs")
_MAX_VALUE = 500
_LEVELS = {
    "ok": logging.INFO,
    "partial": logging.WARNING,
    "stopped": logging.WARNING,
    "busy": logging.WARNING,
    "failed": logging.ERROR,
}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if len(text) > _MAX_VALUE:
        text = text[:_MAX_VALUE] + "..."
    escaped = "".join(_ESCAPES.get(c, c if c.isprintable() else f"\\x{ord(c):02x}") for c in text)
    if escaped == text and text and not any(c in text for c in ' ="'):
        return text
    return f'"{escaped}"'


def _key(key: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "_" for c in key)
    return cleaned or "_"


def logfmt(pairs: Mapping[str, Any]) -> str:
    """`key=value` pairs on one line, in order; None values are left out."""
    return " ".join(f"{_key(key)}={_value(value)}" for key, value in pairs.items() if value is not None)


def finished_line(
    *,
    run_id: int | None,
    job: str,
    kind: str,
    started_by: str,
    status: str,
    seconds: float,
    summary: Mapping[str, Any],
    error: str | None,
) -> str:
    """The line for a finished run: run, job, kind, who started it, status, duration, the summary's
    top-level numbers, and the error last."""
    counts = {
        key: value
        for key, value in summary.items()
        if isinstance(value, int | float | bool) and key not in ("run", "job", "kind", "status", "error")
    }
    pairs: dict[str, Any] = {
        "run": run_id if run_id is not None else "unrecorded",
        "job": job,
        "kind": kind,
        "started_by": started_by,
        "status": status,
        "seconds": round(seconds, 3),
        **counts,
        "error": error,
    }
    return "punchbridge " + logfmt(pairs)


def log_finished(line: str, status: str) -> None:
    """Log `line` at the level of `status`."""
    LOGGER.log(_LEVELS.get(status, logging.ERROR), "%s", line)

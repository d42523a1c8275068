"""The attendance rules engine: raw punches in, processed days out (see docs/rules.md)."""

from punchbridge.rules.engine import compute_days
from punchbridge.rules.frames import DAY_COLUMNS, AttendanceInputs, DaysResult
from punchbridge.rules.settings import AutoBreak, Break, Overtime, Pairing, Rounding, RuleSet, Shift, Site

__all__ = [
    "DAY_COLUMNS",
    "AttendanceInputs",
    "AutoBreak",
    "Break",
    "DaysResult",
    "Overtime",
    "Pairing",
    "Rounding",
    "RuleSet",
    "Shift",
    "Site",
    "compute_days",
]

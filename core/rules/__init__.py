"""The attendance rules engine: raw punches in, processed days out (see docs/rules.md).

The names below load their module on first use: the configuration model reads `rules.settings`
(pydantic only), and a command that only checks a configuration never imports the engine (pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.lazy import lazy_names

if TYPE_CHECKING:
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

#: Where each public name lives.
_HOMES = {
    "compute_days": "engine",
    **dict.fromkeys(("DAY_COLUMNS", "AttendanceInputs", "DaysResult"), "frames"),
    **dict.fromkeys(("AutoBreak", "Break", "Overtime", "Pairing", "Rounding", "RuleSet", "Shift", "Site"), "settings"),
}


__getattr__ = lazy_names(__name__, {name: f"{__name__}.{home}" for name, home in _HOMES.items()})

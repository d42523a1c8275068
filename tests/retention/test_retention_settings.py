"""The `retention:` and `adjustments:` sections: safe defaults, and every mistake named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from punchbridge.config import load_config
from punchbridge.errors import ConfigError

BASE = """\
employees: employees.csv
sites: {blr: {timezone: Asia/Kolkata}}
shifts: {general: {start: "09:00", end: "18:00"}}
"""


def _load(tmp_path: Path, extra: str):
    path = tmp_path / "config.yaml"
    path.write_text(BASE + extra)
    return load_config(path)[0]


def test_without_a_retention_section_data_is_kept_three_years_and_runs_over_a_year(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert (config.retention.punches_days, config.retention.runs_days, config.retention.quarantine_days) == (
        1095,
        400,
        180,
    )
    assert config.adjustments is None


def test_retention_values_given_are_used(tmp_path: Path) -> None:
    config = _load(tmp_path, "retention: {punches_days: 400, runs_days: 90}\n")
    assert (config.retention.punches_days, config.retention.runs_days, config.retention.quarantine_days) == (
        400,
        90,
        180,
    )


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("retention: {punches_days: 10}", "retention.punches_days", "greater than or equal to 62"),
        ("retention: {punches_days: -1}", "retention.punches_days", "greater than or equal to 62"),
        ("retention: {runs_days: '30 days'}", "retention.runs_days", "integer"),
        ("retention: {runs_days: true}", "retention.runs_days", "integer"),
        ("retention: {quarantine_days: 1.5}", "retention.quarantine_days", "integer"),
        ("retention: {punch_days: 100}", "retention.punch_days", "unknown setting"),
        ("retention: 30", "retention", "valid dictionary"),
        ("adjustments: {}", "adjustments.target", "required setting is missing"),
        ("adjustments: {target: ''}", "adjustments.target", "at least 1 character"),
        ("adjustments: {target: payroll, folder: out}", "adjustments.folder", "unknown setting"),
    ],
)
def test_a_wrong_value_is_reported_with_its_line_and_field(tmp_path: Path, text: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "targets: {}\n" + text + "\n")
    shown = str(caught.value)
    assert field in shown and message in shown
    assert "config.yaml:5" in shown, "the line of the setting"


def test_a_key_given_twice_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="punches_days"):
        _load(tmp_path, "retention:\n  punches_days: 400\n  punches_days: 500\n")

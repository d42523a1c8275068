"""The SAP targets' documentation and example mappings keep up with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from punchbridge.mapping.files import load_mapping
from punchbridge.plugins.sap.hcm import SapHcmSettings, SapHcmTarget
from punchbridge.plugins.sap.successfactors import SuccessFactorsSettings, SuccessFactorsTarget
from punchbridge.plugins.sap.successfactors_settings import TimeEventApi


def _settings(**overrides: str) -> SuccessFactorsSettings:
    """Validated settings of a `sap_successfactors` target, as `check_columns` receives them."""
    required = {"api_server": "https://api.example.com", "company_id": "C", "client_id": "K", "user_id": "U"}
    return SuccessFactorsSettings.model_validate(
        {**required, "private_key": "k.pem", "certificate": "c.pem", **overrides}
    )


ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "plugins" / "sap.md").read_text()


@pytest.mark.parametrize(
    "name",
    [
        *SuccessFactorsSettings.model_fields,
        *(f"time_events.{n}" for n in TimeEventApi.model_fields),
        *SapHcmSettings.model_fields,
    ],
)
def test_every_setting_is_in_a_settings_table(name: str) -> None:
    assert f"| `{name}`" in DOC, f"setting {name} is not in a table of docs/plugins/sap.md"


def test_the_successfactors_example_mapping_fits_in_both_conventions(tmp_path: Path) -> None:
    example = (ROOT / "mappings" / "sap-successfactors.yaml").read_text()
    mapping = load_mapping(ROOT / "mappings" / "sap-successfactors.yaml")
    assert mapping.columns == ("employee", "check_in", "check_out", "hours")
    assert SuccessFactorsTarget.check_columns(mapping.columns, _settings(time_type="ATTENDANCE")) == []
    events = example.replace(
        "  - {name: check_in, from: first_in}\n  - {name: check_out, from: last_out}\n"
        "  - {name: hours, from: worked_minutes, transform: minutes_to_hours}\n",
        "  - {name: intervals, from: intervals}\n",
    )
    assert events != example
    (tmp_path / "sf.yaml").write_text(events)
    (tmp_path / "ids.csv").write_text((ROOT / "mappings" / "ids.csv").read_text())
    columns = load_mapping(tmp_path / "sf.yaml").columns
    assert columns == ("employee", "intervals") and SuccessFactorsTarget.check_columns(columns, _settings()) == []


def test_the_hcm_example_mapping_fits_in_both_conventions(tmp_path: Path) -> None:
    example = (ROOT / "mappings" / "sap-hcm.yaml").read_text()
    mapping = load_mapping(ROOT / "mappings" / "sap-hcm.yaml")
    assert mapping.columns == ("employee", "intervals")
    assert SapHcmTarget.check_columns(mapping.columns, {}) == []
    first_last = example.replace(
        "  - {name: intervals, from: intervals}\n",
        "  - {name: check_in, from: first_in}\n  - {name: check_out, from: last_out}\n",
    )
    (tmp_path / "hcm.yaml").write_text(first_last)
    (tmp_path / "ids.csv").write_text((ROOT / "mappings" / "ids.csv").read_text())
    assert SapHcmTarget.check_columns(load_mapping(tmp_path / "hcm.yaml").columns, {}) == []


def test_the_readme_section_shows_both_plugins_with_valid_settings() -> None:
    readme = DOC.split("## `sap_successfactors` settings")[0]
    assert "plugin: sap_successfactors" in readme and "plugin: sap_hcm" in readme

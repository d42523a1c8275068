"""`punchbridge plugin new NAME` writes a package that installs, loads, and passes the conformance kit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchbridge.cli import main


def _run(args: list[str], cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The package `acme_hr`, generated and installed (without dependencies) into its own folder."""
    work = tmp_path_factory.mktemp("plugin")
    result = CliRunner().invoke(main, ["plugin", "new", "acme_hr", "--dir", str(work)])
    assert result.exit_code == 0, result.output
    assert "tests/test_conformance.py" in result.output
    site = work / "site"
    pip = _run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(work / "acme_hr")],
        cwd=work,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    return work / "acme_hr", site


def test_the_generated_package_passes_every_check_of_the_kit(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package, site=site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed" in result.stdout
    assert "skipped" not in result.stdout


def test_punchbridge_loads_the_installed_plugin(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run([sys.executable, "-m", "punchbridge", "plugins"], cwd=package, site=site)
    assert result.returncode == 0, result.stderr
    assert "acme_hr" in result.stdout
    assert "targets:" in result.stdout and "acme_hr" in result.stdout.split("targets:")[1]


def test_validate_names_a_column_the_plugin_needs(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _package, site = installed
    (tmp_path / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\n")
    (tmp_path / "mapping.yaml").write_text("fields:\n  - {name: employee, from: employee_id}\n")
    (tmp_path / "config.yaml").write_text(
        "employees: employees.csv\n"
        "sites: {blr: {timezone: Asia/Kolkata}}\n"
        "shifts: {general: {start: '09:00', end: '18:00'}}\n"
        "targets:\n"
        "  hr: {plugin: acme_hr, mapping: mapping.yaml, base_url: 'http://127.0.0.1:9', token: t}\n"
    )
    result = _run([sys.executable, "-m", "punchbridge", "validate", "-c", "config.yaml"], cwd=tmp_path, site=site)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "mapping.yaml" in result.stderr
    assert "target 'hr' (acme_hr): no column `date`" in result.stderr


@pytest.mark.parametrize("name", ["Acme", "1acme", "acme-hr", "class", "a", "x" * 41])
def test_an_unusable_name_is_refused_and_nothing_is_written(name: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plugin", "new", name, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a usable plugin name" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "mine.txt").write_text("keep")
    result = CliRunner().invoke(main, ["plugin", "new", "acme", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["mine.txt"]

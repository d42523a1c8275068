"""The package installs as one `punchbridge` namespace, with every subpackage and the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = [
    "punchbridge",
    "punchbridge.rules",
    "punchbridge.store",
    "punchbridge.testing",
    "punchbridge.receiver",
    "punchbridge.employees",
    "punchbridge.reconcile",
    "punchbridge.plugins",
    "punchbridge.jobs",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("punchbridge-*.whl")
    return built


def test_wheel_contains_every_subpackage_under_one_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for package in SUBPACKAGES:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    top_level = {name.split("/")[0] for name in names if not name.startswith("punchbridge-")}
    assert top_level == {"punchbridge"}, f"stray top-level modules in the wheel: {top_level - {'punchbridge'}}"


def test_every_source_folder_with_python_files_is_packaged(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("core", "punchbridge"), ("plugins", "punchbridge/plugins"), ("jobs", "punchbridge/jobs")):
        for source in (ROOT / folder).rglob("*.py"):
            relative = source.relative_to(ROOT / folder).as_posix()
            assert f"{package}/{relative}" in names, f"{source} is missing from the wheel"


def test_wheel_declares_the_console_script(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    assert "punchbridge = punchbridge.cli:main" in archive.read(entry_points).decode()


def test_console_script_reports_version_and_help() -> None:
    version = subprocess.run(["punchbridge", "--version"], capture_output=True, text=True, check=True)
    import punchbridge

    assert punchbridge.__version__ in version.stdout
    helped = subprocess.run(["punchbridge", "--help"], capture_output=True, text=True, check=True)
    assert "process" in helped.stdout

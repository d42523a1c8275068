"""`punchbridge plugin new NAME` writes a package that installs, loads, passes the conformance kit and ruff, and
asks for no library version punchbridge does not run with; its template is real code, held to the same rules."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement as Pep508

from punchbridge.cli import main
from punchbridge.scaffold import PLACEHOLDER, plugin_files, template_files
from punchbridge.scaffold.pins import (
    UnpinnableError,
    installed_pins,
    normalised,
    parse_requirement,
    pin_pyproject,
)
from punchbridge.testing.conformance import TargetConformance

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "core" / "scaffold" / "template"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
KIT_CHECKS = sorted(
    name for name, _ in inspect.getmembers(TargetConformance, inspect.isfunction) if name.startswith("test_")
)


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


@pytest.mark.slow  # builds and installs the generated package, then runs its test suite
def test_the_generated_package_passes_every_check_of_the_kit_and_its_own_tests(installed: tuple[Path, Path]) -> None:
    package, site = installed
    result = _run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"], cwd=package, site=site)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = set(re.findall(r"::TestAcmeHrTargetConformance::(\w+) PASSED", result.stdout))
    assert passed == set(KIT_CHECKS), f"kit checks that did not pass: {sorted(set(KIT_CHECKS) - passed)}"
    assert re.search(r"tests/test_target\.py::\w+ PASSED", result.stdout), "the target's own tests did not run"
    assert "SKIPPED" not in result.stdout and "skipped" not in result.stdout


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


# -- pins ------------------------------------------------------------------------------------------


def _requirements(pyproject: dict) -> list[Pep508]:
    project = pyproject["project"]
    listed = project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    return [Pep508(text) for text in listed]


def test_every_dependency_punchbridge_shares_with_the_plugin_is_pinned_as_punchbridge_pins_it(
    installed: tuple[Path, Path],
) -> None:
    package, _site = installed
    ours = {normalised(r.name): r for r in map(Pep508, PYPROJECT["project"]["dependencies"])}
    generated = _requirements(tomllib.loads((package / "pyproject.toml").read_text()))
    shared = [r for r in generated if normalised(r.name) in ours]
    assert {"httpx", "pydantic", "starlette"} <= {normalised(r.name) for r in shared}
    for requirement in shared:
        assert requirement.specifier == ours[normalised(requirement.name)].specifier, requirement
        installed_version = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed_version), (
            f"{requirement} refuses the {installed_version} in use"
        )
    itself = [r for r in generated if r.name == "punchbridge"]
    assert itself and all(r.specifier.contains(metadata.version("punchbridge")) for r in itself)


def test_the_generated_package_asks_for_punchbridges_python(installed: tuple[Path, Path]) -> None:
    package, _site = installed
    generated = tomllib.loads((package / "pyproject.toml").read_text())["project"]["requires-python"]
    assert generated == PYPROJECT["project"]["requires-python"]


def test_punchbridges_pins_are_read_without_those_of_its_extras() -> None:
    pins = installed_pins(["httpx<1,>=0.27", "uvicorn[standard]<1,>=0.30", 'pytest<9.1,>=8; extra == "test"'])
    assert sorted(pins) == ["httpx", "uvicorn"]
    assert pins["httpx"].specifier == ">=0.27,<1"


def test_a_dependency_with_its_own_range_is_kept_and_one_punchbridge_lacks_is_refused() -> None:
    pins = installed_pins(["httpx<1,>=0.27"])
    text = '[project]\ndependencies = ["httpx", "tomli-w>=1,<2"]\n'
    assert tomllib.loads(pin_pyproject(text, pins, "1.2.0"))["project"]["dependencies"] == [
        "httpx>=0.27,<1",
        "tomli-w>=1,<2",
    ]
    with pytest.raises(UnpinnableError, match="'lxml', which punchbridge does not depend on"):
        pin_pyproject('[project]\ndependencies = ["lxml"]\n', pins, "1.2.0")


def test_a_template_that_cannot_be_pinned_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("punchbridge.scaffold.installed_pins", lambda: installed_pins(["httpx<1,>=0.27"]))
    result = CliRunner().invoke(main, ["plugin", "new", "acme", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "'pydantic', which punchbridge does not depend on" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_requirement_is_read_as_the_packaging_standards_write_it() -> None:
    parsed = parse_requirement('PyJWT[crypto]<3,>=2.10; extra == "x"')
    assert (parsed.name, parsed.extras, parsed.specifier) == ("PyJWT", "[crypto]", ">=2.10,<3")
    assert parsed.marker == 'extra == "x"'
    assert normalised("Prometheus_Client") == "prometheus-client"


# -- the template ----------------------------------------------------------------------------------


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "ruff", *args, "--no-cache"], cwd=cwd)


@pytest.mark.parametrize("where", ["template", "generated"])
def test_ruff_finds_nothing_in_the_template_nor_in_a_generated_package(
    where: str, installed: tuple[Path, Path]
) -> None:
    pytest.importorskip("ruff", reason="ruff is installed with punchbridge[dev]")
    folder = TEMPLATE if where == "template" else installed[0]
    for command in (["check", "."], ["format", "--check", "."]):
        result = _ruff(*command, cwd=folder)
        assert result.returncode == 0, f"ruff {' '.join(command)} in the {where}:\n{result.stdout}{result.stderr}"


def test_ruff_holds_the_template_to_punchbridges_rules() -> None:
    ours, template = PYPROJECT["tool"]["ruff"], tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["tool"]["ruff"]
    for key in ("line-length", "target-version"):
        assert template[key] == ours[key], key
    for key in ("select", "ignore"):
        assert template["lint"][key] == ours["lint"][key], key


def _punchbridge_imports(source: str) -> list[str]:
    """The punchbridge modules `source` imports from."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name.split(".")[0] == "punchbridge"]


def test_the_plugin_imports_punchbridge_through_the_plugin_api_face_only() -> None:
    sources = {path: text for path, text in template_files().items() if path.endswith(".py")}
    for path, text in sources.items():
        # The tests may also use the test kit (the conformance kit, loopback HTTP); the plugin only the face.
        allowed = (
            ("punchbridge.plugin_api", "punchbridge.testing.")
            if path.startswith("tests/")
            else ("punchbridge.plugin_api",)
        )
        imported = _punchbridge_imports(text)
        assert all(name == allowed[0] or name.startswith(allowed[1:]) for name in imported), (path, imported)
    assert _punchbridge_imports("from punchbridge.plugin_api.targets import Target\nimport punchbridge.sync") == [
        "punchbridge.plugin_api.targets",
        "punchbridge.sync",
    ]


_PLACEHOLDER_WORD = re.compile(PLACEHOLDER, re.IGNORECASE)
#: The forms the template's placeholder takes: the plugin name, its module, distribution, class and variable names.
PLACEHOLDER_TOKENS = {
    "example",
    "punchbridge_example",
    "punchbridge-example",
    "ExampleTarget",
    "TestExampleTargetConformance",
    "EXAMPLE_TOKEN",
}


def _placeholder_tokens(text: str) -> set[str]:
    """Every word of `text` that holds the placeholder (a word: letters, digits, `_` and `-`)."""
    return {token for token in re.findall(r"[\w-]+", text) if _PLACEHOLDER_WORD.search(token)}


def test_the_template_uses_its_placeholder_for_names_only() -> None:
    template = template_files()
    found = set().union(*(_placeholder_tokens(f"{path}\n{text}") for path, text in template.items()))
    assert found <= PLACEHOLDER_TOKENS, (
        f"words that would be renamed in a generated package: {found - PLACEHOLDER_TOKENS}"
    )
    prose = "\n".join(template.values()).lower()
    assert not re.search(r"\b(for|an) example\b|\bexample\.(com|org|net)\b", prose), "the placeholder used as a word"
    assert _placeholder_tokens("see examples at https://example.com") == {"examples", "example"}


def test_a_generated_package_holds_the_plugins_names_and_no_placeholder() -> None:
    package = plugin_files("acme_hr")
    assert set(package) == {path.replace("punchbridge_example", "punchbridge_acme_hr") for path in template_files()}
    for path, text in package.items():
        assert not _PLACEHOLDER_WORD.search(path + text), f"{path} still holds the placeholder"
    assert "class AcmeHrTarget(HttpTarget[Settings])" in package["src/punchbridge_acme_hr/target.py"]
    assert 'PLUGIN = "acme_hr"' in package["src/punchbridge_acme_hr/target.py"]
    assert "${ACME_HR_TOKEN}" in package["README.md"]
    assert 'acme_hr = "punchbridge_acme_hr.target"' in package["pyproject.toml"]


def test_the_wheel_ships_every_file_of_the_template() -> None:
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["punchbridge.scaffold"]
    shipped = {
        path.relative_to(TEMPLATE).as_posix()
        for pattern in patterns
        for path in (REPO / "core" / "scaffold").glob(pattern)
        if path.is_file()
    }
    assert shipped == set(template_files()), "pyproject.toml's package-data for punchbridge.scaffold misses files"

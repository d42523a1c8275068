"""Plugins load from the `punchbridge` entry-point group; a broken one is reported and skipped."""

from __future__ import annotations

import importlib.metadata

import pytest
from click.testing import CliRunner

from punchbridge.cli import main
from punchbridge.plugin_api.registry import load_plugins


def test_builtin_plugins_register_through_entry_points() -> None:
    registry = load_plugins()
    assert {"local_csv", "sftp_csv"} <= set(registry.targets)
    assert "csv_folder" in registry.sources
    assert all(plugin.error is None for plugin in registry.plugins), [p.error for p in registry.plugins]


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.entry_points(group="punchbridge")
    broken = importlib.metadata.EntryPoint(name="broken", value="punchbridge_no_such_module", group="punchbridge")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [*real, broken])
    registry = load_plugins()
    (failed,) = [p for p in registry.plugins if p.name == "broken"]
    assert failed.error and "punchbridge_no_such_module" in failed.error
    assert "local_csv" in registry.targets
    listing = CliRunner().invoke(main, ["plugins"])
    assert listing.exit_code == 0
    assert "broken" in listing.output and "ModuleNotFoundError" in listing.output


def test_plugins_can_be_restricted_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUNCHBRIDGE_PLUGINS", "csv_folder")
    registry = load_plugins()
    assert [p.name for p in registry.plugins] == ["csv_folder"]
    assert registry.targets == {}


def test_a_name_registered_twice_keeps_the_first_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from punchbridge import hookimpl
    from punchbridge.plugins.csv_drop import LocalCsvTarget

    impostor = types.ModuleType("impostor")

    class Impostor(LocalCsvTarget):
        """Tries to take over a built-in name."""

    @hookimpl
    def register_targets(register):  # type: ignore[no-untyped-def]
        register("local_csv", Impostor)

    impostor.register_targets = register_targets  # type: ignore[attr-defined]
    real = importlib.metadata.entry_points(group="punchbridge")
    fake = importlib.metadata.EntryPoint(name="zz_impostor", value="impostor", group="punchbridge")
    monkeypatch.setitem(__import__("sys").modules, "impostor", impostor)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [*real, fake])
    registry = load_plugins()
    assert registry.targets["local_csv"] is LocalCsvTarget
    assert any("local_csv" in conflict for conflict in registry.conflicts)


def test_built_in_plugins_register_only_their_own_target_or_source() -> None:
    # A command leaves out the built-in plugins its configuration does not name (`entry_points_for`):
    # that is only safe while each registers nothing but the target or source of its entry point's name.
    registry = load_plugins()
    entries = importlib.metadata.entry_points(group="punchbridge")
    built_in = {e.name for e in entries if e.dist is not None and e.dist.name == "punchbridge"}
    assert {"local_csv", "csv_folder", "odoo"} <= built_in
    assert built_in == {*registry.targets, *registry.sources}
    assert registry.transforms == {}
    for name in built_in:
        callers = registry.manager.get_hookcallers(registry.manager.get_plugin(name)) or []
        assert {caller.name for caller in callers} <= {"register_targets", "register_sources"}, name

"""Public modules export exactly what they document, and every name they export exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "punchbridge",
    "punchbridge.errors",
    "punchbridge.rules",
    "punchbridge.rules.settings",
    "punchbridge.rules.frames",
    "punchbridge.rules.intervals",
    "punchbridge.config.datafiles",
    "punchbridge.config.punchfile",
    "punchbridge.testing.conformance",
    "punchbridge.testing.postgres",
    "punchbridge.testing.http",
    "punchbridge.testing.emulators.zoho",
    "punchbridge.testing.emulators.odoo",
    "punchbridge.testing.emulators.sap",
    "punchbridge.testing.emulators.salesforce",
    "punchbridge.testing.emulators.erpnext",
    "punchbridge.testing.emulators.minop",
    "punchbridge.receiver",
    "punchbridge.employees",
    "punchbridge.reconcile",
    "punchbridge.periods",
    "punchbridge.cutoff.adjustments",
    "punchbridge.cutoff.state",
    "punchbridge.cutoff.settings",
    "punchbridge.retention.engine",
    "punchbridge.retention.settings",
    "punchbridge.retention.erasure",
    "punchbridge.jobs.service",
    "punchbridge.scaffold",
    "punchbridge.plugin_api",
    "punchbridge.plugin_api.http",
    "punchbridge.plugin_api.targets",
    "punchbridge.plugin_api.sources",
    "punchbridge.plugin_api.hookspecs",
    "punchbridge.config",
    "punchbridge.config.csvfile",
    "punchbridge.config.yamlfile",
    "punchbridge.cli.output",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_exports_exist_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    assert hasattr(module, "__all__"), f"{name} declares no __all__"
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names {exported!r}, which does not exist"
        value = getattr(module, exported)
        if callable(value) and not exported.isupper():
            assert value.__doc__, f"{name}.{exported} has no docstring"

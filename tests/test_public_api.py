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
    "punchbridge.datafiles",
    "punchbridge.punchfile",
    "punchbridge.testing.conformance",
    "punchbridge.testing.postgres",
    "punchbridge.testing.http",
    "punchbridge.testing.zoho",
    "punchbridge.testing.odoo",
    "punchbridge.testing.sap",
    "punchbridge.testing.salesforce",
    "punchbridge.testing.erpnext",
    "punchbridge.testing.minop",
    "punchbridge.receiver",
    "punchbridge.employees",
    "punchbridge.reconcile",
    "punchbridge.periods",
    "punchbridge.adjustments",
    "punchbridge.cutoff",
    "punchbridge.cutoff_settings",
    "punchbridge.retention",
    "punchbridge.erasure",
    "punchbridge.jobs.service",
    "punchbridge.plugin_template",
    "punchbridge.targets",
    "punchbridge.sources",
    "punchbridge.hookspecs",
    "punchbridge.config",
    "punchbridge.csvfile",
    "punchbridge.yamlfile",
    "punchbridge.output",
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

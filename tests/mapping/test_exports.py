"""The mapping modules export what they document, and every export has a docstring."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

MODULES = [
    "punchbridge.mapping",
    "punchbridge.mapping.check",
    "punchbridge.mapping.files",
    "punchbridge.mapping.model",
    "punchbridge.mapping.resolve",
    "punchbridge.mapping.values",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_exports_exist_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names {exported!r}, which does not exist"
        value = getattr(module, exported)
        if callable(value) and not exported.isupper() and exported != "Transform":
            assert value.__doc__, f"{name}.{exported} has no docstring"


def test_the_pure_modules_do_not_import_the_file_loader() -> None:
    for name in MODULES:
        if name != "punchbridge.mapping.files":
            source = importlib.import_module(name).__file__
            assert source is not None
            text = Path(source).read_text(encoding="utf-8")
            assert "mapping.files import" not in text and "open(" not in text, name

"""Every exception class of punchbridge ends in `Error` (PEP 8), in every package, the plugins and jobs included."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import punchbridge

PACKAGES = [punchbridge]


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if found.name.endswith(".__main__") or ".migrations." in found.name:
                continue  # importing these runs a program (the command line, Alembic's environment)
            names.append(found.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_exception_classes_are_named_for_errors(name: str) -> None:
    module = importlib.import_module(name)
    for attribute, value in vars(module).items():
        if not (inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == name):
            continue
        if attribute != value.__name__:
            continue  # a name bound to a class of the module under another name: checked under its own
        assert value.__name__.endswith("Error"), f"{name}.{value.__name__} is an exception: end its name in Error"

"""`punchbridge plugin new NAME`: a target plugin package, written from the template package beside this module.

The template, `template/` (shipped with punchbridge as package data), is a working plugin named
`example`: a target that speaks JSON over HTTP, an emulator of its API that enforces limits and
errors, and tests that run the conformance kit. It is real code, checked by ruff and mypy with the
rest of punchbridge, and its tests pass as it stands. `write_plugin` copies it with the plugin's
names in place of the template's:

    NAME/
      pyproject.toml                     dependencies pinned as punchbridge pins them (`pins`);
                                         entry point `punchbridge: NAME = punchbridge_NAME.target`
      README.md
      src/punchbridge_NAME/__init__.py
      src/punchbridge_NAME/target.py     settings model, HttpTarget subclass, registration hook
      src/punchbridge_NAME/emulator.py   the API the target talks to, with its rules
      tests/conftest.py                  the emulator, served on loopback for each test
      tests/test_conformance.py          the conformance kit, pointed at the target and the emulator
      tests/test_target.py               the target against each rule of the emulator

The template's placeholders are the words `example`, `Example` and `EXAMPLE`, in file contents and
paths: they become the plugin's name, its CamelCase form and its upper-case form
(`punchbridge_example` -> `punchbridge_acme_hr`, `ExampleTarget` -> `AcmeHrTarget`, `EXAMPLE_TOKEN`
-> `ACME_HR_TOKEN`). So the template uses the word for nothing else: its prose says "e.g.".
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from punchbridge._version import __version__
from punchbridge.errors import Problem, UserInputError
from punchbridge.scaffold.pins import Requirement, installed_pins, installed_requires_python, pin_pyproject

__all__ = ["NAME_PATTERN", "PLACEHOLDER", "plugin_files", "template_files", "write_plugin"]

#: A plugin name: lower case, starting with a letter, then letters, digits and underscores.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")
#: The template's plugin name; its CamelCase and upper-case forms are placeholders too.
PLACEHOLDER = "example"
_PLACEHOLDERS = re.compile(f"{PLACEHOLDER}|{PLACEHOLDER.capitalize()}|{PLACEHOLDER.upper()}")
#: Files of the template folder that are not part of the template (caches of tools run over it).
_NOT_TEMPLATE = re.compile(r"(^|/)(__pycache__|\.mypy_cache|\.pytest_cache|\.ruff_cache)(/|$)|\.py[co]$")


def template_files(root: Traversable | None = None) -> dict[str, str]:
    """The template's files, by path relative to the template folder (`/`-separated), in path order."""
    found: dict[str, str] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            relative = f"{prefix}{entry.name}"
            if _NOT_TEMPLATE.search(relative):
                continue
            if entry.is_dir():
                walk(entry, f"{relative}/")
            else:
                found[relative] = entry.read_text(encoding="utf-8")

    walk(root if root is not None else files(__name__) / "template", "")
    return dict(sorted(found.items()))


def plugin_files(
    name: str,
    template: Mapping[str, str] | None = None,
    pins: Mapping[str, Requirement] | None = None,
    requires_python: str | None = None,
) -> dict[str, str]:
    """The package `name` as files (relative path -> text): the template with the plugin's names, and its
    pyproject's dependencies pinned from `pins` (default: the installed punchbridge's, and its Python).

    UnpinnableError when punchbridge's own pins cannot be read or lack one the template needs.
    """
    forms = {
        PLACEHOLDER: name,
        PLACEHOLDER.capitalize(): "".join(part.capitalize() for part in name.split("_")),
        PLACEHOLDER.upper(): name.upper(),
    }

    def named(text: str) -> str:
        return _PLACEHOLDERS.sub(lambda found: forms[found.group(0)], text)

    if pins is None:
        pins = installed_pins()
        requires_python = requires_python or installed_requires_python()
    written = {named(path): named(text) for path, text in (template or template_files()).items()}
    written["pyproject.toml"] = pin_pyproject(written["pyproject.toml"], pins, __version__, requires_python)
    return written


def write_plugin(name: str, parent: Path) -> list[Path]:
    """Write the package `parent/name`; returns the files written. Refuses a bad name or an existing folder."""
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise UserInputError(
            Problem(
                "NAME",
                f"{name!r} is not a usable plugin name: use 2 to 40 lower-case letters, digits and underscores, "
                "starting with a letter (it becomes the module punchbridge_NAME and the `plugin:` value)",
            )
        )
    root = parent / name
    if root.exists():
        raise UserInputError(Problem(str(root), "already exists; choose another name or folder (nothing was written)"))
    package = plugin_files(name)  # all of it first: a template that cannot be pinned writes nothing
    written = []
    for relative, text in package.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

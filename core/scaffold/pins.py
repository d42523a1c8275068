"""A generated plugin's dependencies, pinned as the installed punchbridge pins its own.

The template's `pyproject.toml` names its dependencies bare (`"httpx"`); `pin_pyproject` gives each
the version range punchbridge's installed metadata declares for it (`importlib.metadata`), so a
plugin never asks for a version of a library that punchbridge does not run with, and a change to
punchbridge's pins reaches the next generated package by itself. `punchbridge` becomes "this
version or later", and `requires-python` punchbridge's own. A name given with a version range of
its own is kept as written. Pure text in, text out, besides reading the installed metadata.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata

from punchbridge.errors import ExitCode, PunchbridgeError

__all__ = [
    "Requirement",
    "UnpinnableError",
    "installed_pins",
    "installed_requires_python",
    "normalised",
    "parse_requirement",
    "pin_pyproject",
]

PROJECT = "punchbridge"
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*(?P<specifier>[^;]*?)\s*(?:;(?P<marker>.*))?"
)
_TABLE = re.compile(r"\[([^\[\]]+)\]\s*(#.*)?")
_ARRAY_KEY = re.compile(r"(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<value>\[.*\])\s*")


class UnpinnableError(PunchbridgeError):
    """punchbridge's own pins cannot be read, or the template names bare a dependency punchbridge does not have."""

    exit_code = ExitCode.FAILED  # nothing was written, and no input of the user's is to blame


@dataclass(frozen=True)
class Requirement:
    """One requirement as a pyproject lists it: `name[extras]specifier; marker`."""

    name: str
    extras: str = ""
    specifier: str = ""
    marker: str = ""

    def __str__(self) -> str:
        marker = f"; {self.marker}" if self.marker else ""
        return f"{self.name}{self.extras}{self.specifier}{marker}"


def normalised(name: str) -> str:
    """A distribution name as the packaging standards compare them (`PyJWT` and `pyjwt`, `a_b` and `a-b`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text: str) -> Requirement:
    """`text` (e.g. `uvicorn[standard]<1,>=0.30; extra == "x"`) as a Requirement; ValueError when it is not one."""
    match = _REQUIREMENT.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a requirement")
    specifier = ",".join(sorted(filter(None, re.split(r"\s*,\s*", match["specifier"])), key=_lower_bound_first))
    return Requirement(match["name"], match["extras"] or "", specifier, (match["marker"] or "").strip())


def _lower_bound_first(clause: str) -> tuple[int, str]:
    # `>=0.27,<1` reads as a range; metadata gives the clauses in another order (`<1,>=0.27`).
    return (0 if clause.startswith((">", "~", "=")) else 1, clause)


def installed_pins(requirements: Iterable[str] | None = None) -> dict[str, Requirement]:
    """punchbridge's unconditional requirements by normalised name (those of its extras left out).

    `requirements` defaults to the installed distribution's metadata.
    """
    if requirements is None:
        try:
            requirements = metadata.requires(PROJECT) or []
        except metadata.PackageNotFoundError:
            raise UnpinnableError(
                f"{PROJECT} is not installed as a distribution, so its pins cannot be read: install it "
                "(pip install punchbridge, or pip install -e . in its repository)"
            ) from None
    parsed = (parse_requirement(text) for text in requirements)
    return {normalised(r.name): r for r in parsed if not r.marker}


def installed_requires_python() -> str | None:
    """The Python versions the installed punchbridge declares (`>=3.11`), or None."""
    try:
        declared = metadata.metadata(PROJECT).get_all("Requires-Python")
    except metadata.PackageNotFoundError:
        return None
    return declared[0] if declared else None


def pin_pyproject(text: str, pins: Mapping[str, Requirement], version: str, requires_python: str | None = None) -> str:
    """`text` (a pyproject.toml) with each bare requirement of `[project]` `dependencies` and of
    `[project.optional-dependencies]` pinned from `pins`, `punchbridge` as `>=version`, and
    `requires-python` set to `requires_python` when given. UnpinnableError for a bare name `pins` lacks.

    The arrays to pin must each be written on one line in `text`; they are written back one
    requirement a line.
    """
    table, lines = "", []
    for line in text.splitlines():
        header = _TABLE.fullmatch(line)
        array = _ARRAY_KEY.fullmatch(line)
        if header:
            table = header[1].strip()
        elif array and (
            (table == "project" and array["key"] == "dependencies") or table == "project.optional-dependencies"
        ):
            listed = tomllib.loads(f"value = {array['value']}")["value"]
            pinned = [f'    "{_pinned(parse_requirement(item), pins, version)}",' for item in listed]
            lines.extend([f"{array['key']} = [", *pinned, "]"])
            continue
        elif table == "project" and requires_python and line.startswith("requires-python"):
            line = f'requires-python = "{requires_python}"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def _pinned(requirement: Requirement, pins: Mapping[str, Requirement], version: str) -> Requirement:
    if requirement.specifier:
        return requirement
    if normalised(requirement.name) == PROJECT:
        return Requirement(requirement.name, requirement.extras, f">={version}", requirement.marker)
    pin = pins.get(normalised(requirement.name))
    if pin is None:
        raise UnpinnableError(
            f"the plugin template depends on {requirement.name!r}, which {PROJECT} does not depend on: "
            "give it a version range in the template's pyproject.toml"
        )
    return Requirement(requirement.name, requirement.extras, pin.specifier, requirement.marker)

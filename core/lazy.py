"""A package's public names imported from their modules on first use (PEP 562).

Importing a package then costs only its `__init__`: `punchbridge --help` does not load pandas because
`punchbridge.sync` names `SyncEngine`. Each package keeps a table of where its names live:

    __getattr__ = lazy_names(__name__, {"SyncEngine": "punchbridge.sync.engine", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_names"]


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: a name of `homes` (name -> the module defining it) is
    imported on first use and kept in the package, so later look-ups do not come back here."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

"""Digests of what a sync computes and delivers from besides the store, to tell cheaply whether it changed.

- `input_files_digest`: everything a sync reads besides the store (the configuration as loaded, the
  employee, assignment and leave files, each target's mapping and lookup files, the plugins, the
  version); a quiet night (`punchbridge.sync.quiet`) needs it unchanged since the last full sync.
- `target_inputs_digest`: what one target's records are made from besides the days (its settings,
  mapping and lookup files); the sync engine compares every stored day with the target when it
  changed since the target's last finished delivery (`TARGET_INPUTS_CURSOR`). The employees file is
  compared row by row by the engine instead (`TARGET_EMPLOYEES_CURSOR`).

Files are read as bytes, not parsed (a lookup file's name is read from its mapping), so taking a
digest imports neither pandas nor the mapping engine.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from punchbridge._version import __version__
from punchbridge.errors import PunchbridgeError

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.plugin_api.registry import PluginRegistry

__all__ = ["TARGET_EMPLOYEES_CURSOR", "TARGET_INPUTS_CURSOR", "input_files_digest", "target_inputs_digest"]


def input_files_digest(config: Config, registry: PluginRegistry) -> str:
    """A digest of what a sync computes from besides the store: the configuration as loaded, the
    employee, assignment and leave files, each target's mapping file and the lookup files it names
    (`ids.file`, `cost_centres.file`), the plugins loaded and punchbridge's version.

    Take it before the files are read: a file changed after it then differs from it next time.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, [(p.name, p.version) for p in registry.plugins]]).encode())
    digest.update(config.model_dump_json().encode())
    for path in (config.employees, config.assignments, config.leaves):
        digest.update(_file_digest(path))
    for name in config.targets:
        digest.update(target_inputs_digest(config, name).encode())
    return digest.hexdigest()


#: The store cursor holding, per target, the digest of what its records are made from besides the days
#: (`target_inputs_digest`) as of its last finished delivery.
TARGET_INPUTS_CURSOR = "deliver-inputs:{target}"


#: Per target, each employee's row of the employees file as of its last finished delivery (digests).
TARGET_EMPLOYEES_CURSOR = "deliver-employees:{target}"


def target_inputs_digest(config: Config, target: str) -> str:
    """A digest of what target `target`'s records are made from besides the processed days and the
    employees file: its settings, its mapping file and the lookup files it names. When it differs from
    the one kept at the target's last finished delivery, the next delivery compares every stored day
    of its range with what the target holds: a fixed id table sends the days it held back, a new cost
    centre rule reaches the days it covers. (The employees file is compared row by row instead, so a
    new hire does not make every night compare the whole history: `TARGET_EMPLOYEES_CURSOR`.)
    """
    settings = config.targets[target]
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for path in [settings.mapping, *_lookup_files(settings.mapping)]:
        digest.update(_file_digest(path))
    return digest.hexdigest()


def _file_digest(path: Path | None) -> bytes:
    if path is None:
        return b"none"
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError as exc:  # the full sync reports it; here it only makes the inputs differ
        return f"unreadable: {type(exc).__name__}".encode()


def _lookup_files(mapping: Path | None) -> list[Path]:
    """The lookup files a mapping file names (`ids.file`, `cost_centres.file`), relative to it."""
    if mapping is None:
        return []
    from punchbridge.config.yamlfile import load_yaml

    try:
        data = load_yaml(mapping).data
    except PunchbridgeError:
        return []
    found = []
    for section in ("ids", "cost_centres"):
        named = data.get(section, {}).get("file") if isinstance(data, dict) else None
        if isinstance(named, str) and isinstance(data.get(section), dict):
            found.append(Path(mapping).parent / named)
    return found

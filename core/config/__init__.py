"""The configuration: its model (`model`), and the readers of the files it names.

    config = load_config(Path("config/demo.yaml"))   # validated; every problem named with file and line

Modules: `model` (the pydantic model of the YAML file), `yamlfile` (YAML that remembers lines),
`csvfile` (strict CSV reading), `datafiles` (rules, employees, assignments, leaves) and `punchfile`
(the punches file of `punchbridge process`).

The names of `model` load on first use: a module that needs only `paths` or `yamlfile` (the plugin
registry, `punchbridge plugins`) does not build the configuration's pydantic models.
"""

from typing import TYPE_CHECKING

from punchbridge.lazy import lazy_names

if TYPE_CHECKING:
    from punchbridge.config.model import (
        Config,
        DeviceSettings,
        JobSettings,
        MinopSettings,
        PluginSettings,
        ReceiverSettings,
        SyncSettings,
        TargetSettings,
        load_config,
        read_config,
    )

__all__ = [
    "Config",
    "DeviceSettings",
    "JobSettings",
    "MinopSettings",
    "PluginSettings",
    "ReceiverSettings",
    "SyncSettings",
    "TargetSettings",
    "load_config",
    "read_config",
]


__getattr__ = lazy_names(__name__, dict.fromkeys(__all__, "punchbridge.config.model"))

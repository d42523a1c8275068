"""The configuration: its model (`model`), and the readers of the files it names.

    config = load_config(Path("config/demo.yaml"))   # validated; every problem named with file and line

Modules: `model` (the pydantic model of the YAML file), `yamlfile` (YAML that remembers lines),
`csvfile` (strict CSV reading), `datafiles` (rules, employees, assignments, leaves) and `punchfile`
(the punches file of `punchbridge process`).
"""

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

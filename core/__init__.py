"""punchbridge: biometric time-attendance terminals to payroll, with nothing lost and nothing doubled."""

from punchbridge._version import __version__
from punchbridge.errors import (
    ConfigError,
    InputFileError,
    OutputError,
    Problem,
    PunchbridgeError,
    StoreError,
    UserInputError,
)

__all__ = [
    "ConfigError",
    "InputFileError",
    "OutputError",
    "Problem",
    "PunchbridgeError",
    "StoreError",
    "UserInputError",
    "__version__",
    "hookimpl",
]


def __getattr__(name: str) -> object:
    """`punchbridge.hookimpl`, loaded on first use (the plugin API is not needed to run a command)."""
    if name == "hookimpl":
        from punchbridge.plugin_api.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'punchbridge' has no attribute {name!r}")

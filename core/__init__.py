"""punchbridge: biometric time-attendance terminals to payroll, with nothing lost and nothing doubled."""

from ._version import __version__
from .errors import (
    ConfigError,
    InputFileError,
    OutputError,
    Problem,
    PunchbridgeError,
    StoreError,
    UserInputError,
)
from .hookspecs import hookimpl

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

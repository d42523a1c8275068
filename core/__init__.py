"""punchbridge: biometric time-attendance terminals to payroll, with nothing lost and nothing doubled."""

from ._version import __version__
from .errors import (
    ConfigError,
    InputFileError,
    OutputError,
    Problem,
    PunchbridgeError,
    UserInputError,
)

__all__ = [
    "ConfigError",
    "InputFileError",
    "OutputError",
    "Problem",
    "PunchbridgeError",
    "UserInputError",
    "__version__",
]

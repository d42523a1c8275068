"""The punchbridge error tree: errors are grouped by what the reader should do next.

    PunchbridgeError
    ├── UserInputError              fix a file, then run again (exit code 2); nothing was written
    │   ├── ConfigError             a configuration or rules file (YAML) is wrong
    │   └── InputFileError          a data file (CSV of punches, employees, ...) is unusable
    ├── OutputError                 the result could not be written where asked (exit code 1)
    └── StoreError                  the store cannot be opened or written (exit code 1)

Every `UserInputError` carries one or more `Problem`s, each naming the file, the line (or row) and
the field it concerns, so a consultant can fix all of them in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "InputFileError",
    "OutputError",
    "Problem",
    "PunchbridgeError",
    "StoreError",
    "UserInputError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong with it."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = _shorten(self.file, 300)
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {_shorten(self.field, 200)}"
        return f"{where}: {_shorten(self.message, 600)}"


def _shorten(text: str, limit: int) -> str:
    """`text`, or its start and end around a note of what was left out (hostile inputs can be huge)."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}...({len(text) - 2 * keep} characters omitted)...{text[-keep:]}"


class PunchbridgeError(Exception):
    """Base class of every error punchbridge raises on purpose."""

    exit_code = 1


class UserInputError(PunchbridgeError):
    """An input the user controls is wrong; the message lists every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem] | Problem | str, *, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file, message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = sorted(problems, key=lambda p: (p.file, p.line or 0))
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    @classmethod
    def collect(cls, problems: Iterable[Problem]) -> None:
        """Raise one error listing `problems` (in file and line order), if there are any."""
        found = list(problems)
        if found:
            raise cls(found)


class ConfigError(UserInputError):
    """A configuration or rules file is invalid (reported with file, line and field path)."""


class InputFileError(UserInputError):
    """A data file cannot be used as a whole (missing column, malformed value, empty file...)."""


class OutputError(PunchbridgeError):
    """The result could not be written (disk full, permissions changed during the run)."""


class StoreError(PunchbridgeError):
    """The store cannot be opened or written; the message names the URL with the password redacted."""

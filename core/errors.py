"""The punchbridge error tree: errors are grouped by what the reader should do next.

    PunchbridgeError
    ├── UserInputError              fix a file, then run again (exit code 2); nothing was written
    │   ├── ConfigError             a configuration or rules file (YAML) is wrong
    │   └── InputFileError          a data file (CSV of punches, employees, ...) is unusable
    ├── OutputError                 the result could not be written where asked (exit code 1)
    └── StoreError                  the store cannot be opened or written (exit code 1)

Every `UserInputError` carries one or more `Problem`s, each naming the file, the line (or row) and
the field it concerns, so a consultant can fix all of them in one pass. When a file has many
problems of one kind, the first ones are listed and one more entry counts the rest
(`Problem.count`): the message's "N problems" is how many there are in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "ConfigError",
    "ExitCode",
    "InputFileError",
    "OutputError",
    "Problem",
    "PunchbridgeError",
    "StoreError",
    "UserInputError",
]


class ExitCode(IntEnum):
    """What a command's exit status means; one meaning per code, for every command (README: "Exit codes").

    A script or scheduler can act on the code alone: 0 nothing to do, 2 fix the input, 3 a person
    should look at the report, 4 try again later, 6 rerun with the option that allows it.
    """

    OK = 0  #: done; nothing needs attention
    FAILED = 1  #: could not finish: a target, the cloud or the store failed (the message says which)
    BAD_INPUT = 2  #: a configuration, file or option is wrong (each problem named); nothing was written
    ATTENTION = 3  #: finished, but something needs a person: dead letters, differences remain
    BUSY = 4  #: another process holds the lock this command needs (its holder is named)
    STOPPED = 5  #: stopped by a signal before the end; the next run continues where it stopped
    REFUSED = 6  #: a safety check refused (mass delete, a purge that could lose punches); see the option


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong with it."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None
    #: How many problems this entry stands for: 1, or, for an entry that sums up the rows of a kind
    #: that are not listed one by one, how many there are (its message says so).
    count: int = 1

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

    exit_code: ExitCode = ExitCode.FAILED


class UserInputError(PunchbridgeError):
    """An input the user controls is wrong; the message lists every problem found."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problems: Sequence[Problem] | Problem | str, *, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file, message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = sorted(problems, key=lambda p: (p.file, p.line or 0))
        super().__init__(self._render())

    @property
    def total(self) -> int:
        """How many problems there are in all, those not listed one by one included."""
        return sum(p.count for p in self.problems)

    def _render(self) -> str:
        if len(self.problems) == 1 and self.total == 1:
            return str(self.problems[0])
        heading = f"{self.total} problems"
        if self.total > len(self.problems):
            heading += " (only the first of each kind are listed)"
        lines = [heading + ":"]
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

"""The punchbridge error tree: errors are grouped by what the reader should do next.

    PunchbridgeError
    ├── UserInputError              fix a file, then run again (exit code 2); nothing was written
    │   ├── ConfigError             a configuration or rules file (YAML) is wrong
    │   └── InputFileError          a data file (CSV of punches, employees, ...) is unusable
    ├── OutputError                 the result could not be written where asked (exit code 1)
    ├── StoreError                  the store cannot be opened or written (exit code 1)
    ├── TargetError                 a target failed for a whole batch (exit code 1); the engine acts on the kind:
    │   ├── TransientError          retry the batch later (network, 5xx); `retry_after` when known
    │   │   └── RateLimitedError    the target said slow down (429, or 503 with Retry-After)
    │   ├── CredentialsError        fix the credentials; never retried
    │   └── FatalTargetError        stop this target for the run, keep what was done
    │       └── TargetReplyError    the reply is not what the target sends (an HTML page, a broken body)
    └── BadRecordError              one record cannot be sent as it is: its dead letter, the batch goes on

Every `UserInputError` carries one or more `Problem`s, each naming the file, the line (or row) and
the field it concerns, so a consultant can fix all of them in one pass. When a file has many
problems of one kind, the first ones are listed and one more entry counts the rest
(`Problem.count`): the message's "N problems" is how many there are in all. A target plugin raises
the `TargetError`s (`punchbridge.plugin_api` re-exports them); a `BadRecordError` never leaves the
plugin: it becomes the record's `Outcome` with `ok=False` and the error's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "BadRecordError",
    "ConfigError",
    "CredentialsError",
    "ExitCode",
    "FatalTargetError",
    "InputFileError",
    "OutputError",
    "Problem",
    "PunchbridgeError",
    "RateLimitedError",
    "StoreError",
    "TargetError",
    "TargetReplyError",
    "TransientError",
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


class TargetError(PunchbridgeError):
    """Base of the errors a target raises for a whole batch; the sync engine acts on the subclass."""

    exit_code = ExitCode.FAILED  # a target failed: the message names it


class TransientError(TargetError):
    """A failure worth retrying later (network error, server error); `retry_after` seconds when known.

    The engine retries the batch within the run; raised past the retries, the run could not finish
    (exit code 1) and the next run sends the batch again. `gave_up_after` is the number of attempts
    made once the retries ran out (`punchbridge.plugin_api.retries`): such an error is not retried again.
    """

    exit_code = ExitCode.FAILED
    gave_up_after: int | None = None

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """The target asked us to slow down (429, or 503 with Retry-After); `retry_after` seconds when it said so."""


class CredentialsError(TargetError):
    """Authentication or authorisation failed: fix the credentials or the user's rights; never retried.

    Exit code 1 like any failed target, not 2: the run may have delivered batches before the target
    refused, so "nothing was written" (what 2 promises) would not hold.
    """

    exit_code = ExitCode.FAILED


class FatalTargetError(TargetError):
    """The target cannot be used this run (misconfigured, refuses everything); stop it and report."""

    exit_code = ExitCode.FAILED


class TargetReplyError(FatalTargetError):
    """A reply that is not what the target sends (an HTML page, a broken body, a missing field).

    Its message names the target, what was asked and what came back, so the operator can look for a
    proxy in between or a wrong base URL.
    """


class BadRecordError(PunchbridgeError):
    """A record a target plugin cannot send as it is; its text (naming the record) is the dead letter's message.

    A plugin raises it while converting one record and turns it into that record's `Outcome(ok=False)`;
    the rest of the batch goes on. Should one ever escape a plugin, a person must look (exit code 3).
    """

    exit_code = ExitCode.ATTENTION

"""Progress bars for long work, drawn on stderr only when it is a terminal (never in a pipe or a log).

    with ProgressBars() as bars:
        engine.run(progress=bars.labelled("sending to"))   # one bar per target: "sending to payroll"
        engine.run(progress=bars.update)                    # the label as the engine gives it

Engines take a plain `progress(label, done, total)` callback and know nothing of rich; a total of 0
means the engine cannot know it yet (a cloud read page by page): the bar counts without an end. The
bars are transient: they vanish when the work ends, so what stays on the screen is the command's report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["ProgressBars", "bar_console"]


def bar_console() -> Console:
    """The console progress bars are drawn on: stderr (tests replace it with a fake terminal)."""
    from punchbridge.cli.context import err_console

    return err_console()


class ProgressBars:
    """One rich bar per label (`sending to payroll`, `terminal dev1`...), on a terminal only."""

    def __init__(self, console: Console | None = None) -> None:
        console = console if console is not None else bar_console()
        #: None when not drawn: a nightly run in a pipe or a log does not import rich's progress module.
        self._progress: Progress | None = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console, transient=True,
            )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()  # a sync delivers to several targets at once, each from its own thread

    @property
    def shown(self) -> bool:
        """True when the bars are drawn (the console is a terminal)."""
        return self._progress is not None

    def update(self, label: str, done: int, total: int) -> None:
        """Show `done` of `total` (0: not known) on the bar titled `label` (made on first use)."""
        if self._progress is None:
            return
        known = total if total > 0 else None
        with self._lock:
            if label not in self._tasks:
                self._tasks[label] = self._progress.add_task(label, total=known)
            task = self._tasks[label]
        self._progress.update(task, completed=done, total=known)

    def labelled(self, prefix: str) -> Callable[[str, int, int], None]:
        """An `update` whose bars are titled `prefix label` (`sending to payroll`)."""

        def update(label: str, done: int, total: int) -> None:
            self.update(f"{prefix} {label}", done, total)

        return update

    def __enter__(self) -> ProgressBars:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

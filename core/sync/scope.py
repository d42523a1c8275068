"""What one sync covers: its range of work dates and its targets (pure but for two store look-ups).

Shared by the engine and by the quiet night (`punchbridge.sync.quiet`), which decides before the
engine is imported whether a run has anything to do: both must cover the same range and targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from punchbridge.errors import Problem, UserInputError
from punchbridge.sync.errors import RangePurgedError, UnknownTargetError

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.store import Store

__all__ = ["chosen_targets", "resolve_range"]


def resolve_range(
    config: Config,
    document: YamlDocument,
    store: Store,
    today: date,
    date_from: date | None,
    date_to: date | None,
    *,
    also_first_ns: int | None = None,
) -> tuple[date, date]:
    """The work dates a run covers: arguments, then `sync:` in the config, then the data (the
    earliest punch stored, or `also_first_ns` when earlier: punches read but not stored yet).

    Never a day after the range's end: a range that starts before the retention horizon starts at
    it, and one that lies wholly before it is refused (RangePurgedError, exit code 2).
    """
    asked_from, asked_to = date_from, date_to
    date_to = date_to or config.sync.to or today - timedelta(days=1)
    date_from = date_from or config.sync.from_
    if date_from is None:
        # The earliest punch's UTC date (an index look-up, not a read of the history)
        known = [ns for ns in (store.first_punch_ns(), also_first_ns) if ns is not None]
        date_from = datetime.fromtimestamp(min(known) // 10**9, UTC).date() if known else date_to
        # punches that start after the range's end give nothing to compute before it, not a later day
        date_from = min(date_from, date_to)
    horizon = store.retention_horizon()  # days before it were purged: never computed again
    if horizon is not None and date_to < horizon:
        given = asked_from is not None or asked_to is not None
        where = {"file": "", "field": "--from/--to"} if given else {"file": str(document.path)}
        raise RangePurgedError(date_from, date_to, horizon, **where)
    if date_to < date_from:  # only arguments can disagree so (the configuration's range is checked)
        said = f"--to {date_to}" if asked_to else f"the range's end {date_to} (sync: to, else yesterday)"
        raise UserInputError(Problem("", f"{said} is before --from {date_from}", field="--from/--to"))
    if horizon is not None and date_from < horizon:
        date_from = horizon
    return date_from, date_to


def chosen_targets(config: Config, document: YamlDocument, targets: Sequence[str] | None) -> list[str]:
    """The targets a run serves, in configuration order: `targets`, or every enabled one.

    UnknownTargetError (nothing is written) when `targets` names one the configuration lacks.
    """
    unknown = set(targets or ()) - set(config.targets)
    if unknown:
        raise UnknownTargetError(unknown, config.targets, file=str(document.path))
    return [
        name
        for name, settings in config.targets.items()
        if (targets is None and settings.enabled) or (targets and name in targets)
    ]
